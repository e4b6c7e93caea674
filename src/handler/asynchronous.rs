//! [`AsyncConcurrentHandler`]: the queued handler for tokio code.
//!
//! `emit` pushes the record (or, when the writer is behind, its formatted
//! bytes) into the bounded queue ([`crate::queue`]) without awaiting; the
//! writer thread ([`crate::writer::thread`]) formats and writes them in
//! batches. `emit_wait`, `flush`
//! and `shutdown` await room in the queue and the writer's answer, so they
//! never block a runtime thread. Only the paths the caller asked to be
//! blocking (`sync_level`, `FallbackMode::Block`) block, inside
//! `block_in_place` on a multi-thread runtime.

use std::time::Duration;

use tokio::runtime::Handle;

use super::builder::{Async, Builder};
use super::methods::queued_handler_methods;
use super::queued::{QueuedHandle, Settings};
use super::{FallbackMode, TryEmitError};
use crate::error::{Error, ErrorKind, Result};
use crate::record::{Level, Record};
use crate::stats::Stats;

/// Default [`queue_capacity`](AsyncConcurrentHandlerBuilder::queue_capacity)
/// of both queued handlers.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default [`sync_level`](AsyncConcurrentHandlerBuilder::sync_level) of the
/// async handler.
pub const DEFAULT_ASYNC_SYNC_LEVEL: Level = Level::Critical;
/// Default [`fallback_mode`](AsyncConcurrentHandlerBuilder::fallback_mode)
/// of the async handler: a request handler never waits for the log.
pub const DEFAULT_ASYNC_FALLBACK_MODE: FallbackMode = FallbackMode::Drop;
/// Default [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit).
pub const DEFAULT_NOWAIT_LIMIT: usize = 64;
/// The largest [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit):
/// each write in flight may hold one of the blocking pool's threads.
pub const MAX_NOWAIT_LIMIT: usize = 512;

/// A cheap, cloneable handle to a multi-process-safe rotating log, for tokio
/// code: `emit` never awaits, `emit_wait` awaits until the record is on disk.
///
/// A bounded queue feeds one writer thread, which writes each batch under
/// one lock. Clones share the queue; keep one in your axum or actix state.
///
/// | method | what it does |
/// |---|---|
/// | [`emit`](Self::emit) | queue the record; a full queue follows the [`FallbackMode`]; records at or above `sync_level` are written before it returns |
/// | [`try_emit`](Self::try_emit) | queue it if there is room now, else hand it back |
/// | [`emit_wait`](Self::emit_wait)`.await` | queue it and resolve once its batch was written (or failed) |
/// | [`flush`](Self::flush)`.await` | resolve once everything accepted before is written |
/// | [`shutdown`](Self::shutdown)`.await` | refuse new records, write everything accepted, stop the writer |
/// | [`shutdown_timeout`](Self::shutdown_timeout)`.await`, [`blocking_shutdown`](Self::blocking_shutdown) | the same, with a deadline; the second from code that is not async |
///
/// ```
/// use concurrent_log_handler::{AsyncConcurrentHandler, FallbackMode, Level, Record};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("app.log");
/// let handler = AsyncConcurrentHandler::builder(&log)
///     .max_bytes(10 << 20)
///     .backup_count(5)
///     .fallback_mode(FallbackMode::Drop)
///     .build()?;
///
/// handler.emit(Record::new(Level::Info, "user logged in")); // never awaits
/// handler.emit_wait(Record::new(Level::Error, "payment failed")).await?; // on disk now
/// let text = std::fs::read_to_string(&log)?;
/// assert!(text.contains("user logged in") && text.contains("payment failed"));
///
/// handler.shutdown().await?;
/// assert_eq!(handler.stats().written, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncConcurrentHandler {
    queued: QueuedHandle,
}

impl std::fmt::Debug for AsyncConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.queued.fmt_as("AsyncConcurrentHandler", f)
    }
}

impl AsyncConcurrentHandler {
    /// Starts configuring a handler for the log at `path`; see the builder
    /// for the options and their defaults.
    pub fn builder(path: impl AsRef<std::path::Path>) -> AsyncConcurrentHandlerBuilder {
        Builder::with(Settings::new(
            path.as_ref(),
            DEFAULT_ASYNC_FALLBACK_MODE,
            Some(DEFAULT_ASYNC_SYNC_LEVEL),
        ))
    }

