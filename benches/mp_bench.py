#!/usr/bin/env python3
"""Multi-process throughput: N processes writing one rotating log.

    python3 benches/mp_bench.py

Runs N = 1, 2, 4 processes of `benches/mp_writer.rs` (our async handler, one
task per process, `FallbackMode::Block`; and our thread handler), and the same
with Python's concurrent-log-handler 0.9.31 as the baseline, each writing one
log rotating at 10 MB with enough backups to keep every line. Then it reads
every file back and counts lost lines (a (proc, seq) pair never seen),
duplicated lines, and torn lines (any line that is not exactly one well-formed
record). Rates are aggregate lines/s from the first writer's start to the last
writer's end (each writer reports both, after setting its handler up and after
shutting it down). Every configuration runs ROUNDS times, interleaved, and the
median round is shown.

It creates a venv in target/bench-venv and installs concurrent-log-handler
there (PyPI), and builds the writer with cargo (crates.io): the `mp_writer`
bin of the `clh-benches` workspace member.

Environment: MP_ROUNDS (3), MP_RUST_LINES lines per Rust process (1000000),
MP_PY_LINES lines per Python process (30000), MP_NS ("1,2,4").
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "bench-venv"
CLH_VERSION = "0.9.31"
MAX_BYTES = 10 << 20
BACKUPS = 400

ROUNDS = int(os.environ.get("MP_ROUNDS", "3"))
RUST_LINES = int(os.environ.get("MP_RUST_LINES", "1000000"))
PY_LINES = int(os.environ.get("MP_PY_LINES", "30000"))
NS = [int(n) for n in os.environ.get("MP_NS", "1,2,4").split(",")]

# Our TextFormatter: `<timestamp> INFO <pid> mp: request served proc=P seq=S path=/api/v1/orders`
RUST_LINE = re.compile(
    rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:\d\d) INFO \d+ mp: "
    rb"request served proc=(\d+) seq=(\d+) path=/api/v1/orders$"
)
# The Python writer's format, the same fields.
PY_LINE = re.compile(
    rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \d+ mp: "
    rb"request served proc=(\d+) seq=(\d+) path=/api/v1/orders$"
)

PY_WRITER = r"""
import logging, sys, time
from concurrent_log_handler import ConcurrentRotatingFileHandler
path, lines, proc_id, max_bytes, backups = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
handler = ConcurrentRotatingFileHandler(path, "a", maxBytes=max_bytes, backupCount=backups)
handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"))
log = logging.getLogger("mp")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False
start = time.time()
for seq in range(lines):
    log.info("request served proc=%d seq=%d path=/api/v1/orders", proc_id, seq)
