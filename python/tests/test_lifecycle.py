"""Interpreter exit, fork, the GIL, configuration and bad arguments, each
with a real interpreter and real files."""

from __future__ import annotations

import logging
import logging.config
import os
import textwrap
import threading
import time

import pytest

from concurrent_log_handler_rs import (
    AsyncConcurrentHandler,
    ConcurrentRotatingFileHandler,
    ConcurrentTimedRotatingFileHandler,
    NonBlockingConcurrentHandler,
)
from conftest import run_python
from test_nonblocking import lock_held, record


def count_lines(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.parametrize("cls", ["NonBlockingConcurrentHandler", "AsyncConcurrentHandler"])
def test_a_handler_left_open_is_drained_at_interpreter_exit(tmp_path, cls):
    log = tmp_path / "app.log"
    code = f"""
import logging
from concurrent_log_handler_rs import {cls}
handler = {cls}({str(log)!r}, queue_size=100_000, fallback_mode="block") if {cls!r} == "AsyncConcurrentHandler" else {cls}({str(log)!r}, queue_size=100_000)
log = logging.getLogger("exit")
log.setLevel(logging.INFO)
log.addHandler(handler)
for n in range(50_000):
    log.info("record %d", n)
"""
    proc = run_python(code)
    assert count_lines(log) == 50_000, proc.stderr
    assert proc.stderr == ""


def test_a_collected_handler_still_writes_what_it_queued(tmp_path):
    log = tmp_path / "app.log"
    code = f"""
import gc, logging
from concurrent_log_handler_rs import NonBlockingConcurrentHandler
handler = NonBlockingConcurrentHandler({str(log)!r}, queue_size=100_000)
for n in range(20_000):
    handler.handle(logging.LogRecord("gc", 20, "f", 1, "record %d", (n,), None))
logging._handlerList.clear()
del handler
gc.collect()
"""
    run_python(code)
    assert count_lines(log) == 20_000


def test_exit_while_another_process_holds_the_lock_is_bounded_and_says_what_is_lost(tmp_path):
    log = tmp_path / "app.log"
    handler = ConcurrentRotatingFileHandler(log)  # creates the lock file
    code = f"""
import logging
from concurrent_log_handler_rs import NonBlockingConcurrentHandler
NonBlockingConcurrentHandler.close_timeout = 1.0
handler = NonBlockingConcurrentHandler({str(log)!r}, queue_size=10_000)
for n in range(500):
    handler.handle(logging.LogRecord("x", 20, "f", 1, "record %d", (n,), None))
"""
    with lock_held(handler):
        started = time.monotonic()
        proc = run_python(code, timeout=60)
        elapsed = time.monotonic() - started
    handler.close()
    assert elapsed < 20, f"exit took {elapsed:.1f} s"
    assert "500 records for" in proc.stderr and "they are lost" in proc.stderr, proc.stderr
    assert count_lines(log) == 0


def test_os_fork_gives_the_child_a_working_handler_of_its_own(tmp_path):
    log = tmp_path / "app.log"
    code = f"""
import logging, os
from concurrent_log_handler_rs import NonBlockingConcurrentHandler
handler = NonBlockingConcurrentHandler({str(log)!r}, maxBytes=4096, backupCount=100)
handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
log = logging.getLogger("fork")
log.setLevel(logging.INFO)
log.addHandler(handler)
for n in range(1000):
    log.info("parent %d", n)
pid = os.fork()
if pid == 0:
    for n in range(1000):
        log.info("child %d", n)
    handler.close()
    os._exit(0)
for n in range(1000, 2000):
    log.info("parent %d", n)
_, status = os.waitpid(pid, 0)
assert status == 0, status
print(pid)
"""
    child = int(run_python(code).stdout.strip())
    lines = []
    for path in tmp_path.iterdir():
        if path.name.startswith("app.log"):
            lines += path.read_text().splitlines()
    parent_lines = [l for l in lines if " parent " in l]
    child_lines = [l for l in lines if " child " in l]
    assert sorted(int(l.split()[-1]) for l in parent_lines) == list(range(2000))
    assert sorted(int(l.split()[-1]) for l in child_lines) == list(range(1000))
    assert {int(l.split()[0]) for l in child_lines} == {child}


def test_the_gil_is_released_while_a_write_waits(tmp_path):
    handler = ConcurrentRotatingFileHandler(tmp_path / "app.log")
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    spinner = threading.Thread(target=spin)
    with lock_held(handler):
        writer = threading.Thread(target=lambda: handler.handle(record(1)))
        writer.start()
        time.sleep(0.05)
        spinner.start()
        before = ticks[0]
        time.sleep(0.3)
        during = ticks[0] - before
        assert writer.is_alive(), "the write waits for the lock"
    writer.join(10)
    stop.set()
    spinner.join(10)
    handler.close()
    assert during > 10_000, f"another thread ran only {during} times while emit waited"
    assert (tmp_path / "app.log").read_text() == "record 1\n"


def test_importing_and_logging_without_asyncio_does_not_import_asyncio(tmp_path):
    """A process that never awaits a handler does not pay for importing
    asyncio (about 45 ms, in every worker process); the first confirmation
    imports it."""
    log = tmp_path / "app.log"
    code = textwrap.dedent(
        f"""
        import logging, sys
        import concurrent_log_handler_rs as clh
        handler = clh.AsyncConcurrentHandler({str(log)!r})
        record = logging.LogRecord("t", logging.INFO, "t.py", 1, "plain", None, None)
        handler.handle(record)
        handler.close()
        print("asyncio" in sys.modules)
        import asyncio
        async def confirmed():
            async with clh.AsyncConcurrentHandler({str(log)!r}) as h:
                await h.emit_wait(logging.LogRecord("t", logging.INFO, "t.py", 1, "awaited", None, None))
        asyncio.run(confirmed())
        """
    )
    proc = run_python(code)
    assert proc.stdout.split() == ["False"]
    assert log.read_text().splitlines() == ["plain", "awaited"]


def test_dict_config_builds_the_handlers(tmp_path):
    config = {
        "version": 1,
        "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "concurrent_log_handler_rs.ConcurrentRotatingFileHandler",
                "filename": str(tmp_path / "file.log"),
                "maxBytes": 1024,
                "backupCount": 3,
                "formatter": "plain",
                "level": "INFO",
            },
            "queued": {
                "()": "concurrent_log_handler_rs.create_nonblocking_handler",
                "filename": str(tmp_path / "queued.log"),
                "queue_size": 500,
                "formatter": "plain",
            },
        },
        "loggers": {"cfg": {"handlers": ["file", "queued"], "level": "DEBUG", "propagate": False}},
    }
    logging.config.dictConfig(config)
    logger = logging.getLogger("cfg")
    logger.debug("not for the file")
    for n in range(100):
        logger.info("configured %d", n)
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    assert (tmp_path / "file.log.1").exists()
    assert (tmp_path / "queued.log").read_text().splitlines()[0] == "DEBUG cfg not for the file"
    assert count_lines(tmp_path / "queued.log") == 101