    /// Logs `record` without ever awaiting: formats it here, then queues it.
    ///
    /// A record at or above `sync_level` is queued behind this caller's
    /// earlier records and written before `emit` returns, blocking like
    /// [`FallbackMode::Block`]; async code should prefer
    /// [`emit_wait`](Self::emit_wait) for records it must not lose. When the
    /// queue is full, the [`FallbackMode`] decides. After
    /// [`shutdown`](Self::shutdown), the record is dropped and counted.
    /// Nothing is returned: what happened is counted in [`Stats`], and write
    /// errors are reported (at most once a second).
    pub fn emit(&self, record: Record) {
        self.queued.emit(record);
    }

    queued_handler_methods!(AsyncConcurrentHandlerBuilder);

    /// Logs `record` and resolves once the batch holding it was written under
    /// the lock (and synced, with `durable`), or with that batch's error.
    ///
    /// It awaits room in the queue rather than falling back, so it never blocks
    /// the runtime. Many concurrent callers share one batch: a thousand waiters
    /// cost a handful of lock cycles, not a thousand.
    ///
    /// A caller alone in waiting, on an idle handler (nothing queued or
    /// being written, the log's lock free, no rotation due, not `durable`,
    /// no collector to forward to), appends its line itself, in its own
    /// task: a few microseconds of `flock`, `stat` and `write`, with no
    /// thread to wake and none to wait for. It then comes after everything
    /// queued before it, as always; such a record counts in
    /// [`Stats::emitted`] and [`Stats::written`] but not in
    /// [`Stats::queued`]. Whatever would make it wait (the lock held by
    /// another process) or do more than append goes to the writer thread.
    ///
    /// # Errors
    ///
    /// The error of the batch that held the record (nothing of a failed batch
    /// stays in the file, and the record is not retried: retrying is the
    /// caller's call; with `durable`, a failed sync fails it too, though its
    /// line is in the file), [`ErrorKind::FormatterPanicked`], or
    /// [`ErrorKind::Closed`] after [`shutdown`](Self::shutdown).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before the record was queued leaves it unlogged;
    /// dropping it afterwards still writes the record, and only the outcome is
    /// lost.
    pub async fn emit_wait(&self, record: Record) -> Result<()> {
        self.queued.emit_wait(record).await
    }

    /// Resolves once everything accepted before the call is written, including
    /// `Nowait` writes in flight, and any pending drop report is in the log.
    ///
    /// # Errors
    ///
    /// `Err` means a line accepted since the last `flush` or `stop` answer,
    /// whose caller did not wait for it, did not get where it should: the
    /// batch written with the flush failed, lines still await a retry, or
    /// (with `durable`) lines were written but their sync failed (they are in
    /// the file, counted as written; whether they reached the disk is not
    /// known). Each failure is answered once: one that a waiting caller
    /// (`emit_wait`, `sync_level`) was given is not repeated here.
    /// [`ErrorKind::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels only the wait; the queued records are
    /// written anyway.
    pub async fn flush(&self) -> Result<()> {
        self.queued.flush().await
    }

    /// Rotates the log now, once everything accepted before is written
    /// (flexi_logger's `trigger_rotation`; for example on SIGHUP, after an
    /// operator moved things around). The backup gets the name a rotation by
    /// size or time would give it; a log that is empty is not rotated. Safe
    /// with other processes: it happens under the lock.
    ///
    /// ```
    /// use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log")).build()?;
    /// handler.emit(Record::new(Level::Info, "before"));
    /// handler.rotate_now().await?;
    /// handler.emit(Record::new(Level::Info, "after"));
    /// handler.shutdown().await?;
    /// assert!(std::fs::read_to_string(dir.path().join("app.log.1"))?.contains("before"));
    /// assert!(std::fs::read_to_string(dir.path().join("app.log"))?.contains("after"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The rotation's error (the log is then left as it was), or
    /// [`ErrorKind::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not cancel the rotation once queued.
    pub async fn rotate_now(&self) -> Result<()> {
        self.queued.rotate_now().await
    }

    /// Stops accepting records, writes everything already accepted, stops the
    /// writer, and waits for background compressions of rotated backups to
    /// finish (at most a minute). Every clone of the handle is closed. Every
    /// call, concurrent or later, resolves only once all of that is done,
    /// with the same outcome.
    ///
    /// Dropping the last handle also drains the queue, on the writer thread,
    /// but nothing waits for it then. In an axum or actix service, call this
    /// after the server's graceful shutdown resolved.
    ///
    /// # Errors
    ///
    /// The last write error, if lines accepted before the shutdown could not be
    /// written (they are counted in [`Stats::failed`]), or, with `durable`,
    /// lines nobody waited for were written but their sync failed since the
    /// last [`flush`](Self::flush) answered; as `flush`, each failure is
    /// answered once, and never one a waiting caller was given.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not reopen the handler; the writer still drains
    /// and stops.
    pub async fn shutdown(&self) -> Result<()> {
        self.queued.shutdown().await
    }

