"""Shared helpers: reading every file of a rotated log back, and running
child interpreters with a bounded wait."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest

HERE = Path(__file__).parent
#: Full sizes for the report; CI runs scaled-down counts (same shapes).
FULL = os.environ.get("CLH_PY_FULL") == "1"


def scaled(full: int, ci: int) -> int:
    return full if FULL else ci


def run_python(code: str, *args: str, timeout: float = 120, env=None, check=True):
    """Runs ``code`` in a fresh interpreter (this venv's), bounded."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def log_files(log: Path, compressed: bool = False) -> List[Path]:
    """The log and its numbered backups; asserts the chain has no gap and
    nothing else (no temporary or half-rotated file) lies beside it."""
    numbers = []
    files = [log]
    ext = ".gz" if compressed else ""
    for entry in log.parent.iterdir():
        name = entry.name
        if name == log.name or name.startswith(".__"):
            continue
        rest = name[len(log.name) + 1 :] if name.startswith(log.name + ".") else None
        assert rest is not None, f"stray file {name}"
        digits = rest[: -len(ext)] if ext and rest.endswith(ext) else rest
        assert digits.isdigit(), f"leftover {name}"
        numbers.append(int(digits))
        files.append(entry)
    numbers.sort()
    assert numbers == list(range(1, len(numbers) + 1)), f"gap in backups: {numbers[:20]}"
    return files


def read_lines(path: Path) -> List[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    assert text == "" or text.endswith("\n"), f"{path} ends in a torn line"
    return text.split("\n")[:-1]


LINE = re.compile(r"^\S+ \S+ (\d+) INFO w(\d+) s(\d+) ([a-z0-9]+)$")
FILLER = "abcdefghijklmnopqrstuvwxyz0123456789"


def check_records(
    log: Path, writers: Dict[int, int], compressed: bool = False
) -> Tuple[int, int]:
    """Every record of every writer exactly once, every line whole; returns
    (files, lines)."""
    seen: Dict[Tuple[int, int], int] = {}
    files = log_files(log, compressed)
    total = 0
    for path in files:
        for line in read_lines(path):
            match = LINE.match(line)
            assert match and match.group(4) == FILLER, f"torn or foreign line in {path}: {line!r}"
            key = (int(match.group(2)), int(match.group(3)))
            seen[key] = seen.get(key, 0) + 1
            total += 1
    duplicated = [k for k, n in seen.items() if n > 1]
    assert not duplicated, f"duplicated: {duplicated[:10]}"
    for writer, count in writers.items():
        missing = [s for s in range(count) if (writer, s) not in seen]
        assert not missing, f"writer {writer} lost {len(missing)} records, e.g. {missing[:10]}"
    assert total == sum(writers.values()), f"{total} lines for {sum(writers.values())} records"
    return len(files), total


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "app.log"


def wait_all(procs: Sequence[subprocess.Popen], timeout: float) -> None:
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        assert proc.returncode == 0, f"writer failed ({proc.returncode}): {out!r} {err!r}"
