//! [`NonBlockingConcurrentHandler`]: the queued handler for code without a
//! tokio runtime.
//!
//! The same queue and writer thread as the async handler; what differs is
//! the face: blocking `emit_wait` and `flush`, a [`WriterGuard`] that drains
//! on drop, and `stop()`/`start()` to pause and resume (the lifecycle of
//! Python CLH's queue handler).

use std::time::Duration;

use super::builder::{Builder, Threaded};
use super::guard::{DEFAULT_STOP_TIMEOUT, WriterGuard};
use super::methods::queued_handler_methods;
use super::queued::{QueuedHandle, Settings};
use super::{FallbackMode, TryEmitError};
use crate::error::{Error, Result};
use crate::record::{Level, Record};
use crate::stats::Stats;

/// Default [`sync_level`](NonBlockingConcurrentHandlerBuilder::sync_level) of
/// the thread handler (Python `logging.ERROR`, as Python CLH's queue handler).
pub const DEFAULT_THREAD_SYNC_LEVEL: Level = Level::Error;
/// Default [`fallback_mode`](NonBlockingConcurrentHandlerBuilder::fallback_mode)
/// of the thread handler: nothing is lost, a caller waits when the queue is
/// full (Python CLH's `fallback_on_full`).
pub const DEFAULT_THREAD_FALLBACK_MODE: FallbackMode = FallbackMode::Block;

/// A cheap, cloneable handle to a multi-process-safe rotating log written by
/// a background thread, for code without a tokio runtime.
///
/// | method | what it does |
/// |---|---|
/// | [`emit`](Self::emit) | queue the record; a full queue follows the [`FallbackMode`] (default `Block`: wait for room); records at or above `sync_level` (default `Error`) are written before it returns |
/// | [`try_emit`](Self::try_emit) | queue it if there is room now, else hand it back |
/// | [`emit_wait`](Self::emit_wait) | queue it and return once its batch was written (or failed) |
/// | [`flush`](Self::flush) | return once everything accepted before is written |
/// | [`stop`](Self::stop), [`stop_timeout`](Self::stop_timeout) | refuse new records, write everything accepted; [`start`](Self::start) accepts them again |
///
/// Either way a thread's records reach the log in the order it emitted them.
/// The handler works in a child made by `fork()` too (Python's
/// `multiprocessing` fork start method): the child starts its own writer at
/// its first use, and writes its own records only.
///
/// ```
/// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
///
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("app.log");
/// let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
///     .max_bytes(10 << 20)
///     .backup_count(5)
///     .build()?;
/// handler.emit(Record::new(Level::Info, "queued"));
/// handler.emit_wait(Record::new(Level::Warn, "on disk when this returns"))?;
/// drop(guard); // drains and stops the writer
///
/// let text = std::fs::read_to_string(&log)?;
/// assert_eq!(text.lines().count(), 2);
/// assert_eq!(handler.stats().written, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NonBlockingConcurrentHandler {
    queued: QueuedHandle,
}

impl std::fmt::Debug for NonBlockingConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.queued.fmt_as("NonBlockingConcurrentHandler", f)
    }
}

impl NonBlockingConcurrentHandler {
    /// Starts configuring a handler for the log at `path`; see the builder
    /// for the options and their defaults.
    pub fn builder(path: impl AsRef<std::path::Path>) -> NonBlockingConcurrentHandlerBuilder {
        Builder::with(Settings::new(
            path.as_ref(),
            DEFAULT_THREAD_FALLBACK_MODE,
            Some(DEFAULT_THREAD_SYNC_LEVEL),
        ))
    }

    /// Logs `record`: formats it here and queues it. A record at or above
    /// `sync_level` is queued behind this thread's earlier records and
    /// written before `emit` returns; when the queue is full the
    /// [`FallbackMode`] decides (`Block`: wait for room; `Drop`: drop and
    /// count it). After [`stop`](Self::stop), the record is dropped and
    /// counted. Nothing is returned: what happened is counted in [`Stats`],
    /// and write errors are reported (at most once a second). Use
    /// [`try_emit`](Self::try_emit) or [`emit_wait`](Self::emit_wait) to
    /// learn the outcome.
    pub fn emit(&self, record: Record) {
        self.queued.emit(record);
    }

    queued_handler_methods!(NonBlockingConcurrentHandlerBuilder);

    /// Logs `record` and returns once the batch holding it was written under
    /// the lock (and synced, with `durable`), blocking the calling thread.
    /// Concurrent callers share batches; a caller alone in waiting on an
    /// idle handler appends its line itself, as
    /// [`AsyncConcurrentHandler::emit_wait`](crate::AsyncConcurrentHandler::emit_wait) describes.
    ///
    /// # Errors
    ///
    /// As [`AsyncConcurrentHandler::emit_wait`](crate::AsyncConcurrentHandler::emit_wait).
    pub fn emit_wait(&self, record: Record) -> Result<()> {
        self.queued.emit_wait_blocking(record)
    }

    /// Blocks until everything queued before the call is written and any pending
    /// drop report is in the log.
    ///
    /// # Errors
    ///
    /// The last write error, if lines are still failing (or, with `durable`,
    /// lines nobody waited for could not be synced since the last answer);
    /// each failure is answered once, as
    /// [`AsyncConcurrentHandler::flush`](crate::AsyncConcurrentHandler::flush)
    /// says. [`ErrorKind::Closed`](crate::ErrorKind::Closed) when the handler
    /// is stopped.
    pub fn flush(&self) -> Result<()> {
        self.queued.flush_blocking()
    }

