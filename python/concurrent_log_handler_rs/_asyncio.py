"""``AsyncConcurrentHandler``: the asyncio handler Python CLH planned."""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
import traceback
import weakref
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Union

from . import _engine
from ._handlers import _Base, _base_options, _EngineHandler, _Settings
from ._options import PathLike, queue_options, rotating_options, timed_options

if TYPE_CHECKING:
    import asyncio

_FALLBACK_MODES = ("drop", "block", "nowait")


def _running_loop() -> "asyncio.AbstractEventLoop":
    """The running loop. ``asyncio`` is imported here, at the first
    confirmation, not with the package: processes that never await a
    handler do not pay its import (about 45 ms)."""
    import asyncio

    return asyncio.get_running_loop()


def resolve(future: "asyncio.Future[None]", method: str, value: Any) -> None:
    """Sets ``future``'s outcome on its loop, unless it is done (cancelled)."""
    if not future.done():
        getattr(future, method)(value)


class AsyncConcurrentHandler(_EngineHandler):
    """A handler for asyncio services: ``emit`` (every ``logger.info`` …)
    never blocks the event loop, and ``await handler.emit_wait(record)``
    resolves on the loop once the record is in the file.

    - ``fallback_mode``, when the queue is full: ``"drop"`` (default: the
      record is counted in ``get_stats()["dropped_count"]`` and a warning
      line is written into the log), ``"block"`` (the loop waits for room:
      nothing is lost, opt in knowingly), or ``"nowait"`` (the record is
      written on a thread pool, outside the queue; it may land out of
      order).
    - ``sync_level``: records at or above it block the loop until written
      (default ``CRITICAL``; ``None``: never).
    - ``await handler.emit_wait(record)``, ``await handler.confirm(logger,
      level, msg, …)``: the awaitable confirmation. An error writing the
      record is raised in the awaiting task. A task cancelled while it
      awaits does not cancel the write.
    - ``async with handler:`` and ``await handler.shutdown()`` write
      everything accepted and stop the writer; ``await handler.aflush()``.

    ``handler`` is a file name followed by Python CLH's keyword arguments,
    or a ``ConcurrentRotatingFileHandler`` / ``ConcurrentTimedRotatingFileHandler``
    whose settings and formatter it takes.
    """

    _kind = "async"

    def __init__(
        self,
        handler: Union[_Base, PathLike],
        queue_size: int = 10_000,
        fallback_mode: str = "drop",
        sync_level: Optional[Union[int, str]] = logging.CRITICAL,
        **clh_kwargs: Any,
    ) -> None:
        if fallback_mode not in _FALLBACK_MODES:
            raise ValueError(
                f"fallback_mode={fallback_mode!r}: expected 'drop', 'block' or 'nowait'"
            )
        base = _base_options(handler, "AsyncConcurrentHandler", clh_kwargs)
        options = queue_options(
            base, queue_size=queue_size, sync_level=sync_level, fallback=fallback_mode
        )
        self.queue_size = queue_size
        self.fallback_mode = fallback_mode
        self.sync_level = options["sync_level"]
        #: Loop id -> (weak loop, bridge, pid).
        self._bridges: Dict[int, Tuple[Any, Any, int]] = {}
        self._bridges_lock = threading.Lock()
        #: Records that ``confirm`` sends through a logger, by id, and the
        #: awaitable this handler made for each.
        self._confirming: Dict[int, Optional["asyncio.Future[None]"]] = {}
        _EngineHandler.__init__(self, options)
        if isinstance(handler, logging.Handler) and handler.formatter is not None:
            self.formatter = handler.formatter

    # -- the loop's side ------------------------------------------------

    def _bridge(self) -> Any:
        """The bridge of the running loop (made at its first use)."""
        loop = _running_loop()
        key = id(loop)
        pid = os.getpid()
        entry = self._bridges.get(key)
        if entry is not None and entry[0]() is loop and entry[2] == pid:
            return entry[1]
        with self._bridges_lock:
            bridge = _engine.LoopBridge(loop)
            loop.add_reader(bridge.fileno(), bridge.run)
            self._bridges[key] = (weakref.ref(loop), bridge, pid)
        return bridge

    def handle(self, record: logging.LogRecord) -> Any:
        if self._confirming and id(record) in self._confirming:
            rv: Any = True
            if self.filters:
                rv = self.filter(record)
                if not rv:
                    return rv
            self._confirming[id(record)] = self._wait_future(record)
            return rv
        return _EngineHandler.handle(self, record)

    def _wait_future(self, record: logging.LogRecord) -> "asyncio.Future[None]":
        try:
            return self.emit_wait(record)
        except Exception as error:  # noqa: BLE001 - handed to the awaiting task
            failed: asyncio.Future[None] = _running_loop().create_future()
            failed.set_exception(error)
            return failed

    def emit_wait(self, record: logging.LogRecord) -> "asyncio.Future[None]":
        """Log ``record`` and return an awaitable that resolves once it is
        in the file (or raises the error that kept it out: a
        ``LogWriteError`` naming the path and the OS cause, or
        ``HandlerClosedError`` after ``shutdown``). Call it from a coroutine
        on the running loop. Records awaited by many tasks at once share
        one write."""
        bridge = self._bridge()
        future = self._engine.emit_wait(record, self.formatter, bridge)
        if future is None:
            with self.lock:  # type: ignore[union-attr]
                text = self.format(record)
            future = self._engine.emit_wait(record, self.formatter, bridge, text)
        assert future is not None  # a rendered text is always taken
        return future

    async def confirm(
        self,
        logger: logging.Logger,
        level: Union[int, str],
        msg: object,
        *args: object,
        exc_info: Any = None,
        extra: Optional[Dict[str, object]] = None,
        stack_info: bool = False,
        stacklevel: int = 1,
    ) -> bool:
        """``logger.log(level, msg, *args, …)``, then wait until this handler
        wrote the record: every handler the logger reaches gets it as
        usual. ``True`` once it is in this handler's file; ``False`` when it
        never reached this handler (the level is disabled, a filter refused
        it, or the handler is not attached to ``logger``'s hierarchy)."""
        levelno = logging._checkLevel(level)  # type: ignore[attr-defined]
        if not logger.isEnabledFor(levelno):
            return False
        record = _make_record(logger, levelno, msg, args, exc_info, extra, stack_info, stacklevel)
        key = id(record)
        self._confirming[key] = None
        try:
            logger.handle(record)
            future = self._confirming.get(key)
        finally:
            self._confirming.pop(key, None)
        if future is None:
            return False
        await future
        return True

    async def aflush(self) -> None:
        """Wait, without blocking the loop, until everything logged so far
        is in the file."""
        await self._engine.flush_async(self._bridge())

    async def shutdown(self) -> None:
        """Stop taking records, write everything accepted, stop the writer
        (without blocking the loop), then close the handler."""
        await self._engine.shutdown_async(self._bridge())
        self.close()

    async def __aenter__(self) -> "AsyncConcurrentHandler":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    def _before_close(self) -> None:
        """Awaitables still pending (their loop may never run again) are run
        to their end here, so no record a coroutine handed over stays
        behind."""
        with self._bridges_lock:
            bridges = list(self._bridges.values())
            self._bridges.clear()
        pid = os.getpid()
        for loop_ref, bridge, owner in bridges:
            if owner != pid:
                continue
            bridge.finish(self.close_timeout)
            loop = loop_ref()
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(loop.remove_reader, bridge.fileno())
                except RuntimeError:
                    pass


