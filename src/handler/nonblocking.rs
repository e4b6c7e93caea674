//! [`NonBlockingConcurrentHandler`]: the shared queue and writer thread, for
//! code without a tokio runtime.
//!
//! `emit` formats the record in the caller and pushes its bytes into the
//! bounded queue ([`crate::queue`]); the writer thread
//! ([`crate::writer::thread`]) writes them in batches, exactly as for the
//! async handler. What differs is the face: blocking `flush` and `stop`, a
//! [`WriterGuard`] that drains on drop, and `stop()`/`start()` to pause and
//! resume (the lifecycle of Python CLH's queue handler).
//!
//! This module knows nothing of tokio's runtime or of file internals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::intake::{self, Admission, admit};
use crate::error::{Error, Result};
use crate::file::{FileConfig, file_options};
use crate::fork::PerProcess;
use crate::format::{Formatter, TextFormatter};
use crate::queue::Msg;
use crate::queue::{MAX_QUEUE_CAPACITY, Queue, Refused, queue};
use crate::record::{Level, Record};
use crate::stats::{Stats, add};
use crate::sync::block_on_until;
use crate::writer::{BatchWriter, Core};

/// Default [`sync_level`](NonBlockingConcurrentHandlerBuilder::sync_level) of
/// the thread handler (Python `logging.ERROR`, as Python CLH's queue handler).
pub const DEFAULT_THREAD_SYNC_LEVEL: Level = Level::Error;
/// How long dropping a [`WriterGuard`] waits for the writer to drain.
pub const DEFAULT_GUARD_TIMEOUT: Duration = Duration::from_secs(10);

/// A cheap, cloneable handle to a rotating log written by a background thread.
///
/// `emit` never waits for the file lock unless you asked for it: records at or
/// above `sync_level` (default `Error`) are written before `emit` returns,
/// and when the queue is full the caller waits for room
/// (`fallback_on_full(true)`, the default) or the record is dropped and
/// counted. Either way a thread's records reach the log in the order it
/// emitted them.
///
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
/// handler.emit(Record::new(Level::Info, "queued"))?;
/// handler.emit(Record::new(Level::Error, "written before emit returns"))?;
/// handler.flush()?;
/// drop(guard); // drains and stops the writer
///
/// let text = std::fs::read_to_string(&log)?;
/// assert_eq!(text.lines().count(), 2);
/// assert_eq!(handler.stats().written, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NonBlockingConcurrentHandler {
    shared: Arc<Shared>,
}

struct Shared {
    settings: Arc<Settings>,
    /// The queue and writer of this process (see [`crate::fork`]).
    state: PerProcess<Inner>,
}

/// Everything needed to build the handler again (in a forked child).
struct Settings {
    file: FileConfig,
    formatter: Arc<dyn Formatter>,
    queue_capacity: usize,
    sync_level: Option<Level>,
    fallback_on_full: bool,
}

struct Inner {
    queue: Queue,
    core: Arc<Core>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for NonBlockingConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.shared.settings;
        f.debug_struct("NonBlockingConcurrentHandler")
            .field("path", &self.shared.state.first().core.path)
            .field("sync_level", &settings.sync_level)
            .field("fallback_on_full", &settings.fallback_on_full)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn start(settings: Arc<Settings>) -> Result<Inner> {
        let core = Core::open(&settings.file, Arc::clone(&settings.formatter))?;
        let (queue, inbox) = queue(settings.queue_capacity);
        crate::writer::thread::spawn(inbox, BatchWriter::new(Arc::clone(&core)))?;
        Ok(Inner {
            queue,
            core,
            settings,
        })
    }

    fn emit_line(&self, level: Level, line: Vec<u8>) -> Result<()> {
        let closed = self.queue.is_closed();
        let line = match admit(&self.core, level, line, closed, self.settings.sync_level) {
            Admission::Queue(line) => line,
            Admission::Sync(line) => return self.write_and_wait(line),
            Admission::Empty => return Ok(()),
            Admission::Closed => return Err(Error::Closed),
        };
        let counters = &self.core.counters;
        match self.queue.try_push(Msg::Line(line)) {
            Ok(()) => {
                add(&counters.queued, 1);
                Ok(())
            }
            Err(Refused::Full(msg)) if self.settings.fallback_on_full => {
                add(&counters.waited, 1);
                self.push_counted(self.queue.push_waiting(msg, false, None))
            }
            Err(Refused::Full(_)) => {
                add(&counters.dropped, 1);
                Err(Error::QueueFull)
            }
            Err(Refused::Closed) => {
                add(&counters.dropped, 1);
                Err(Error::Closed)
            }
        }
    }