def test_file_config_builds_a_handler(tmp_path):
    ini = tmp_path / "logging.ini"
    ini.write_text(
        textwrap.dedent(
            f"""
            [loggers]
            keys=root
            [handlers]
            keys=clh
            [formatters]
            keys=plain
            [logger_root]
            level=INFO
            handlers=clh
            [handler_clh]
            class=concurrent_log_handler_rs.ConcurrentRotatingFileHandler
            formatter=plain
            args=({str(tmp_path / 'app.log')!r}, 'a', 4096, 2)
            [formatter_plain]
            format=%(levelname)s %(message)s
            """
        )
    )
    code = f"""
import logging, logging.config
logging.config.fileConfig({str(ini)!r})
logging.getLogger().info("from fileConfig")
"""
    run_python(code)
    assert (tmp_path / "app.log").read_text() == "INFO from fileConfig\n"


BAD_ARGUMENTS = [
    (ConcurrentRotatingFileHandler, {"mode": "w"}, "mode='w'"),
    (ConcurrentRotatingFileHandler, {"maxBytes": 100, "backupCount": 0}, "backupCount=0"),
    (ConcurrentRotatingFileHandler, {"maxBytes": -1}, "maxBytes=-1"),
    (ConcurrentRotatingFileHandler, {"backupCount": "5"}, "backupCount='5'"),
    (ConcurrentRotatingFileHandler, {"encoding": "latin-1"}, "encoding='latin-1'"),
    (ConcurrentRotatingFileHandler, {"encoding": "no-such-codec"}, "encoding='no-such-codec'"),
    (ConcurrentRotatingFileHandler, {"owner": ("root", "root")}, "owner="),
    (ConcurrentRotatingFileHandler, {"umask": 0o022}, "umask="),
    (ConcurrentRotatingFileHandler, {"chmod": 0o666}, "chmod="),
    (ConcurrentRotatingFileHandler, {"newline": "\r\n"}, "newline="),
    (ConcurrentRotatingFileHandler, {"terminator": " | "}, "terminator="),
    (ConcurrentRotatingFileHandler, {"unicode_error_policy": "loose"}, "unicode_error_policy="),
    (ConcurrentRotatingFileHandler, {"keep_file_open": False}, "keep_file_open="),
    (ConcurrentRotatingFileHandler, {"debug": True}, "debug=True"),
    (ConcurrentTimedRotatingFileHandler, {"when": "fortnightly"}, "when='fortnightly'"),
    (ConcurrentTimedRotatingFileHandler, {"when": "W1", "interval": 2}, "interval=2"),
    (ConcurrentTimedRotatingFileHandler, {"interval": 0}, "interval=0"),
    (ConcurrentTimedRotatingFileHandler, {"atTime": "noon"}, "atTime="),
    (ConcurrentTimedRotatingFileHandler, {"errors": "surrogateescape"}, "errors="),
    (NonBlockingConcurrentHandler, {"queue_size": 0}, "queue_size=0"),
    (NonBlockingConcurrentHandler, {"queue_size": 10**9}, "queue_size="),
    (NonBlockingConcurrentHandler, {"sync_level": "LOUD"}, "sync_level='LOUD'"),
    (NonBlockingConcurrentHandler, {"fallback_on_full": "yes"}, "fallback_on_full="),
    (AsyncConcurrentHandler, {"fallback_mode": "later"}, "fallback_mode='later'"),
]


