//! [`WriterGuard`]: drains a queued handler when `main` ends, the way
//! tracing-appender's `WorkerGuard` does.

use std::time::Duration;

use super::queued::QueuedHandle;

/// How long dropping a [`WriterGuard`] (and
/// [`stop`](crate::NonBlockingConcurrentHandler::stop)) waits for the writer
/// to drain.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Keeps a queued handler's writer running; when dropped, drains everything
/// accepted and stops it (waiting at most [`DEFAULT_STOP_TIMEOUT`]), so a
/// `main` that returns normally loses nothing.
///
/// [`NonBlockingConcurrentHandlerBuilder::build`](crate::NonBlockingConcurrentHandlerBuilder::build)
/// returns one; for the async handler ask
/// [`AsyncConcurrentHandler::guard`](crate::AsyncConcurrentHandler::guard),
/// which is handy when the handler lives in app state or a global
/// subscriber and `main` has no natural place to await
/// [`shutdown`](crate::AsyncConcurrentHandler::shutdown). Dropping a thread
/// handler's guard [`stop`](crate::NonBlockingConcurrentHandler::stop)s it
/// (it can be started again); dropping an async handler's guard shuts it
/// down. Either way the dropping thread blocks until the drain is done. At
/// the end of `#[tokio::main]` that is what you want and it is safe: the
/// writer is a thread of its own, and on a multi-thread runtime the worker's
/// other tasks are moved away first. Elsewhere inside async code, prefer
/// awaiting [`shutdown`](crate::AsyncConcurrentHandler::shutdown).
///
/// Bind it to a name that lives as long as `main`: `let _guard = …`. Binding
/// it to `_` drops it at once and stops the writer.
///
/// What it cannot cover: `std::process::exit` skips destructors. The crate
/// then gives each handler a last flush of at most two seconds from an exit
/// hook, and says on stderr how many records were not written (they are
/// counted as dropped). An abort, `panic = "abort"` or SIGKILL runs no hook:
/// records still queued then are lost (records at or above `sync_level`
/// were already written).
///
/// ```
/// use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
///
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("app.log");
/// let handler = AsyncConcurrentHandler::builder(&log).build()?;
/// let guard = handler.guard();
/// tokio::runtime::Runtime::new()?.block_on(async {
///     handler.emit(Record::new(Level::Info, "served"));
/// });
/// drop(guard); // what the end of `main` does
/// assert!(std::fs::read_to_string(&log)?.contains("served"));
/// assert!(handler.is_closed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the guard stops the writer; bind it to a name, not _"]
pub struct WriterGuard {
    queued: QueuedHandle,
    ends: Ending,
    timeout: Duration,
}

/// What dropping the guard does to the handler.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Stop the thread handler (it may be started again).
    Stop,
    /// Shut the async handler down.
    Shutdown,
}

impl WriterGuard {
    pub(crate) fn stopping(queued: QueuedHandle) -> WriterGuard {
        WriterGuard {
            queued,
            ends: Ending::Stop,
            timeout: DEFAULT_STOP_TIMEOUT,
        }
    }

    pub(crate) fn shutting_down(queued: QueuedHandle) -> WriterGuard {
        WriterGuard {
            queued,
            ends: Ending::Shutdown,
            timeout: DEFAULT_STOP_TIMEOUT,
        }
    }

    /// How long the drop waits for the writer to drain (default
    /// [`DEFAULT_STOP_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl std::fmt::Debug for WriterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterGuard")
            .field("path", &self.queued.path())
            .field("ends", &self.ends)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let ended = match self.ends {
            Ending::Stop => self.queued.stop_blocking(Some(self.timeout)),
            Ending::Shutdown => self.queued.shutdown_blocking(Some(self.timeout)),
        };
        if let Err(error) = ended {
            // Drop cannot return the error: report it like a write error.
            self.queued.report(&error);
        }
    }
}