    /// Counts a record's push: queued, or dropped because the queue closed.
    fn push_counted(&self, pushed: std::result::Result<(), Refused>) -> Result<()> {
        let counters = &self.core.counters;
        match pushed {
            Ok(()) => {
                add(&counters.queued, 1);
                Ok(())
            }
            Err(_) => {
                add(&counters.dropped, 1);
                Err(Error::Closed)
            }
        }
    }

    /// A `sync_level` record: queued behind the caller's earlier records,
    /// and waited for.
    fn write_and_wait(&self, line: Vec<u8>) -> Result<()> {
        let (waiter, outcome) = oneshot::channel();
        let msg = Msg::Confirmed(line, waiter);
        self.push_counted(self.queue.push_waiting(msg, false, None))?;
        self.queue.nudge();
        wait(outcome, None).unwrap_or(Err(Error::Closed))
    }

    fn stop_until(&self, deadline: Option<Instant>) -> Result<()> {
        self.queue.close();
        let (waiter, outcome) = oneshot::channel();
        match self.queue.push_waiting(Msg::Stop(waiter), true, deadline) {
            Ok(()) => {}
            Err(Refused::Full(_)) => return Err(Error::StopTimeout),
            Err(Refused::Closed) => return Err(Error::Closed),
        }
        self.queue.nudge();
        wait(outcome, deadline).unwrap_or(Err(Error::StopTimeout))
    }
}

/// Blocks for a writer's answer until `deadline`; `None` at the deadline.
/// A waiter dropped unanswered (the writer recovered from a panic) reads
/// as `Closed`.
fn wait(outcome: oneshot::Receiver<Result<()>>, deadline: Option<Instant>) -> Option<Result<()>> {
    block_on_until(outcome, deadline).map(|answer| answer.unwrap_or(Err(Error::Closed)))
}

impl NonBlockingConcurrentHandler {
    /// Starts configuring a handler for the log at `path`.
    pub fn builder(path: impl AsRef<std::path::Path>) -> NonBlockingConcurrentHandlerBuilder {
        NonBlockingConcurrentHandlerBuilder {
            file: FileConfig::new(path.as_ref().to_path_buf()),
            formatter: Arc::new(TextFormatter::new()),
            queue_capacity: crate::DEFAULT_QUEUE_CAPACITY,
            sync_level: Some(DEFAULT_THREAD_SYNC_LEVEL),
            fallback_on_full: true,
        }
    }

    /// This process's queue and writer: those built, or in a forked child
    /// those it built for itself at its first use.
    fn current_or_none(&self) -> Option<&Inner> {
        let settings = &self.shared.settings;
        self.shared.state.get(
            || Inner::start(Arc::clone(settings)),
            crate::report::report_to_stderr,
        )
    }

    fn current(&self) -> Result<&Inner> {
        self.current_or_none().ok_or(Error::Closed)
    }

    /// Logs `record`: queues it, or, when its level is at or above
    /// `sync_level`, queues it and waits until it is written. When the queue
    /// is full, `fallback_on_full(true)` waits for room, `false` drops it.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] after [`stop`](Self::stop); [`Error::QueueFull`] when the
    /// queue was full and `fallback_on_full` is off; the write error of a
    /// `sync_level` record; [`Error::FormatterPanicked`]. Each is also counted
    /// in [`Stats`].
    pub fn emit(&self, record: Record) -> Result<()> {
        let inner = self.current()?;
        // Skip formatting what would be dropped anyway.
        if inner.queue.is_closed() {
            inner.core.count_closed_drop();
            return Err(Error::Closed);
        }
        let Some(line) = intake::format(&inner.core, &record) else {
            return Err(Error::FormatterPanicked);
        };
        inner.emit_line(record.level(), line)
    }