@pytest.mark.parametrize("cls,kwargs,named", BAD_ARGUMENTS)
def test_bad_arguments_raise_a_value_error_naming_them(tmp_path, cls, kwargs, named):
    if "chmod" in kwargs:
        os.umask(0o022)
    with pytest.raises(ValueError) as error:
        cls(tmp_path / "app.log", **kwargs)
    assert named in str(error.value)
    assert not (tmp_path / "app.log").exists(), "nothing is opened for bad arguments"


def test_paths_that_cannot_be_opened_raise_os_errors_naming_them(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as error:
        ConcurrentRotatingFileHandler(blocker / "app.log")
    assert str(blocker) in str(error.value)
    with pytest.raises(ValueError):
        ConcurrentRotatingFileHandler(b"/tmp/bytes.log")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NonBlockingConcurrentHandler(logging.StreamHandler())
    with pytest.raises(TypeError):
        ConcurrentRotatingFileHandler(tmp_path / "x.log", no_such_argument=1)  # type: ignore[call-arg]


def test_emit_wait_needs_a_running_loop(tmp_path):
    handler = AsyncConcurrentHandler(tmp_path / "app.log")
    with pytest.raises(RuntimeError):
        handler.emit_wait(record(1))
    handler.close()


def test_nowait_keeps_its_pool_in_a_forked_child(tmp_path):
    """A child's handler is rebuilt at its first use; built inside the
    package's runtime, it keeps writing a full queue's records beside the
    queue (the fallback count grows) rather than falling back to drop."""
    log = tmp_path / "app.log"
    code = f"""
import logging, os
from concurrent_log_handler_rs import AsyncConcurrentHandler
handler = AsyncConcurrentHandler({str(log)!r}, queue_size=2, fallback_mode="nowait")
handler.handle(logging.LogRecord("n", 20, "f", 1, "parent", (), None))
pid = os.fork()
if pid == 0:
    for n in range(3000):
        handler.handle(logging.LogRecord("n", 20, "f", 1, "child %d", (n,), None))
    handler.flush()
    stats = handler.get_stats()
    handler.close()
    settled = stats["emitted"] == stats["written"] + stats["dropped"]
    os._exit(0 if stats["fallback_count"] > 0 and settled else 3)
_, status = os.waitpid(pid, 0)
handler.close()
print(os.waitstatus_to_exitcode(status))
"""
    assert run_python(code).stdout.strip() == "0"
    children = [line for line in log.read_text().splitlines() if line.startswith("child")]
    assert len(children) == len(set(children)) > 0


def test_syslog_forwards_each_line_to_a_collector(tmp_path):
    import socket

    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.settimeout(10)
    port = collector.getsockname()[1]
    handler = NonBlockingConcurrentHandler(tmp_path / "app.log", syslog=f"udp://127.0.0.1:{port}")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.handle(record(7, logging.WARNING))
    handler.close()
    datagram = collector.recv(65536).decode()
    collector.close()
    assert datagram.startswith("<"), datagram  # an RFC 5424 priority
    assert "WARNING record 7" in datagram
    assert (tmp_path / "app.log").read_text() == "WARNING record 7\n"


def test_a_bad_syslog_url_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError) as error:
        ConcurrentRotatingFileHandler(tmp_path / "app.log", syslog="carrier-pigeon://x")
    assert "carrier-pigeon" in str(error.value)