handler.close()
print(f"start={start} end={time.time()}")
"""


def sh(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def setup():
    py = VENV / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(VENV)])
    probe = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('concurrent-log-handler'))"],
        capture_output=True,
        text=True,
    )
    if probe.stdout.strip() != CLH_VERSION:
        sh([str(py), "-m", "pip", "install", "--quiet", f"concurrent-log-handler=={CLH_VERSION}"])
    sh(["cargo", "build", "--release", "--quiet", "-p", "clh-benches", "--bin", "mp_writer"], cwd=ROOT)
    return py, ROOT / "target" / "release" / "mp_writer"


def verify(directory, pattern, n, lines):
    """Reads every log file back: (found, lost, duplicated, torn, files)."""
    seen = {p: bytearray(lines) for p in range(n)}
    found = dup = torn = files = 0
    for f in sorted(directory.iterdir()):
        if f.name.startswith(".__") or not f.is_file():
            continue
        files += 1
        data = f.read_bytes()
        if data and not data.endswith(b"\n"):
            torn += 1  # a last line without its newline
        for line in data.split(b"\n"):
            if not line:
                continue
            m = pattern.match(line)
            if not m:
                torn += 1
                continue
            p, s = int(m.group(1)), int(m.group(2))
            if p >= n or s >= lines:
                torn += 1
                continue
            if seen[p][s]:
                dup += 1
            else:
                seen[p][s] = 1
                found += 1
    lost = n * lines - found
    return found, lost, dup, torn, files


def run(kind, n, py, writer):
    lines = PY_LINES if kind == "python_clh" else RUST_LINES
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as d:
        d = Path(d)
        log = d / "app.log"
        if kind == "python_clh":
            cmds = [
                [str(py), "-c", PY_WRITER, str(log), str(lines), str(i), str(MAX_BYTES), str(BACKUPS)]
                for i in range(n)
            ]
            pattern = PY_LINE
        else:
            mode = "thread" if kind == "rust_thread" else "async"
            cmds = [
                [str(writer), str(log), str(lines), str(i), mode, str(MAX_BYTES), str(BACKUPS)]
                for i in range(n)
            ]
            pattern = RUST_LINE
        wall0 = time.time()
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
        outs = [p.communicate()[0] for p in procs]
        wall = time.time() - wall0
        for p, o in zip(procs, outs):
            if p.returncode != 0:
                raise SystemExit(f"{kind} writer failed ({p.returncode}): {o}")
        spans = [dict(kv.split("=", 1) for kv in o.split()[:2]) for o in outs]
        start = min(float(s["start"]) for s in spans)
        end = max(float(s["end"]) for s in spans)
        found, lost, dup, torn, files = verify(d, pattern, n, lines)
        return {
            "rate": n * lines / (end - start),
            "wall_rate": n * lines / wall,
            "lines": n * lines,
            "lost": lost,
            "dup": dup,
            "torn": torn,
            "files": files,
        }


def main():
    py, writer = setup()
    kinds = ["rust_async", "rust_thread", "python_clh"]
    results = {(k, n): [] for k in kinds for n in NS}
    for r in range(ROUNDS):
        for n in NS:
            for k in kinds:
                res = run(k, n, py, writer)
                print(f"round {r + 1}/{ROUNDS} {k:12} N={n} {res}", file=sys.stderr)
                results[(k, n)].append(res)
    med = {}
    for key, runs in results.items():
        runs = sorted(runs, key=lambda x: x["rate"])
        med[key] = runs[len(runs) // 2]
    print()
    print(
        f"multi-process: N processes, one log rotating at 10 MB, {BACKUPS} backups; "
        f"median of {ROUNDS} interleaved rounds; rates over first start .. last end "
        f"(wall incl. process start in brackets)"
    )
    print(f"| {'writer':12} | {'N':>2} | {'lines':>9} | {'lines/s':>11} | {'(wall)':>11} | {'lost':>5} | {'dup':>4} | {'torn':>4} | {'files':>5} | {'x python':>8} |")
    print("|" + "-" * 103 + "|")
    for n in NS:
        base = med[("python_clh", n)]["rate"]
        for k in kinds:
            m = med[(k, n)]
            print(
                f"| {k:12} | {n:>2} | {m['lines']:>9} | {m['rate']:>11,.0f} | {m['wall_rate']:>11,.0f} | "
                f"{m['lost']:>5} | {m['dup']:>4} | {m['torn']:>4} | {m['files']:>5} | {m['rate'] / base:>8.1f} |"
            )
    if 4 in NS:
        r4 = med[("rust_async", 4)]["rate"]
        p4 = med[("python_clh", 4)]["rate"]
        ok = lambda b: "met" if b else "MISSED"
        print()
        print("targets, 4 processes, rust_async:")
        print(f"  aggregate {r4 / 1e6:.3f} M lines/s >= 3.5 M: {ok(r4 >= 3.5e6)}")
        print(f"  >= 250x Python CLH ({p4:,.0f} lines/s): {r4 / p4:.0f}x: {ok(r4 >= 250 * p4)}")
        bad = sum(r["lost"] + r["dup"] + r["torn"] for runs in results.values() for r in runs)
        print(f"  0 lost, duplicated or torn lines over every run of every writer: {ok(bad == 0)} ({bad})")


if __name__ == "__main__":
    main()