    /// [`emit`](Self::emit) for a line formatted elsewhere (the `tracing` fmt
    /// writer): same counters, `sync_level` and fallback. A missing final `\n`
    /// is added; an empty line is not logged.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn emit_line(&self, level: Level, line: Vec<u8>) -> Result<()> {
        self.current()?.emit_line(level, line)
    }

    /// Blocks until everything queued before the call is written and any pending
    /// drop report is in the log.
    ///
    /// # Errors
    ///
    /// The last write error, if lines are still failing; [`Error::Closed`] when
    /// the handler is stopped.
    pub fn flush(&self) -> Result<()> {
        let inner = self.current()?;
        let (waiter, outcome) = oneshot::channel();
        match inner.queue.push_waiting(Msg::Flush(waiter), false, None) {
            Ok(()) => {}
            Err(_) => return Err(Error::Closed),
        }
        inner.queue.nudge();
        wait(outcome, None).unwrap_or(Err(Error::Closed))
    }

    /// Stops accepting records, writes everything accepted before (records
    /// racing this call from other threads included: each is either written
    /// or refused with [`Error::Closed`]) and lets background compressions
    /// finish, waiting at most `timeout` for all of it. Emits after this
    /// return [`Error::Closed`] and are counted as dropped. Harmless when
    /// already stopped.
    ///
    /// # Errors
    ///
    /// The last write error of the drain, or [`Error::StopTimeout`] when the
    /// writer did not finish in time (it goes on in the background; the
    /// handler stays stopped until [`start`](Self::start)).
    pub fn stop_timeout(&self, timeout: Duration) -> Result<()> {
        self.current()?.stop_until(Some(Instant::now() + timeout))
    }

    /// [`stop_timeout`](Self::stop_timeout) without a deadline: waits as long
    /// as the writer needs (for example while another process holds the
    /// lock).
    ///
    /// # Errors
    ///
    /// As [`stop_timeout`](Self::stop_timeout), without `StopTimeout`.
    pub fn stop(&self) -> Result<()> {
        self.current()?.stop_until(None)
    }

    /// Accepts records again after [`stop`](Self::stop) (also after a stop
    /// that timed out: what it was draining is written as well); does
    /// nothing while running.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] in a forked child whose writer could not be
    /// started (that error was reported).
    pub fn start(&self) -> Result<()> {
        self.current()?.queue.reopen();
        Ok(())
    }

    /// Whether records are accepted: `false` between [`stop`](Self::stop)
    /// and [`start`](Self::start).
    pub fn is_running(&self) -> bool {
        self.current_or_none()
            .is_some_and(|inner| !inner.queue.is_closed())
    }

    /// A snapshot of the queue and the counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let inner = self.current_or_none().unwrap_or(self.shared.state.first());
        inner
            .core
            .counters
            .snapshot(inner.queue.depth(), inner.queue.capacity())
    }

    /// The absolute path of the log file.
    pub fn path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.path.clone()
    }

    /// The path of the lock file.
    pub fn lock_path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.lock_path.clone()
    }

    fn report(&self, error: &Error) {
        match self.current_or_none() {
            Some(inner) => inner.core.errors.report(error),
            None => crate::report::report_to_stderr(error),
        }
    }
}

/// Keeps the writer thread of a [`NonBlockingConcurrentHandler`] running; when
/// dropped, drains everything accepted and stops it (waiting at most
/// [`DEFAULT_GUARD_TIMEOUT`]), so a `main` that returns normally loses nothing.
///
/// Bind it to a name that lives as long as `main`: `let _guard = …`. Binding it
/// to `_` drops it at once and stops the writer.
///
/// What it cannot cover: `std::process::exit` and an abort skip destructors, so
/// records still queued then are lost (records at or above `sync_level` were
/// already written). A panic that unwinds through `main` drops the guard and
/// drains; with `panic = "abort"` nothing is drained. Call
/// [`NonBlockingConcurrentHandler::stop`] before `exit` to be sure.
#[must_use = "dropping the guard stops the writer; bind it to a name, not _"]
pub struct WriterGuard {
    handler: NonBlockingConcurrentHandler,
    timeout: Duration,
}