def _make_record(
    logger: logging.Logger,
    level: int,
    msg: object,
    args: Tuple[object, ...],
    exc_info: Any,
    extra: Optional[Dict[str, object]],
    stack_info: bool,
    stacklevel: int,
) -> logging.LogRecord:
    """The record ``logger.log`` would make, attributed to the caller of
    ``confirm`` (``stacklevel`` frames up)."""
    frame = sys._getframe(stacklevel + 1)
    code = frame.f_code
    sinfo = None
    if stack_info:
        out = io.StringIO()
        out.write("Stack (most recent call last):\n")
        traceback.print_stack(frame, file=out)
        sinfo = out.getvalue().rstrip("\n")
    if exc_info:
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        elif not isinstance(exc_info, tuple):
            exc_info = sys.exc_info()
    return logger.makeRecord(
        logger.name,
        level,
        code.co_filename,
        frame.f_lineno,
        msg,
        args,
        exc_info,
        code.co_name,
        extra,
        sinfo,
    )


def create_async_concurrent_handler(
    filename: PathLike, use_timed: bool = False, **kwargs: Any
) -> AsyncConcurrentHandler:
    """An ``AsyncConcurrentHandler`` for ``filename``: ``queue_size``,
    ``fallback_mode`` and ``sync_level`` go to it, every other keyword to
    ``ConcurrentTimedRotatingFileHandler`` (``use_timed=True``) or
    ``ConcurrentRotatingFileHandler``."""
    queue = {k: kwargs.pop(k) for k in ("queue_size", "fallback_mode", "sync_level") if k in kwargs}
    options = timed_options(filename, **kwargs) if use_timed else rotating_options(filename, **kwargs)
    return AsyncConcurrentHandler(_Settings(options), **queue)  # type: ignore[arg-type]
