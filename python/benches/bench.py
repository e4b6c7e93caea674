"""Side-by-side benchmarks of Python logging handlers, every line read back.

    python python/benches/bench.py [--quick] [--out FILE]

Runs every row in one go, each case in a fresh interpreter, and prints
Markdown tables (and the machine) to stdout and FILE. The throughput tables
run every row ``--rounds`` times (3), one row after the other in each round,
and give the median rate and the worst read-back:

1. one process, 200,000 records through ``logging`` into a log rotating at
   1 MiB;
2. four processes x 50,000 records into one log rotating at 1 MiB, plain and
   gzip (lost, duplicated and torn lines counted from the files);
3. ``emit`` latency of the handler (``handler.handle`` of a record built
   just before, untimed);
4. asyncio: the largest gap of a 1 ms ticker while 8 tasks log 200,000
   records, each awaiting after every record.

Needs ``concurrent-log-handler==0.9.31``, ``loguru`` and ``picologging``
beside this package.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

FILLER = "abcdefghijklmnopqrstuvwxyz0123456789"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(message)s"
# The end of a whole line (the timestamp is not checked: picologging 0.9.3
# writes garbage bytes for %(asctime)s on CPython 3.11).
LINE = re.compile(r" (\d+) INFO w(\d+) s(\d+) " + FILLER + "$")
MAX_BYTES = 1 << 20
BACKUPS = 1000

# --- the handlers ---------------------------------------------------------


def make_logger(kind: str, log: str, gz: bool):
    """(log function, closer) for ``kind``; the log function takes
    (writer, seq)."""
    import logging

    if kind == "loguru":
        from loguru import logger

        logger.remove()
        logger.add(
            log,
            format="{time:YYYY-MM-DD HH:mm:ss,SSS} {process} {level} {message}",
            rotation=MAX_BYTES,
            compression="gz" if gz else None,
            enqueue=True,
        )
        return (lambda w, s: logger.info("w{} s{} {}", w, s, FILLER)), logger.complete

    if kind == "picologging":
        import picologging
        import picologging.handlers

        handler = picologging.handlers.RotatingFileHandler(log, maxBytes=MAX_BYTES, backupCount=BACKUPS)
        handler.setFormatter(picologging.Formatter(FORMAT))
        lg = picologging.getLogger("bench")
        lg.setLevel(picologging.INFO)
        lg.addHandler(handler)
        return (lambda w, s: lg.info("w%d s%d %s", w, s, FILLER)), handler.close

    handler, close = make_handler(kind, log, gz)
    lg = logging.getLogger("bench")
    lg.setLevel(logging.INFO)
    lg.propagate = False
    lg.addHandler(handler)
    return (lambda w, s: lg.info("w%d s%d %s", w, s, FILLER)), close


class FormatOnly(logging.Handler):
    """Python's ``Formatter.format`` and nothing else: the line the file
    handlers write, made the stdlib's way and written nowhere."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def gzip_rotator(source: str, dest: str) -> None:
    with open(source, "rb") as src, gzip.open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.remove(source)