impl WriterGuard {
    /// How long the drop waits for the writer to drain (default
    /// [`DEFAULT_GUARD_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl std::fmt::Debug for WriterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterGuard")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if let Err(error) = self.handler.stop_timeout(self.timeout) {
            // Drop cannot return the error: report it like a write error.
            self.handler.report(&error);
        }
    }
}

/// Configures a [`NonBlockingConcurrentHandler`].
///
/// | option | default |
/// |---|---|
/// | [`max_bytes`](Self::max_bytes) | 0 (never rotate) |
/// | [`backup_count`](Self::backup_count) | 5 |
/// | [`queue_capacity`](Self::queue_capacity) | 10,000 records |
/// | [`sync_level`](Self::sync_level) | [`DEFAULT_THREAD_SYNC_LEVEL`] (`Error`) |
/// | [`fallback_on_full`](Self::fallback_on_full) | `true` (write in the caller) |
/// | [`lock_file_directory`](Self::lock_file_directory) | beside the log |
/// | [`create_dirs`](Self::create_dirs) | `true` |
/// | [`file_mode`](Self::file_mode) | `0o644`, before the umask |
/// | [`durable`](Self::durable) | `false` |
/// | [`rotate_every`](Self::rotate_every) | off (size rotation only) |
/// | [`rotate_in_utc`](Self::rotate_in_utc) | `false` (local time) |
/// | [`compression`](Self::compression) | off |
/// | [`max_age`](Self::max_age) | off |
/// | [`clock`](Self::clock) | the system clock |
/// | [`formatter`](Self::formatter) | [`TextFormatter`], local time |
#[derive(Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct NonBlockingConcurrentHandlerBuilder {
    file: FileConfig,
    formatter: Arc<dyn Formatter>,
    queue_capacity: usize,
    sync_level: Option<Level>,
    fallback_on_full: bool,
}

impl std::fmt::Debug for NonBlockingConcurrentHandlerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonBlockingConcurrentHandlerBuilder")
            .field("file", &self.file)
            .field("queue_capacity", &self.queue_capacity)
            .field("sync_level", &self.sync_level)
            .field("fallback_on_full", &self.fallback_on_full)
            .finish_non_exhaustive()
    }
}

impl NonBlockingConcurrentHandlerBuilder {
    file_options!();

    /// How many records the queue holds (at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Records at or above this level are written in the caller before `emit`
    /// returns; `None` queues every level.
    pub fn sync_level(mut self, level: impl Into<Option<Level>>) -> Self {
        self.sync_level = level.into();
        self
    }

    /// When the queue is full: `true` writes the record in the caller (nothing
    /// lost, the caller waits for the lock), `false` drops and counts it.
    pub fn fallback_on_full(mut self, fallback: bool) -> Self {
        self.fallback_on_full = fallback;
        self
    }

    /// Opens the log and starts the writer thread (`clh-writer`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`], the error that stopped the log or lock file
    /// from opening, or [`Error::Spawn`].
    pub fn build(self) -> Result<(NonBlockingConcurrentHandler, WriterGuard)> {
        if self.queue_capacity == 0 || self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(Error::invalid_config(format!(
                "queue_capacity must be between 1 and {MAX_QUEUE_CAPACITY}, not {}",
                self.queue_capacity
            )));
        }
        let settings = Arc::new(Settings {
            file: self.file,
            formatter: self.formatter,
            queue_capacity: self.queue_capacity,
            sync_level: self.sync_level,
            fallback_on_full: self.fallback_on_full,
        });
        let inner = Inner::start(Arc::clone(&settings))?;
        let handler = NonBlockingConcurrentHandler {
            shared: Arc::new(Shared {
                settings,
                state: PerProcess::new(inner),
            }),
        };
        let guard = WriterGuard {
            handler: handler.clone(),
            timeout: DEFAULT_GUARD_TIMEOUT,
        };
        Ok((handler, guard))
    }
}

/// A thread handler with the seed design's defaults (queue of 10,000,
/// `sync_level` `Error`, fallback on full) rotating at `max_bytes` with
/// `backup_count` backups. Use the builder for anything else.
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
