"""Writers sharing one rotating log, for the multi-process tests.

    python mp_driver.py LOG START KIND PROCS COUNT CLH_PROCS CLH_COUNT MAX_BYTES BACKUPS GZIP

START is ``fork`` (the handler is built here, before the children are
forked, and they use the inherited one) or ``spawn`` (each child builds its
own). KIND is ``blocking``, ``nonblocking`` or ``async``. Writers 0..PROCS-1
use this package; writers 10.. are Python CLH 0.9.31 processes. Every line
is ``<asctime> <pid> INFO w<writer> s<seq> <filler>``.
"""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
import sys

FILLER = "abcdefghijklmnopqrstuvwxyz0123456789"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(message)s"


def make_handler(kind: str, log: str, max_bytes: int, backups: int, gzip: bool) -> logging.Handler:
    import concurrent_log_handler_rs as clh

    file_args = dict(maxBytes=max_bytes, backupCount=backups, use_gzip=gzip)
    if kind == "blocking":
        handler: logging.Handler = clh.ConcurrentRotatingFileHandler(log, **file_args)
    elif kind == "nonblocking":
        handler = clh.NonBlockingConcurrentHandler(log, **file_args)
    elif kind == "async":
        handler = clh.AsyncConcurrentHandler(log, fallback_mode="block", **file_args)
    elif kind == "clh":
        from concurrent_log_handler import ConcurrentRotatingFileHandler

        handler = ConcurrentRotatingFileHandler(log, encoding="utf-8", **file_args)
    else:
        raise SystemExit(f"unknown kind {kind}")
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def write(logger: logging.Logger, writer: int, count: int) -> None:
    for seq in range(count):
        logger.info("w%d s%d %s", writer, seq, FILLER)


def spawned_child(kind, log, writer, count, max_bytes, backups, gzip):
    handler = make_handler(kind, log, max_bytes, backups, gzip)
    logger = logging.getLogger("mp")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    write(logger, writer, count)
    handler.close()


def forked_child(writer, count):
    # The handler came with the fork; it is flushed when the child ends.
    write(logging.getLogger("mp"), writer, count)


def main() -> None:
    log, start, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    procs, count, clh_procs, clh_count, max_bytes, backups, gzip = map(int, sys.argv[4:11])
    children = []
    clh = [
        subprocess.Popen(
            [sys.executable, __file__, "--clh", log, str(10 + n), str(clh_count), str(max_bytes), str(backups), str(gzip)]
        )
        for n in range(clh_procs)
    ]
    if start == "fork":
        handler = make_handler(kind, log, max_bytes, backups, bool(gzip))
        logger = logging.getLogger("mp")
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        ctx = multiprocessing.get_context("fork")
        children = [ctx.Process(target=forked_child, args=(w, count)) for w in range(procs)]
    else:
        ctx = multiprocessing.get_context("spawn")
        children = [
            ctx.Process(target=spawned_child, args=(kind, log, w, count, max_bytes, backups, bool(gzip)))
            for w in range(procs)
        ]
    for child in children:
        child.start()
    for child in children:
        child.join(600)
        if child.exitcode != 0:
            raise SystemExit(f"child {child.name} ended with {child.exitcode}")
    for proc in clh:
        if proc.wait(600) != 0:
            raise SystemExit("a Python CLH writer failed")
    if start == "fork":
        handler.close()


def clh_main() -> None:
    log, writer, count, max_bytes, backups, gzip = sys.argv[2], *map(int, sys.argv[3:8])
    handler = make_handler("clh", log, max_bytes, backups, bool(gzip))
    logger = logging.getLogger("clh")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    write(logger, writer, count)
    handler.close()


if __name__ == "__main__":
    if sys.argv[1] == "--clh":
        clh_main()
    else:
        main()
