"""The ``logging.Handler`` classes, on the engine."""

from __future__ import annotations

import atexit
import logging
import sys
import weakref
from multiprocessing import util as multiprocessing_util
from typing import Any, Dict, Optional, Union

from . import _engine
from ._options import PathLike, queue_options, rotating_options, timed_options

#: Set by an ``atexit`` hook that runs before ``logging.shutdown`` (hooks run
#: in reverse order of registration, and ``logging`` registered first).
_exiting = False


def _mark_exit() -> None:
    global _exiting
    _exiting = True


atexit.register(_mark_exit)

#: Every handler of this package alive in this process.
_live: "weakref.WeakSet[_EngineHandler]" = weakref.WeakSet()


def _close_live() -> None:
    for handler in list(_live):
        handler.close()


class _ForkHook:
    """``multiprocessing``'s after-fork registry holds its keys weakly."""


_FORK_HOOK = _ForkHook()


def _after_fork_in_child(_key: object) -> None:
    """A child of ``multiprocessing``'s fork start method ends with
    ``os._exit``: no ``atexit``, no ``logging.shutdown``. Its exit hook
    (``multiprocessing.util._exit_function``) runs finalizers, so one is
    registered that writes what the child queued and lets its compressions
    finish, as ``logging.shutdown`` would."""
    multiprocessing_util.Finalize(None, _close_live, exitpriority=-10)


multiprocessing_util.register_after_fork(_FORK_HOOK, _after_fork_in_child)