def make_handler(kind: str, log: str, gz: bool):
    import logging
    import logging.handlers

    if kind == "null":
        h = logging.NullHandler()
        return h, h.close
    if kind == "format":
        h = FormatOnly()
        h.setFormatter(logging.Formatter(FORMAT))
        return h, h.close
    if kind in ("ours-blocking", "ours-nonblocking", "ours-async"):
        import concurrent_log_handler_rs as ours

        args = dict(maxBytes=MAX_BYTES, backupCount=BACKUPS, use_gzip=gz)
        if kind == "ours-blocking":
            h = ours.ConcurrentRotatingFileHandler(log, **args)
        elif kind == "ours-nonblocking":
            h = ours.NonBlockingConcurrentHandler(log, **args)
        else:
            h = ours.AsyncConcurrentHandler(log, fallback_mode="block", **args)
    elif kind == "clh":
        from concurrent_log_handler import ConcurrentRotatingFileHandler

        h = ConcurrentRotatingFileHandler(log, maxBytes=MAX_BYTES, backupCount=BACKUPS, use_gzip=gz, encoding="utf-8")
    elif kind in ("stdlib", "queue"):
        h = logging.handlers.RotatingFileHandler(log, maxBytes=MAX_BYTES, backupCount=BACKUPS)
        if gz:
            h.rotator = gzip_rotator
            h.namer = lambda name: name + ".gz"
        if kind == "queue":
            import queue

            h.setFormatter(logging.Formatter(FORMAT))
            q: queue.Queue = queue.Queue(-1)
            listener = logging.handlers.QueueListener(q, h)
            listener.start()
            front = logging.handlers.QueueHandler(q)

            def close():
                listener.stop()
                h.close()

            return front, close
    else:
        raise SystemExit(f"unknown handler {kind}")
    h.setFormatter(logging.Formatter(FORMAT))
    return h, h.close


# --- cases, each run in a child interpreter -------------------------------


def case_throughput(kind: str, log: str, writer: int, count: int, gz: bool) -> dict:
    emit, close = make_logger(kind, log, gz)
    start = time.perf_counter()
    for seq in range(count):
        emit(writer, seq)
    close()
    return {"seconds": time.perf_counter() - start}