    /// [`shutdown`](Self::shutdown), waiting at most `timeout`. Needs no
    /// runtime timer: it works on any executor.
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Self::shutdown), and [`ErrorKind::Timeout`] when the
    /// writer did not finish in time (it goes on in the background).
    ///
    /// # Cancel safety
    ///
    /// As [`shutdown`](Self::shutdown).
    pub async fn shutdown_timeout(&self, timeout: Duration) -> Result<()> {
        self.queued.shutdown_within(timeout).await
    }

    /// [`shutdown`](Self::shutdown) for code that is not async: blocks the
    /// calling thread for at most `timeout`. Use it at the end of `main`
    /// after the runtime is gone, or from a destructor; inside async code,
    /// await [`shutdown`](Self::shutdown) instead (on a multi-thread runtime
    /// this moves the worker's other tasks away first, as `Block` does).
    ///
    /// ```
    /// use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
    /// use std::time::Duration;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let log = dir.path().join("app.log");
    /// let handler = AsyncConcurrentHandler::builder(&log).build()?;
    /// tokio::runtime::Runtime::new()?.block_on(async {
    ///     handler.emit(Record::new(Level::Info, "served"));
    /// }); // the runtime is gone here; the writer is not
    /// handler.blocking_shutdown(Duration::from_secs(10))?;
    /// assert!(std::fs::read_to_string(&log)?.contains("served"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`shutdown_timeout`](Self::shutdown_timeout).
    pub fn blocking_shutdown(&self, timeout: Duration) -> Result<()> {
        self.queued.shutdown_blocking(Some(timeout))
    }

    /// A [`WriterGuard`](crate::WriterGuard) that shuts this handler down
    /// when dropped, blocking for at most
    /// [`DEFAULT_STOP_TIMEOUT`](crate::DEFAULT_STOP_TIMEOUT) (change it with
    /// [`with_timeout`](crate::WriterGuard::with_timeout)). Keep it in
    /// `main` when the handler itself lives in app state or a global
    /// subscriber; its drop blocks until the drain is done (safe at the end
    /// of `#[tokio::main]`).
    pub fn guard(&self) -> crate::WriterGuard {
        crate::WriterGuard::shutting_down(self.queued.clone())
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_closed(&self) -> bool {
        self.queued.is_closed()
    }
}

/// Configures an [`AsyncConcurrentHandler`].
///
/// | option | default |
/// |---|---|
/// | [`max_bytes`](Builder::max_bytes) | 0 (never rotate) |
/// | [`backup_count`](Builder::backup_count) | 5 |
/// | [`queue_capacity`](Builder::queue_capacity) | [`DEFAULT_QUEUE_CAPACITY`] (10,000 records) |
/// | [`fallback_mode`](Builder::fallback_mode) | [`DEFAULT_ASYNC_FALLBACK_MODE`] (`Drop`) |
/// | [`sync_level`](Builder::sync_level) | [`DEFAULT_ASYNC_SYNC_LEVEL`] (`Critical`) |
/// | [`nowait_limit`](Builder::nowait_limit) | [`DEFAULT_NOWAIT_LIMIT`] (64 writes in flight) |
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
pub type AsyncConcurrentHandlerBuilder = Builder<Async>;

/// What only the async handler takes.
impl Builder<Async> {
    /// Most `Nowait` writes in flight on the blocking pool at once (1 to
    /// [`MAX_NOWAIT_LIMIT`]).
    pub fn nowait_limit(mut self, limit: usize) -> Self {
        self.settings.nowait_limit = limit;
        self
    }

    /// Opens the log and starts the writer thread (`clh-writer`). It can be
    /// built anywhere; [`FallbackMode::Nowait`] needs a tokio runtime, whose
    /// blocking pool it writes on.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] for settings that make no sense,
    /// [`ErrorKind::NoRuntime`] for `Nowait` outside a tokio runtime, the
    /// error that stopped the log or lock file from opening, with its path,
    /// or [`ErrorKind::Spawn`].
    pub fn build(self) -> Result<AsyncConcurrentHandler> {
        let settings = self.settings;
        if settings.nowait_limit == 0 || settings.nowait_limit > MAX_NOWAIT_LIMIT {
            return Err(Error::invalid_config(format!(
                "nowait_limit must be between 1 and {MAX_NOWAIT_LIMIT}, not {}",
                settings.nowait_limit
            )));
        }
        let runtime = match settings.fallback_mode {
            FallbackMode::Nowait => {
                Some(Handle::try_current().map_err(|_| Error::plain(ErrorKind::NoRuntime))?)
            }
            _ => None,
        };
        Ok(AsyncConcurrentHandler {
            queued: QueuedHandle::start(settings, runtime)?,
        })
    }
}
