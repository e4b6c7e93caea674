"""AsyncConcurrentHandler: the await semantics of Python CLH's asyncio plan
(the await completes only after the write, an error reaches the awaiting
task, a cancelled task does not lose its record), the fallback modes, the
lifecycle, and the event loop's largest gap while 8 tasks log."""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time

import pytest

from concurrent_log_handler_rs import AsyncConcurrentHandler, HandlerClosedError
from conftest import run_python, scaled
from test_nonblocking import lock_held, record, wait_for


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_emit_wait_resolves_only_after_the_line_is_in_the_file(log_path):
    handler = AsyncConcurrentHandler(log_path)

    async def main():
        with lock_held(handler):
            task = asyncio.ensure_future(handler.emit_wait(record(1)))
            await asyncio.sleep(0.3)
            assert not task.done(), "resolved while the lock was held elsewhere"
            assert lines(log_path) == []
        await asyncio.wait_for(task, 10)
        assert lines(log_path) == ["record 1"]
        # An idle handler: resolves at once, the line already there.
        await handler.emit_wait(record(2))
        assert lines(log_path) == ["record 1", "record 2"]
        await handler.shutdown()

    run(main())


def test_a_write_error_is_raised_in_the_awaiting_task(tmp_path):
    # A real fault: the file size limit makes write(2) fail with EFBIG.
    code = f"""
import asyncio, logging, resource, signal
from concurrent_log_handler_rs import AsyncConcurrentHandler, LogWriteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
handler = AsyncConcurrentHandler({str(tmp_path / 'app.log')!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
async def main():
    await handler.emit_wait(logging.LogRecord("t", 20, "f", 1, "small", (), None))
    try:
        await handler.emit_wait(logging.LogRecord("t", 20, "f", 1, "x" * 10000, (), None))
    except LogWriteError as error:
        print("raised", type(error).__name__, error.errno)
    await handler.shutdown()
asyncio.run(main())
"""
    out = run_python(code).stdout
    assert "raised LogWriteError 27" in out, out  # EFBIG
    assert (tmp_path / "app.log").read_text() == "small\n"


def test_emit_wait_after_shutdown_raises_handler_closed(log_path):
    handler = AsyncConcurrentHandler(log_path)

    async def main():
        await handler.shutdown()
        with pytest.raises(HandlerClosedError):
            await handler.emit_wait(record(1))

    run(main())


def test_a_cancelled_waiter_does_not_lose_its_record(log_path):
    handler = AsyncConcurrentHandler(log_path, queue_size=2)

    async def main():
        with lock_held(handler):
            handler.handle(record(0))
            wait_for("the writer to take a record", lambda: handler.get_stats()["queue_depth"] == 0)
            handler.handle(record(1))
            handler.handle(record(2))
            # The queue is full: this record waits for room, inside the awaitable.
            task = asyncio.ensure_future(handler.emit_wait(record(3)))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await handler.aflush()
        await asyncio.sleep(0.1)
        await handler.aflush()
        assert lines(log_path) == [f"record {n}" for n in range(4)]
        await handler.shutdown()

    run(main())


def test_records_at_sync_level_are_written_before_emit_returns(log_path):
    handler = AsyncConcurrentHandler(log_path)  # sync_level CRITICAL
    handler.handle(record(1))
    handler.handle(record(2, logging.CRITICAL))
    assert lines(log_path) == ["record 1", "record 2"]
    handler.close()


def test_fallback_drop_never_blocks_and_counts(log_path):
    handler = AsyncConcurrentHandler(log_path, queue_size=4, fallback_mode="drop")
    with lock_held(handler):
        handler.handle(record(-1))
        wait_for("the writer", lambda: handler.get_stats()["queue_depth"] == 0)
        started = time.monotonic()
        for n in range(10):
            handler.handle(record(n))
        assert time.monotonic() - started < 1
    handler.flush()
    assert handler.get_stats()["dropped_count"] == 6
    handler.close()


def test_fallback_block_waits_for_room_and_loses_nothing(log_path):
    handler = AsyncConcurrentHandler(log_path, queue_size=4, fallback_mode="block")
    with lock_held(handler):
        handler.handle(record(-1))
        wait_for("the writer", lambda: handler.get_stats()["queue_depth"] == 0)
        for n in range(4):
            handler.handle(record(n))
        thread = threading.Thread(target=lambda: handler.handle(record(4)))
        thread.start()
        thread.join(0.3)
        assert thread.is_alive()
    thread.join(10)
    handler.flush()
    assert lines(log_path) == ["record -1"] + [f"record {n}" for n in range(5)]
    assert handler.get_stats()["dropped_count"] == 0
    handler.close()