class _EngineHandler(logging.Handler):
    """What the handlers share: a record becomes its line in Rust (when the
    formatter is a plain ``logging.Formatter``; otherwise the formatter runs
    here, in Python), and the engine writes it."""

    #: ``"blocking"``, ``"thread"`` or ``"async"``.
    _kind = "blocking"

    #: How long ``flush`` and ``close`` wait for the writer, in seconds. At
    #: interpreter exit (``logging.shutdown`` flushes and closes every
    #: handler), a writer that cannot finish in time (another process holds
    #: the log's lock) is left, and what it could not write is said on
    #: stderr.
    close_timeout: float = 5.0

    def __init__(self, options: Dict[str, Any], level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)
        self._options = options
        self._engine = _engine.Engine(self._kind, options)
        self._closed = False
        _live.add(self)
        #: The log's absolute path, as ``logging.FileHandler`` names it.
        self.baseFilename: str = self._engine.path

    # -- the hot path ---------------------------------------------------

    def handle(self, record: logging.LogRecord) -> Any:
        """Filter ``record`` and log it. Unlike ``logging.Handler.handle``,
        no handler lock is taken around the write: the engine is
        thread-safe, and a formatter run in Python still runs under the
        lock."""
        rv: Any = True
        if self.filters:
            rv = self.filter(record)
            if not rv:
                return rv
            if isinstance(rv, logging.LogRecord):
                record = rv
        try:
            if not self._engine.emit(record, self.formatter):
                self._emit_formatted(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Log ``record`` (what ``handle`` does after the filters)."""
        try:
            if not self._engine.emit(record, self.formatter):
                self._emit_formatted(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _emit_formatted(self, record: logging.LogRecord) -> None:
        with self.lock:  # type: ignore[union-attr]
            text = self.format(record)
        self._engine.emit_text(record.levelno, text)

    # -- lifecycle ------------------------------------------------------

    def flush(self) -> None:
        """Wait until everything logged so far is in the file (at most
        ``close_timeout`` seconds)."""
        if self._closed:
            return
        try:
            self._engine.flush(self.close_timeout)
        except TimeoutError:
            pass  # close() says what is left, if anything still is then
        except _engine.HandlerClosedError:
            pass

    def close(self) -> None:
        """Write everything accepted (waiting at most ``close_timeout``
        seconds), stop the writer and release the files. What could not be
        written in time is said on stderr, with the count."""
        with self.lock:  # type: ignore[union-attr]
            if self._closed:
                logging.Handler.close(self)
                return
            self._closed = True
        try:
            self._before_close()
            self._engine.close(self.close_timeout)
        except TimeoutError:
            self._report_unwritten()
        except Exception as error:  # noqa: BLE001 - reported, close goes on
            sys.stderr.write(f"concurrent_log_handler_rs: closing {self.baseFilename}: {error}\n")
        finally:
            logging.Handler.close(self)

    def _before_close(self) -> None:
        pass

    def _report_unwritten(self) -> None:
        stats = self._engine.stats()
        unwritten = stats["emitted"] - stats["written"] - stats["dropped"] - stats["failed"]
        if unwritten <= 0:
            return
        then = (
            "they are lost: the interpreter is exiting"
            if _exiting
            else "the writer goes on with them in the background"
        )
        sys.stderr.write(
            f"concurrent_log_handler_rs: {unwritten} records for {self.baseFilename} were not "
            f"written within {self.close_timeout} s (is another process holding "
            f"{self._engine.lock_path}?); {then}\n"
        )

    def get_stats(self) -> Dict[str, int]:
        """The engine's counters: ``queue_depth``, ``capacity``,
        ``dropped_count`` and ``fallback_count`` (Python CLH's names), and
        ``emitted``, ``written``, ``dropped``, ``failed``, ``batches``,
        ``bytes_written``, ``rotations``, ``compressions`` and more. Once the
        handler is flushed, ``emitted == written + dropped + failed``."""
        return self._engine.stats()

    @property
    def lock_path(self) -> str:
        """The lock file (``.__<name>.lock``, Python CLH's name)."""
        return self._engine.lock_path

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<{type(self).__name__} {self.baseFilename} ({level})>"


class ConcurrentRotatingFileHandler(_EngineHandler):
    """Python CLH's ``ConcurrentRotatingFileHandler`` on the engine: many
    processes and threads write one log rotating at ``maxBytes``, with the
    same lock file, backup names and line bytes as Python CLH, so both can
    share a log.

    Blocking like Python CLH: the line is in the file when ``emit``
    returns. Threads logging at once share one lock cycle. Arguments the
    engine does not support are refused with a ``ValueError`` naming them.
    """

    _kind = "blocking"

    def __init__(
        self,
        filename: PathLike,
        mode: str = "a",
        maxBytes: int = 0,
        backupCount: int = 0,
        encoding: Optional[str] = None,
        debug: bool = False,
        delay: Any = None,
        use_gzip: bool = False,
        owner: Any = None,
        chmod: Optional[int] = None,
        umask: Optional[int] = None,
        newline: Optional[str] = None,
        terminator: str = "\n",
        unicode_error_policy: str = "ignore",
        lock_file_directory: Optional[PathLike] = None,
        keep_file_open: bool = True,
        *,
        durable: bool = False,
        syslog: Optional[str] = None,
    ) -> None:
        options = rotating_options(
            filename,
            mode,
            maxBytes,
            backupCount,
            encoding,
            debug,
            delay,
            use_gzip,
            owner,
            chmod,
            umask,
            newline,
            terminator,
            unicode_error_policy,
            lock_file_directory,
            keep_file_open,
            durable=durable,
            syslog=syslog,
        )
        _EngineHandler.__init__(self, options)
        self.maxBytes = maxBytes
        self.backupCount = backupCount
        self.use_gzip = use_gzip


class ConcurrentTimedRotatingFileHandler(_EngineHandler):
    """Python CLH's ``ConcurrentTimedRotatingFileHandler`` on the engine:
    rotation by time (``when``, ``interval``, ``utc``) and optionally by size
    (``maxBytes``), shared safely by many processes. Blocking like Python
    CLH."""

    _kind = "blocking"

    def __init__(
        self,
        filename: PathLike,
        when: str = "h",
        interval: int = 1,
        backupCount: int = 0,
        encoding: Optional[str] = None,
        delay: Any = False,
        utc: bool = False,
        atTime: Any = None,
        errors: Optional[str] = None,
        maxBytes: int = 0,
        use_gzip: bool = False,
        owner: Any = None,
        chmod: Optional[int] = None,
        umask: Optional[int] = None,
        newline: Optional[str] = None,
        terminator: str = "\n",
        unicode_error_policy: str = "ignore",
        lock_file_directory: Optional[PathLike] = None,
        keep_file_open: bool = True,
        *,
        mode: str = "a",
        durable: bool = False,
        syslog: Optional[str] = None,
    ) -> None:
        options = timed_options(
            filename,
            when,
            interval,
            backupCount,
            encoding,
            delay,
            utc,
            atTime,
            errors,
            maxBytes,
            use_gzip,
            owner,
            chmod,
            umask,
            newline,
            terminator,
            unicode_error_policy,
            lock_file_directory,
            keep_file_open,
            mode=mode,
            durable=durable,
            syslog=syslog,
        )
        _EngineHandler.__init__(self, options)
        self.when = when.upper()
        self.interval = interval
        self.backupCount = backupCount
        self.maxBytes = maxBytes
        self.utc = utc


_Base = Union[ConcurrentRotatingFileHandler, ConcurrentTimedRotatingFileHandler]


class _Settings:
    """File settings already checked (the factories pass them on)."""

    __slots__ = ("options",)

    def __init__(self, options: Dict[str, Any]) -> None:
        self.options = options


def _base_options(handler: Any, what: str, clh_kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The file settings of ``handler``: one of this package's file
    handlers, or a file name with Python CLH's keyword arguments."""
    if isinstance(handler, _Settings):
        return handler.options
    if isinstance(handler, (ConcurrentRotatingFileHandler, ConcurrentTimedRotatingFileHandler)):
        if clh_kwargs:
            names = ", ".join(sorted(clh_kwargs))
            raise TypeError(f"{what}: file arguments ({names}) go to the wrapped handler")
        return handler._options
    if isinstance(handler, logging.Handler):
        raise TypeError(
            f"{what} wraps this package's ConcurrentRotatingFileHandler or "
            f"ConcurrentTimedRotatingFileHandler (or takes a file name), not "
            f"{type(handler).__name__}; for other handlers use logging.handlers.QueueHandler"
        )
    return rotating_options(handler, **clh_kwargs)


class NonBlockingConcurrentHandler(_EngineHandler):
    """The thread-based non-blocking handler Python CLH planned: ``emit``
    queues the record and returns, one writer thread (Rust, outside the
    GIL) writes batches under the log's lock.

    - ``queue_size``: records the queue holds (default 10,000).
    - ``sync_level``: records at or above it are in the file when ``emit``
      returns, after this thread's earlier records (default ``ERROR``;
      ``None``: never wait).
    - ``fallback_on_full``: when the queue is full, ``True`` (default) makes
      the caller wait for room, so nothing is lost; ``False`` drops the
      record and counts it (``get_stats()["dropped_count"]``, and a warning
      line in the log).
    - ``get_stats()``, ``start()``, ``stop()``; everything queued is written
      at interpreter exit (bounded by ``close_timeout``).

    ``handler`` is a ``ConcurrentRotatingFileHandler`` or
    ``ConcurrentTimedRotatingFileHandler`` whose file settings and formatter
    it uses (the wrapper's own formatter, when set, wins), or a file name
    followed by Python CLH's keyword arguments.
    """

    _kind = "thread"

    def __init__(
        self,
        handler: Union[_Base, PathLike],
        queue_size: int = 10_000,
        sync_level: Optional[Union[int, str]] = logging.ERROR,
        fallback_on_full: bool = True,
        **clh_kwargs: Any,
    ) -> None:
        if not isinstance(fallback_on_full, bool):
            raise ValueError(f"fallback_on_full={fallback_on_full!r}: expected True or False")
        base = _base_options(handler, "NonBlockingConcurrentHandler", clh_kwargs)
        options = queue_options(
            base,
            queue_size=queue_size,
            sync_level=sync_level,
            fallback="block" if fallback_on_full else "drop",
        )
        self.handler: Optional[logging.Handler] = (
            handler if isinstance(handler, logging.Handler) else None
        )
        self.queue_size = queue_size
        self.sync_level = options["sync_level"]
        self.fallback_on_full = fallback_on_full
        _EngineHandler.__init__(self, options)
        if self.handler is not None and self.handler.formatter is not None:
            self.formatter = self.handler.formatter

    def start(self) -> None:
        """Take records again after ``stop()`` (the handler starts
        running)."""
        self._engine.start()

    def stop(self) -> None:
        """Stop taking records and write everything queued (waiting at most
        ``close_timeout`` seconds). Records logged while stopped are dropped
        and counted. ``start()`` resumes."""
        try:
            self._engine.stop(self.close_timeout)
        except TimeoutError:
            self._report_unwritten()


def create_nonblocking_handler(
    filename: PathLike, use_timed: bool = False, **kwargs: Any
) -> NonBlockingConcurrentHandler:
    """A ``NonBlockingConcurrentHandler`` for ``filename``: ``queue_size``,
    ``sync_level`` and ``fallback_on_full`` go to it, every other keyword to
    ``ConcurrentTimedRotatingFileHandler`` (``use_timed=True``) or
    ``ConcurrentRotatingFileHandler``."""
    queue = {k: kwargs.pop(k) for k in ("queue_size", "sync_level", "fallback_on_full") if k in kwargs}
    if use_timed:
        options = timed_options(filename, **kwargs)
    else:
        options = rotating_options(filename, **kwargs)
    return NonBlockingConcurrentHandler(_Settings(options), **queue)  # type: ignore[arg-type]