def case_processes(kind: str, log: str, procs: int, count: int, gz: bool) -> dict:
    """``procs`` forked children log ``count`` records each. loguru's safe
    form shares the parent's ``enqueue`` queue with the children."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    shared = make_logger(kind, log, gz) if kind == "loguru" else None

    def child(w):
        if shared is not None:
            emit, close = shared
            for seq in range(count):
                emit(w, seq)
            close()
            return
        emit, close = make_logger(kind, log, gz)
        for seq in range(count):
            emit(w, seq)
        close()

    start = time.perf_counter()
    children = [ctx.Process(target=child, args=(w,)) for w in range(procs)]
    for c in children:
        c.start()
    for c in children:
        c.join()
    if shared is not None:
        shared[1]()
        from loguru import logger

        logger.remove()
    return {"seconds": time.perf_counter() - start}


def case_latency(kind: str, log: str, count: int) -> dict:
    import logging

    handler, close = make_handler(kind, log, False)
    clock = time.perf_counter_ns
    took = []
    for seq in range(count):
        # Built just before (untimed) and dropped just after, as records
        # live in a program: no pile of live records for the collector.
        record = logging.LogRecord("bench", logging.INFO, __file__, 1, "w%d s%d %s", (0, seq, FILLER), None)
        t = clock()
        handler.handle(record)
        took.append(clock() - t)
    close()
    took.sort()
    return {q: took[int(len(took) * f)] / 1000 for q, f in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))}


def case_loop(kind: str, log: str, total: int) -> dict:
    import asyncio
    import logging

    handler, close = make_handler(kind, log, False)
    lg = logging.getLogger("loop")
    lg.setLevel(logging.INFO)
    lg.propagate = False
    lg.addHandler(handler)

    async def main():
        gaps = []
        done = asyncio.Event()

        async def ticker():
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async def producer(n):
            for i in range(total // 8):
                lg.info("w%d s%d %s", n, i, FILLER)
                await asyncio.sleep(0)

        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        await asyncio.gather(*(producer(n) for n in range(8)))
        seconds = time.perf_counter() - start
        done.set()
        await tick
        gaps.sort()
        return {"max_gap_ms": gaps[-1] * 1000, "p99_gap_ms": gaps[int(len(gaps) * 0.99)] * 1000, "seconds": seconds}

    result = asyncio.run(main())
    close()
    return result


# --- the orchestration ----------------------------------------------------


def run_case(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", *args], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"case {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_back(directory: Path, expected: dict) -> dict:
    """Counts every record in every file: lost, duplicated, torn."""
    seen: Counter = Counter()
    torn = 0
    for path in directory.iterdir():
        if path.name.startswith(".") or path.is_dir():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        # Lines end in "\n" only (str.splitlines would also split at the
        # control characters a garbled timestamp may hold).
        for raw in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
            m = LINE.search(raw.decode("utf-8", "replace"))
            if m is None:
                torn += 1
                continue
            seen[(int(m.group(2)), int(m.group(3)))] += 1
    distinct = sum(1 for key in seen if key[1] < expected.get(key[0], 0))
    total = sum(expected.values())
    return {
        "lost": total - distinct,
        "duplicated": sum(n - 1 for n in seen.values() if n > 1),
        "torn": torn,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    import concurrent_log_handler

    return (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"CPython {platform.python_version()}, concurrent-log-handler "
        f"{getattr(concurrent_log_handler, '__version__', '0.9.31')}, load average at start "
        f"{load[0]:.1f}"
    )


def fmt_rate(n: float) -> str:
    return f"{n / 1000:.0f}k" if n < 1e6 else f"{n / 1e6:.2f}M"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the records")
    parser.add_argument("--out", default=None)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each throughput row (median)")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    scale = 10 if args.quick else 1
    one = 200_000 // scale
    each = 50_000 // scale
    lat = 100_000 // scale
    loop_total = 200_000 // scale
    out = [f"Machine: {machine()}.", ""]
    work = Path(tempfile.mkdtemp(prefix="clh-bench-"))

    def fresh() -> Path:
        d = Path(tempfile.mkdtemp(dir=work))
        return d

    kinds = ["null", "format", "ours-blocking", "ours-nonblocking", "ours-async", "clh", "stdlib", "queue", "loguru", "picologging"]
    names = {
        "null": "`logging.NullHandler` (floor: CPython's record, no file)",
        "format": "`Formatter.format` only (Python's line, no file)",
        "ours-blocking": "this package, `ConcurrentRotatingFileHandler`",
        "ours-nonblocking": "this package, `NonBlockingConcurrentHandler`",
        "ours-async": "this package, `AsyncConcurrentHandler` (`block`)",
        "clh": "Python CLH 0.9.31 `ConcurrentRotatingFileHandler`",
        "stdlib": "stdlib `RotatingFileHandler`",
        "queue": "stdlib `QueueHandler` + `QueueListener`",
        "loguru": "loguru, `enqueue=True`",
        "picologging": "picologging `RotatingFileHandler`",
    }

    out += [
        f"### One process, {one:,} records through `logging`, rotating at 1 MiB",
        "",
        "| handler | lines/s | lost | duplicated | torn |",
        "|---|---|---|---|---|",
    ]
    def measure(case: str, kinds_here: list, records: int, expected: dict, *case_args: str) -> dict:
        """Runs each kind ``rounds`` times, one kind after the other in each
        round; the median rate and the worst read-back of each kind."""
        rates: dict = {k: [] for k in kinds_here}
        checks: dict = {k: [] for k in kinds_here}
        for _ in range(rounds):
            for kind in kinds_here:
                d = fresh()
                r = run_case(case, kind, str(d / "app.log"), *case_args)
                rates[kind].append(records / r["seconds"])
                if kind not in ("null", "format"):
                    checks[kind].append(read_back(d, expected))
                shutil.rmtree(d, ignore_errors=True)
        result = {}
        for kind in kinds_here:
            if checks[kind]:
                check = {key: max(c[key] for c in checks[kind]) for key in ("lost", "duplicated", "torn")}
            else:
                check = {"lost": "-", "duplicated": "-", "torn": "-"}
            result[kind] = statistics.median(rates[kind])
            out.append(
                f"| {names[kind]} | {fmt_rate(result[kind])} | {check['lost']} | {check['duplicated']} | {check['torn']} |"
            )
            print(out[-1], file=sys.stderr)
        return result

    single = measure("throughput", kinds, one, {0: one}, "0", str(one), "0")

    multi = {}
    for gz in (False, True):
        title = "gzip" if gz else "plain"
        out += [
            "",
            f"### 4 processes x {each:,} records into one log rotating at 1 MiB ({title})",
            "",
            "| handler | lines/s | lost | duplicated | torn |",
            "|---|---|---|---|---|",
        ]
        here = [k for k in kinds if not (gz and k in ("null", "format", "picologging", "queue"))]
        rates = measure("processes", here, 4 * each, {w: each for w in range(4)}, "4", str(each), str(int(gz)))
        for kind, rate in rates.items():
            multi[(kind, gz)] = rate

    out += [
        "",
        f"### `emit` latency: `handler.handle(record)`, {lat:,} ready records, one process",
        "",
        "| handler | p50 | p99 | p99.9 |",
        "|---|---|---|---|",
    ]
    latency = {}
    for kind in ["null", "ours-blocking", "ours-nonblocking", "ours-async", "clh", "stdlib", "queue"]:
        d = fresh()
        r = run_case("latency", kind, str(d / "app.log"), str(lat))
        latency[kind] = r
        out.append(f"| {names[kind]} | {r['p50']:.2f} µs | {r['p99']:.2f} µs | {r['p999']:.2f} µs |")
        print(out[-1], file=sys.stderr)

    out += [
        "",
        f"### asyncio: 8 tasks log {loop_total:,} records (awaiting after each); a 1 ms ticker's gaps, 3 runs",
        "",
        "| handler | largest gap (median of 3) | largest gap (worst) | p99 gap | seconds |",
        "|---|---|---|---|---|",
    ]
    loop = {}
    for kind in ["null", "ours-async", "ours-nonblocking", "clh", "queue"]:
        runs = [run_case("loop", kind, str(fresh() / "app.log"), str(loop_total)) for _ in range(3)]
        largest = statistics.median(r["max_gap_ms"] for r in runs)
        loop[kind] = largest
        out.append(
            f"| {names[kind]} | {largest:.2f} ms | {max(r['max_gap_ms'] for r in runs):.2f} ms | "
            f"{statistics.median(r['p99_gap_ms'] for r in runs):.2f} ms | {statistics.median(r['seconds'] for r in runs):.2f} |"
        )
        print(out[-1], file=sys.stderr)

    best = max(("ours-blocking", "ours-nonblocking", "ours-async"), key=lambda k: multi[(k, False)])
    out += [
        "",
        "### Targets",
        "",
        f"- 4 processes: {names[best]} {fmt_rate(multi[(best, False)])} lines/s = "
        f"{multi[(best, False)] / multi[('clh', False)]:.1f}x Python CLH (target >= 5x); "
        f"NullHandler / ours = {multi[('null', False)] / multi[(best, False)]:.2f} (target <= 1.3; "
        f"NullHandler / `Formatter.format` only = {multi[('null', False)] / multi[('format', False)]:.2f})",
        f"- one process: ours {fmt_rate(max(single[k] for k in ('ours-blocking', 'ours-nonblocking', 'ours-async')))} "
        f"lines/s vs picologging {fmt_rate(single['picologging'])}",
        f"- asyncio largest gap: {loop['ours-async']:.2f} ms (target <= 2 ms; Python CLH {loop['clh']:.2f} ms, "
        f"QueueHandler {loop['queue']:.2f} ms, NullHandler {loop['null']:.2f} ms)",
        f"- emit p99: non-blocking {latency['ours-nonblocking']['p99']:.2f} µs, async "
        f"{latency['ours-async']['p99']:.2f} µs (target <= 20 µs)",
        "",
        f"Load average at the end: {os.getloadavg()[0]:.1f}.",
    ]
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        case, rest = sys.argv[2], sys.argv[3:]
        if case == "throughput":
            result = case_throughput(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4] == "1")
        elif case == "processes":
            result = case_processes(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4] == "1")
        elif case == "latency":
            result = case_latency(rest[0], rest[1], int(rest[2]))
        else:
            result = case_loop(rest[0], rest[1], int(rest[2]))
        print(json.dumps(result))
    else:
        main()
