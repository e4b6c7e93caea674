"""Multi-process-safe rotating log handlers for Python ``logging``, on the
Rust engine of the ``concurrent-log-handler`` crate.

The files are Python ``concurrent-log-handler``'s (same lock file, backup
names and line bytes), so processes using either package can share a log.

- ``ConcurrentRotatingFileHandler``, ``ConcurrentTimedRotatingFileHandler``:
  Python CLH's classes and arguments; ``emit`` returns once the line is in
  the file.
- ``NonBlockingConcurrentHandler`` (``create_nonblocking_handler``): ``emit``
  queues; a Rust thread writes, outside the GIL.
- ``AsyncConcurrentHandler`` (``create_async_concurrent_handler``): for
  asyncio; ``await handler.emit_wait(record)`` resolves once it is written.
"""

from ._asyncio import AsyncConcurrentHandler, create_async_concurrent_handler
from ._engine import HandlerClosedError, LogWriteError
from ._handlers import (
    ConcurrentRotatingFileHandler,
    ConcurrentTimedRotatingFileHandler,
    NonBlockingConcurrentHandler,
    create_nonblocking_handler,
)

__all__ = [
    "AsyncConcurrentHandler",
    "ConcurrentRotatingFileHandler",
    "ConcurrentTimedRotatingFileHandler",
    "HandlerClosedError",
    "LogWriteError",
    "NonBlockingConcurrentHandler",
    "create_async_concurrent_handler",
    "create_nonblocking_handler",
]

__version__ = "0.1.0"
