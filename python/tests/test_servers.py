"""Real servers with several worker processes on one rotating log:
gunicorn (4 workers, ``--preload``: the handler is built before the fork)
and uvicorn (4 workers serving a FastAPI app whose endpoint awaits
``emit_wait``). A bounded loop of requests on loopback, then every
request's line exactly once in the log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import log_files, read_lines, scaled

WSGI_APP = '''
import logging, os
from concurrent_log_handler_rs import NonBlockingConcurrentHandler

handler = NonBlockingConcurrentHandler(os.environ["CLH_LOG"], maxBytes=16384, backupCount=500)
handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
log = logging.getLogger("app")
log.setLevel(logging.INFO)
log.addHandler(handler)
handler.handle(logging.makeLogRecord({"msg": "preloaded", "levelno": 20, "levelname": "INFO"}))

def app(environ, start_response):
    n = environ.get("QUERY_STRING", "")
    log.info("request %s filler-abcdefghijklmnopqrstuvwxyz", n)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
'''

ASGI_APP = '''
import logging, os
from fastapi import FastAPI
from concurrent_log_handler_rs import AsyncConcurrentHandler

handler = AsyncConcurrentHandler(os.environ["CLH_LOG"], maxBytes=16384, backupCount=500)
handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
log = logging.getLogger("app")
log.setLevel(logging.INFO)
log.propagate = False
log.addHandler(handler)
app = FastAPI()

@app.get("/log/{n}")
async def endpoint(n: int):
    record = log.makeRecord("app", logging.INFO, __file__, 1, "request %d filler-abcdefghijklmnopqrstuvwxyz", (n,), None)
    await handler.emit_wait(record)
    return {"pid": os.getpid()}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start listening")


def request_all(url: str, count: int) -> set:
    pids = set()
    for n in range(count):
        with urllib.request.urlopen(f"{url}{n}", timeout=30) as response:
            assert response.status == 200
            pids.add(response.read().decode().strip().strip('{}"pid: '))
    return pids


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return err


def request_lines(log: Path):
    seen = {}
    for path in log_files(log):
        for line in read_lines(path):
            match = re.fullmatch(r"(\d+) request (\d+) filler-abcdefghijklmnopqrstuvwxyz", line)
            if match:
                n = int(match.group(2))
                seen[n] = seen.get(n, 0) + 1
            else:
                assert re.fullmatch(r"\d+ preloaded", line), f"torn or foreign line: {line!r}"
    return seen


def serve(tmp_path: Path, module: str, source: str, argv) -> tuple:
    """Writes the app ``module`` and starts ``python -m <argv>`` on a free
    loopback port (``argv`` is called with it) in ``tmp_path``, logging to
    ``logs/app.log``. Returns (process, port, log)."""
    (tmp_path / f"{module}.py").write_text(source)
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv(port)],
        cwd=tmp_path,
        env={**os.environ, "CLH_LOG": str(log)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, port, log


def test_gunicorn_workers_forked_after_preload_share_the_log(tmp_path):
    count = scaled(2_000, 600)
    proc, port, log = serve(
        tmp_path,
        "wsgiapp",
        WSGI_APP,
        lambda port: ["gunicorn", "--preload", "-w", "4", "-b", f"127.0.0.1:{port}", "wsgiapp:app"],
    )
    try:
        wait_listening(port, proc)
        pids = request_all(f"http://127.0.0.1:{port}/?", count)
    finally:
        err = stop(proc)
    assert len(pids) >= 2, f"requests reached one worker only: {pids}"
    seen = request_lines(log)
    assert sorted(seen) == list(range(count)), err[-2000:]
    assert set(seen.values()) == {1}
    assert "not written" not in err, err


def test_uvicorn_workers_awaiting_emit_wait_share_the_log(tmp_path):
    count = scaled(2_000, 600)
    proc, port, log = serve(
        tmp_path,
        "asgiapp",
        ASGI_APP,
        lambda port: ["uvicorn", "--workers", "4", "--port", str(port), "--log-level", "warning", "asgiapp:app"],
    )
    try:
        wait_listening(port, proc)
        # Wait until several workers serve (they start one after another).
        time.sleep(2)
        pids = request_all(f"http://127.0.0.1:{port}/log/", count)
        # emit_wait resolved: every line is in the log before the server stops.
        seen_before_stop = request_lines(log)
    finally:
        err = stop(proc)
    assert len(pids) >= 2, f"requests reached one worker only: {pids}"
    assert sorted(seen_before_stop) == list(range(count)), err[-2000:]
    assert set(request_lines(log).values()) == {1}
