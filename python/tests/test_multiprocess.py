"""Four processes (fork and spawn) on one log rotating at 64 KiB, with and
without gzip, beside two Python CLH 0.9.31 processes: every record exactly
once, no torn line, the backup chain complete.

Full sizes (``CLH_PY_FULL=1``, as CI runs them): 4 x 50,000 records and
2 x 25,000 Python CLH records; without it, 4 x 10,000 and 2 x 2,000 (the
same shapes)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import HERE, check_records, scaled

MAX_BYTES = 64 * 1024
BACKUPS = 2000


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    "start,kind",
    [("fork", "nonblocking"), ("spawn", "nonblocking"), ("fork", "blocking"), ("spawn", "async")],
)
def test_processes_share_a_rotating_log_with_python_clh(tmp_path, start, kind, gzip):
    log = tmp_path / "app.log"
    count = scaled(50_000, 10_000)
    clh_count = scaled(25_000, 2_000)
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "mp_driver.py"),
            str(log),
            start,
            kind,
            "4",
            str(count),
            "2",
            str(clh_count),
            str(MAX_BYTES),
            str(BACKUPS),
            str(int(gzip)),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    writers = {w: count for w in range(4)}
    writers.update({10 + w: clh_count for w in range(2)})
    files, lines = check_records(log, writers, compressed=gzip)
    assert files > 10, f"expected many rotations, got {files} files"
    print(f"{start} {kind} gzip={gzip}: {lines} records in {files} files")
