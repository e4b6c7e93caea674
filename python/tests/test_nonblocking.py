"""NonBlockingConcurrentHandler: the six behaviours Python CLH's plan
specifies, on real files, with another holder of the log's lock making the
writer wait where a test needs a full queue."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from concurrent_log_handler_rs import (
    ConcurrentRotatingFileHandler,
    ConcurrentTimedRotatingFileHandler,
    NonBlockingConcurrentHandler,
    create_nonblocking_handler,
)


@contextmanager
def lock_held(handler):
    """Holds the log's lock file (flock, as another process would)."""
    fd = os.open(handler.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def wait_for(what, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def record(n: int, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("nb", level, __file__, 1, "record %d", (n,), None)


def lines(path: Path):
    return path.read_text().splitlines() if path.exists() else []


def writer_waiting_on_lock(handler):
    """Emits one record and waits until the writer took it (it then blocks
    on the held lock), so the queue is empty and the writer busy."""
    handler.handle(record(-1))
    wait_for("the writer to take a record", lambda: handler.get_stats()["queue_depth"] == 0)


def test_1_a_record_goes_through_the_queue_to_the_file(log_path):
    handler = NonBlockingConcurrentHandler(log_path)
    handler.handle(record(1))
    handler.flush()
    assert lines(log_path) == ["record 1"]
    stats = handler.get_stats()
    assert (stats["queued"], stats["written"], stats["fallback_count"]) == (1, 1, 0)
    handler.close()


def test_2_records_at_sync_level_are_written_before_emit_returns(log_path):
    handler = NonBlockingConcurrentHandler(log_path, sync_level=logging.ERROR)
    seen_at_return = []
    with lock_held(handler):
        started = time.monotonic()
        handler.handle(record(1))  # INFO: queued, returns at once
        assert time.monotonic() - started < 0.5

        def log_error():
            handler.handle(record(2, logging.ERROR))
            seen_at_return.extend(lines(log_path))

        thread = threading.Thread(target=log_error)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "an ERROR record must wait for the write"
    thread.join(10)
    assert not thread.is_alive()
    # On disk when emit returned, after the thread's earlier record.
    assert seen_at_return == ["record 1", "record 2"]
    handler.close()


def test_3_a_full_queue_with_fallback_on_full_waits_and_loses_nothing(log_path):
    handler = NonBlockingConcurrentHandler(log_path, queue_size=4, fallback_on_full=True)
    with lock_held(handler):
        writer_waiting_on_lock(handler)
        for n in range(4):
            handler.handle(record(n))
        assert handler.get_stats()["queue_depth"] == 4
        thread = threading.Thread(target=lambda: handler.handle(record(4)))
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "the caller waits for room"
    thread.join(10)
    handler.flush()
    assert lines(log_path) == ["record -1"] + [f"record {n}" for n in range(5)]
    stats = handler.get_stats()
    assert stats["fallback_count"] == 1 and stats["dropped_count"] == 0
    handler.close()


def test_4_a_full_queue_without_fallback_drops_and_counts(log_path):
    handler = NonBlockingConcurrentHandler(log_path, queue_size=4, fallback_on_full=False)
    with lock_held(handler):
        writer_waiting_on_lock(handler)
        started = time.monotonic()
        for n in range(10):
            handler.handle(record(n))
        assert time.monotonic() - started < 1.0, "dropping never waits"
        assert handler.get_stats()["dropped_count"] == 6
    handler.flush()
    written = lines(log_path)
    assert written[:5] == ["record -1"] + [f"record {n}" for n in range(4)]
    assert any("6" in line and "dropped" in line.lower() for line in written[5:]), written
    handler.close()


def test_5_stop_writes_everything_queued_then_refuses_and_start_resumes(log_path):
    handler = NonBlockingConcurrentHandler(log_path, queue_size=20_000)
    for n in range(10_000):
        handler.handle(record(n))
    handler.stop()
    assert lines(log_path) == [f"record {n}" for n in range(10_000)]
    handler.handle(record(10_000))  # stopped: dropped and counted
    assert handler.get_stats()["dropped_count"] == 1
    handler.start()
    handler.handle(record(10_001))
    handler.flush()
    after = lines(log_path)[10_000:]
    assert "record 10001" in after
    assert any("dropped=1" in line for line in after), after
    handler.close()


def test_6_get_stats_reports_depth_capacity_drops_and_fallbacks(log_path):
    handler = NonBlockingConcurrentHandler(log_path, queue_size=8, fallback_on_full=False)
    stats = handler.get_stats()
    assert (stats["queue_depth"], stats["capacity"], stats["dropped_count"], stats["fallback_count"]) == (0, 8, 0, 0)
    with lock_held(handler):
        writer_waiting_on_lock(handler)
        for n in range(5):
            handler.handle(record(n))
        assert handler.get_stats()["queue_depth"] == 5
        for n in range(5, 12):
            handler.handle(record(n))
        stats = handler.get_stats()
        assert (stats["queue_depth"], stats["dropped_count"]) == (8, 4)
    handler.flush()
    stats = handler.get_stats()
    assert stats["queue_depth"] == 0
    assert stats["emitted"] == stats["written"] + stats["dropped"] + stats["failed"] == 13
    handler.close()


def test_wrapping_a_file_handler_takes_its_settings_and_formatter(tmp_path):
    base = ConcurrentRotatingFileHandler(tmp_path / "app.log", maxBytes=1000, backupCount=3)
    base.setFormatter(logging.Formatter("wrapped %(message)s"))
    handler = NonBlockingConcurrentHandler(base, queue_size=100)
    for n in range(100):
        handler.handle(record(n))
    handler.close()
    base.close()
    assert (tmp_path / "app.log.1").exists(), "rotates at the wrapped handler's maxBytes"
    assert lines(tmp_path / "app.log")[-1] == "wrapped record 99"


def test_create_nonblocking_handler_passes_each_argument_where_it_belongs(tmp_path):
    handler = create_nonblocking_handler(
        tmp_path / "app.log", maxBytes=1000, backupCount=2, queue_size=50, sync_level=None
    )
    assert handler.get_stats()["capacity"] == 50
    assert handler.sync_level is None
    for n in range(400):
        handler.handle(record(n))
    handler.close()
    assert (tmp_path / "app.log.2").exists() and not (tmp_path / "app.log.3").exists()

    timed = create_nonblocking_handler(tmp_path / "t.log", use_timed=True, when="S", interval=1)
    timed.handle(record(1))
    time.sleep(1.2)
    timed.handle(record(2))
    timed.close()
    backups = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("t.log."))
    assert len(backups) == 1, backups
    assert lines(tmp_path / "t.log") == ["record 2"]


def test_a_timed_handler_rotates_by_time_with_python_names(tmp_path):
    handler = ConcurrentTimedRotatingFileHandler(tmp_path / "app.log", when="s", interval=1, backupCount=5)
    handler.handle(record(1))
    time.sleep(1.2)
    handler.handle(record(2))
    handler.close()
    backups = [p.name for p in tmp_path.iterdir() if p.name.startswith("app.log.")]
    assert len(backups) == 1 and len(backups[0]) == len("app.log.2026-01-01_00-00-00"), backups