    /// [`flush`](Self::flush), waiting at most `timeout`: for code that must
    /// not hang when another process keeps the log's lock (an interpreter
    /// or service shutting down). The records keep their place in the queue
    /// when it times out; the writer goes on with them.
    ///
    /// ```
    /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let (handler, _guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
    /// handler.emit(Record::new(Level::Info, "queued"));
    /// handler.flush_timeout(Duration::from_secs(10))?;
    /// assert_eq!(handler.stats().written, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`flush`](Self::flush), and
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the records
    /// accepted before the call were not all written in time.
    pub fn flush_timeout(&self, timeout: Duration) -> Result<()> {
        self.queued.flush_blocking_within(timeout)
    }

    /// Rotates the log now, once everything accepted before is written; see
    /// [`AsyncConcurrentHandler::rotate_now`](crate::AsyncConcurrentHandler::rotate_now).
    ///
    /// # Errors
    ///
    /// The rotation's error, or [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// when stopped.
    pub fn rotate_now(&self) -> Result<()> {
        self.queued.rotate_now_blocking()
    }

    /// Stops accepting records and writes everything accepted before
    /// (records racing this call from other threads included: each is
    /// either written or dropped and counted), lets background compressions
    /// finish, waiting at most [`DEFAULT_STOP_TIMEOUT`] for all of it. The
    /// writer thread stays, idle, for [`start`](Self::start). Harmless when
    /// already stopped.
    ///
    /// # Errors
    ///
    /// As [`stop_timeout`](Self::stop_timeout).
    pub fn stop(&self) -> Result<()> {
        self.queued.stop_blocking(Some(DEFAULT_STOP_TIMEOUT))
    }

    /// [`stop`](Self::stop), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// The last write error of the drain (answered once, as in
    /// [`flush`](Self::flush)), or
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the writer did
    /// not finish in time (it goes on in the background; the handler stays
    /// stopped until [`start`](Self::start)).
    pub fn stop_timeout(&self, timeout: Duration) -> Result<()> {
        self.queued.stop_blocking(Some(timeout))
    }

    /// Accepts records again after [`stop`](Self::stop), also after a stop
    /// that timed out (what it was draining is written as well); does
    /// nothing while running.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed) in a forked child
    /// whose writer could not be started (that error was reported).
    pub fn start(&self) -> Result<()> {
        self.queued.start_again()
    }

    /// Whether the handler refuses records: between [`stop`](Self::stop) and
    /// [`start`](Self::start).
    pub fn is_closed(&self) -> bool {
        self.queued.is_closed()
    }
}

/// Configures a [`NonBlockingConcurrentHandler`].
///
/// | option | default |
/// |---|---|
/// | [`max_bytes`](Builder::max_bytes) | 0 (never rotate) |
/// | [`backup_count`](Builder::backup_count) | 5 |
/// | [`queue_capacity`](Builder::queue_capacity) | 10,000 records |
/// | [`fallback_mode`](Builder::fallback_mode) | [`DEFAULT_THREAD_FALLBACK_MODE`] (`Block`) |
/// | [`sync_level`](Builder::sync_level) | [`DEFAULT_THREAD_SYNC_LEVEL`] (`Error`) |
/// | [`lock_file_directory`](Builder::lock_file_directory) | beside the log |
/// | [`create_dirs`](Builder::create_dirs) | `true` |
/// | [`file_mode`](Builder::file_mode) | `0o644`, before the umask |
/// | [`durable`](Builder::durable) | `false` |
/// | [`rotate_every`](Builder::rotate_every) | off (size rotation only) |
/// | [`rotate_in_utc`](Builder::rotate_in_utc) | `false` (local time) |
/// | [`compression`](Builder::compression) | off |
/// | [`max_age`](Builder::max_age) | off |
/// | [`clock`](Builder::clock) | the system clock |
/// | [`formatter`](Builder::formatter) | [`TextFormatter`](crate::format::TextFormatter), local time |
/// | [`filter`](Builder::filter) | none: every record is logged |
pub type NonBlockingConcurrentHandlerBuilder = Builder<Threaded>;

/// What only the thread handler takes.
impl Builder<Threaded> {
    /// Opens the log and starts the writer thread (`clh-writer`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for
    /// settings that make no sense (`FallbackMode::Nowait` among them: it
    /// writes on a tokio runtime's blocking pool), the error that stopped the
    /// log or lock file from opening, or
    /// [`ErrorKind::Spawn`](crate::ErrorKind::Spawn).
    pub fn build(self) -> Result<(NonBlockingConcurrentHandler, WriterGuard)> {
        if self.settings.fallback_mode == FallbackMode::Nowait {
            return Err(Error::invalid_config(
                "fallback_mode nowait is only for the async handler (it writes on a tokio \
                 runtime's blocking pool); the thread handler takes drop or block",
            ));
        }
        let handler = NonBlockingConcurrentHandler {
            queued: QueuedHandle::start(self.settings, None)?,
        };
        let guard = WriterGuard::stopping(handler.queued.clone());
        Ok((handler, guard))
    }
}

/// A thread handler with the defaults of Python CLH's queue handler (queue
/// of 10,000, `sync_level` `Error`, `Block` when full) rotating at
/// `max_bytes` with `backup_count` backups. Use the builder for anything else.
///
/// # Errors
///
/// As [`NonBlockingConcurrentHandlerBuilder::build`].
pub fn create_nonblocking_handler(
    path: impl AsRef<std::path::Path>,
    max_bytes: u64,
    backup_count: usize,
) -> Result<(NonBlockingConcurrentHandler, WriterGuard)> {
    NonBlockingConcurrentHandler::builder(path)
        .max_bytes(max_bytes)
        .backup_count(backup_count)
        .build()
}