def test_fallback_nowait_writes_beside_the_queue_without_waiting(log_path):
    handler = AsyncConcurrentHandler(log_path, queue_size=4, fallback_mode="nowait")
    with lock_held(handler):
        handler.handle(record(-1))
        wait_for("the writer", lambda: handler.get_stats()["queue_depth"] == 0)
        started = time.monotonic()
        for n in range(8):
            handler.handle(record(n))
        assert time.monotonic() - started < 1, "nowait never waits"
    handler.flush()
    written = sorted(lines(log_path))
    assert written == sorted(["record -1"] + [f"record {n}" for n in range(8)])
    stats = handler.get_stats()
    assert stats["fallback_count"] == 4 and stats["dropped_count"] == 0
    handler.close()


def test_async_with_writes_everything_and_closes(log_path):
    async def main():
        async with AsyncConcurrentHandler(log_path, queue_size=100_000) as handler:
            for n in range(20_000):
                handler.handle(record(n))
        assert handler.get_stats()["written"] == 20_000
        assert lines(log_path) == [f"record {n}" for n in range(20_000)]

    run(main())


def test_confirm_logs_through_the_logger_and_waits_for_this_handler(log_path):
    handler = AsyncConcurrentHandler(log_path)
    handler.setFormatter(logging.Formatter("%(funcName)s %(levelname)s %(message)s"))
    seen = []
    collector = logging.Handler()
    collector.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("confirm.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    logger.addHandler(collector)
    stranger = logging.getLogger("confirm.stranger")
    stranger.propagate = False

    async def caller():
        assert await handler.confirm(logger, logging.INFO, "paid %s", "42")
        assert lines(log_path) == ["caller INFO paid 42"]
        assert not await handler.confirm(logger, logging.DEBUG, "disabled")
        assert not await handler.confirm(stranger, logging.WARNING, "not attached")
        await handler.shutdown()

    run(caller())
    assert [r.getMessage() for r in seen] == ["paid 42"]
    logger.removeHandler(collector)
    logger.removeHandler(handler)


def loop_gaps(logger, total: int) -> float:
    """The largest gap of a 1 ms ticker while 8 tasks log ``total``
    records through ``logger``, each awaiting after every record (as a
    request handler does)."""

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
                logger.info("task %d record %d", n, i)
                await asyncio.sleep(0)

        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.01)
        await asyncio.gather(*(producer(n) for n in range(8)))
        done.set()
        await tick
        return max(gaps)

    return run(main())


class FormatOnly(logging.Handler):
    """Formats each record in Python and writes nothing: the same work on
    the loop as a handler, with no file, queue or thread."""

    def emit(self, record):
        self.format(record)


def test_the_event_loop_keeps_ticking_while_8_tasks_log(log_path):
    """While 8 tasks log 200,000 records (100,000 in CI), the largest gap
    of a 1 ms ticker (median of 3 runs) stays under 10 ms, or three times
    the largest gap the same tasks make through a handler that only formats
    (no file, no thread): on a loaded machine the scheduler's own gaps
    dominate. A handler that blocked the loop on the file would show the
    write's full duration in every run."""
    total = scaled(200_000, 100_000)
    quiet = logging.getLogger("gap.baseline")
    quiet.propagate = False
    quiet.setLevel(logging.INFO)
    quiet.addHandler(FormatOnly())
    baseline = statistics.median(loop_gaps(quiet, total) for _ in range(3))

    handler = AsyncConcurrentHandler(log_path, queue_size=50_000)
    logger = logging.getLogger("gap.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    largest = statistics.median(loop_gaps(logger, total) for _ in range(3))
    handler.flush()
    stats = handler.get_stats()
    logger.removeHandler(handler)
    handler.close()
    assert stats["emitted"] == 3 * total
    assert stats["written"] + stats["dropped"] == 3 * total
    print(f"largest loop gap: {largest * 1000:.2f} ms (formatting only: {baseline * 1000:.2f} ms)")
    assert largest < max(0.010, 3 * baseline), f"largest gap {largest * 1000:.1f} ms"
