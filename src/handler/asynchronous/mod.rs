//! [`AsyncConcurrentHandler`]: the shared queue and writer thread, for tokio
//! code.
//!
//! `emit` formats the record in the caller and pushes its bytes into the
//! bounded queue ([`crate::queue`]) without awaiting; the writer thread
//! ([`crate::writer::thread`]) writes them in batches. `emit_wait`, `flush`
//! and `shutdown` await room in the queue and the writer's answer, so they
//! never block a runtime thread. Only the paths the caller asked to be
//! blocking (`sync_level`, `FallbackMode::Block`) block, inside
//! `block_in_place` on a multi-thread runtime.
//!
//! This module knows nothing of files: it talks to [`crate::queue`] and
//! [`crate::writer`].

mod nowait;

use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};
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
use crate::writer::thread::Finished;
use crate::writer::{BatchWriter, Core};
use nowait::Nowait;

/// Default [`queue_capacity`](AsyncConcurrentHandlerBuilder::queue_capacity).
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default [`sync_level`](AsyncConcurrentHandlerBuilder::sync_level) of the async handler.
pub const DEFAULT_ASYNC_SYNC_LEVEL: Level = Level::Critical;
/// Default [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit).
pub const DEFAULT_NOWAIT_LIMIT: usize = 64;
/// The largest [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit):
/// each write in flight may hold one of the blocking pool's threads.
pub const MAX_NOWAIT_LIMIT: usize = 512;

/// What [`emit`](AsyncConcurrentHandler::emit) does with a record when the queue
/// is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FallbackMode {
    /// Discard it and count it in [`Stats::dropped`]. Drops are also reported
    /// into the log as a warning line. Never blocks.
    #[default]
    Drop,
    /// Write it in the calling thread, waiting for the file lock. On a
    /// multi-thread runtime this runs inside `tokio::task::block_in_place`, which
    /// moves the worker's other tasks to another thread first; on a
    /// `current_thread` runtime it blocks the whole runtime until written.
    /// Nothing is lost, and the caller slows down to the disk's pace.
    Block,
    /// Hand it to tokio's blocking pool without waiting, with at most
    /// [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit) such writes
    /// in flight; beyond that it is dropped and counted. These records may land
    /// out of order with the queued ones.
    Nowait,
}

impl FallbackMode {
    /// The name used in configuration files: `drop`, `block` or `nowait`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FallbackMode::Drop => "drop",
            FallbackMode::Block => "block",
            FallbackMode::Nowait => "nowait",
        }
    }
}

impl std::fmt::Display for FallbackMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for FallbackMode {
    type Err = Error;

    /// Parses `drop`, `block` or `nowait`, case-insensitively.
    ///
    /// ```
    /// use concurrent_log_handler::FallbackMode;
    ///
    /// assert_eq!("Block".parse::<FallbackMode>()?, FallbackMode::Block);
    /// assert_eq!(FallbackMode::Nowait.to_string(), "nowait");
    /// assert!("later".parse::<FallbackMode>().is_err());
    /// # Ok::<(), concurrent_log_handler::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "drop" => Ok(FallbackMode::Drop),
            "block" => Ok(FallbackMode::Block),
            "nowait" => Ok(FallbackMode::Nowait),
            _ => Err(Error::invalid_config(format!(
                "unknown fallback_mode {s:?} (expected drop, block or nowait)"
            ))),
        }
    }
}

/// A cheap, cloneable handle to an async, non-blocking, multi-process-safe
/// rotating log file.
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
///     .queue_capacity(10_000)
///     .fallback_mode(FallbackMode::Drop)
///     .sync_level(Level::Critical)
///     .build()?;
///
/// handler.emit(Record::new(Level::Info, "user logged in")); // never awaits
/// handler.emit_wait(Record::new(Level::Error, "payment failed")).await?; // on disk now
/// let text = std::fs::read_to_string(&log)?;
/// assert!(text.contains("user logged in") && text.contains("payment failed"));
///
/// handler.shutdown().await?;
/// let stats = handler.stats();
/// assert_eq!(stats.written, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncConcurrentHandler {
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
    fallback_mode: FallbackMode,
    sync_level: Option<Level>,
    nowait_limit: usize,
}

struct Inner {
    queue: Queue,
    core: Arc<Core>,
    /// Tells every `shutdown` caller how the writer ended.
    finished: Finished,
    /// `Nowait` writes on the runtime's blocking pool, when that mode is on.
    nowait: Option<Arc<Nowait>>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for AsyncConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.shared.settings;
        f.debug_struct("AsyncConcurrentHandler")
            .field("path", &self.shared.state.first().core.path)
            .field("fallback_mode", &settings.fallback_mode)
            .field("sync_level", &settings.sync_level)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn start(settings: Arc<Settings>, runtime: Option<Handle>) -> Result<Inner> {
        let core = Core::open(&settings.file, Arc::clone(&settings.formatter))?;
        let (queue, inbox) = queue(settings.queue_capacity);
        let finished = crate::writer::thread::spawn(inbox, BatchWriter::new(Arc::clone(&core)))?;
        let nowait = match (settings.fallback_mode, runtime) {
            (FallbackMode::Nowait, Some(runtime)) => {
                Some(Arc::new(Nowait::new(runtime, settings.nowait_limit)))
            }
            _ => None,
        };
        Ok(Inner {
            queue,
            core,
            finished,
            nowait,
            settings,
        })
    }

    fn emit(&self, record: Record) {
        // Skip formatting what would be dropped anyway.
        if self.queue.is_closed() {
            self.core.count_closed_drop();
            return;
        }
        let Some(line) = intake::format(&self.core, &record) else {
            return;
        };
        self.emit_line(record.level(), line);
    }

    fn emit_line(&self, level: Level, line: Vec<u8>) {
        let closed = self.queue.is_closed();
        let line = match admit(&self.core, level, line, closed, self.settings.sync_level) {
            Admission::Queue(line) => line,
            Admission::Sync(line) => return self.write_and_wait(line),
            Admission::Empty | Admission::Closed => return,
        };
        let counters = &self.core.counters;
        match self.queue.try_push(Msg::Line(line)) {
            Ok(()) => add(&counters.queued, 1),
            Err(Refused::Full(Msg::Line(line))) => self.queue_full(line),
            Err(_) => add(&counters.dropped, 1),
        }
    }

    fn queue_full(&self, line: Vec<u8>) {
        let counters = &self.core.counters;
        match self.settings.fallback_mode {
            FallbackMode::Block => {
                add(&counters.waited, 1);
                let pushed = blocking(|| self.queue.push_waiting(Msg::Line(line), false, None));
                match pushed {
                    Ok(()) => add(&counters.queued, 1),
                    Err(_) => add(&counters.dropped, 1),
                }
            }
            FallbackMode::Nowait => match &self.nowait {
                Some(nowait) => nowait.write(&self.core, line),
                None => add(&counters.dropped, 1),
            },
            FallbackMode::Drop => add(&counters.dropped, 1),
        }
    }

    /// A `sync_level` record: queued behind the caller's earlier records,
    /// and waited for, blocking the caller (not the runtime's other tasks,
    /// where tokio allows it). Its error is counted and reported by the
    /// writer.
    fn write_and_wait(&self, line: Vec<u8>) {
        let counters = &self.core.counters;
        let (waiter, outcome) = oneshot::channel();
        blocking(|| {
            match self
                .queue
                .push_waiting(Msg::Confirmed(line, waiter), false, None)
            {
                Ok(()) => {
                    add(&counters.queued, 1);
                    self.queue.nudge();
                    let _ = block_on_until(outcome, None);
                }
                Err(_) => add(&counters.dropped, 1),
            }
        });
    }

    async fn finished(&self) -> Result<()> {
        let mut finished = self.finished.clone();
        match finished.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Err(Error::Closed)),
            // The writer thread is gone without a word: it cannot have
            // panicked (it catches panics), so this is not expected.
            Err(_) => Err(Error::Closed),
        }
    }
}

/// Runs `f`, which blocks, without stalling a multi-thread runtime's other
/// tasks (`block_in_place` moves them to another thread first). On a
/// `current_thread` runtime, or outside a runtime, it simply blocks: the
/// writer runs on its own thread, so this cannot deadlock.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl AsyncConcurrentHandler {
    /// This process's queue and writer: those built, or in a forked child
    /// those it built for itself at its first use (`Nowait` falls back to
    /// `Drop` there unless the child runs a tokio runtime).
    fn current(&self) -> Option<&Inner> {
        let settings = &self.shared.settings;
        self.shared.state.get(
            || Inner::start(Arc::clone(settings), Handle::try_current().ok()),
            crate::report::report_to_stderr,
        )
    }

    /// Starts configuring a handler for the log at `path`.
    pub fn builder(path: impl AsRef<std::path::Path>) -> AsyncConcurrentHandlerBuilder {
        AsyncConcurrentHandlerBuilder {
            file: FileConfig::new(path.as_ref().to_path_buf()),
            formatter: Arc::new(TextFormatter::new()),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            fallback_mode: FallbackMode::default(),
            sync_level: Some(DEFAULT_ASYNC_SYNC_LEVEL),
            nowait_limit: DEFAULT_NOWAIT_LIMIT,
        }
    }

    /// Logs `record` without ever awaiting: formats it here, then queues it.
    ///
    /// A record at or above `sync_level` is queued behind this caller's
    /// earlier records and written before `emit` returns, blocking like
    /// [`FallbackMode::Block`]; async code should prefer
    /// [`emit_wait`](Self::emit_wait) for records it must not lose. When the
    /// queue is full, the [`FallbackMode`] decides. After
    /// [`shutdown`](Self::shutdown), the record is dropped and counted.
    pub fn emit(&self, record: Record) {
        if let Some(inner) = self.current() {
            inner.emit(record);
        }
    }

    /// [`emit`](Self::emit) for a line formatted elsewhere (the `tracing` fmt
    /// writer): same counters, `sync_level` and fallback. A missing final `\n`
    /// is added; an empty line is not logged.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn emit_line(&self, level: Level, line: Vec<u8>) {
        if let Some(inner) = self.current() {
            inner.emit_line(level, line);
        }
    }

    /// Queues `record` if there is room right now, and never waits or falls back.
    ///
    /// # Errors
    ///
    /// [`TryEmitError::Full`] or [`TryEmitError::Closed`], each handing the
    /// record back. Neither is counted as a drop: the caller still holds it.
    ///
    /// ```
    /// use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record, TryEmitError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log")).build()?;
    /// handler.try_emit(Record::new(Level::Info, "queued"))?;
    /// handler.shutdown().await?;
    /// let err = handler.try_emit(Record::new(Level::Info, "too late")).unwrap_err();
    /// assert!(matches!(err, TryEmitError::Closed(_)));
    /// assert_eq!(err.into_inner().message(), "too late");
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
        let Some(inner) = self.current() else {
            return Err(TryEmitError::Closed(record));
        };
        if inner.queue.is_closed() {
            return Err(TryEmitError::Closed(record));
        }
        let Some(line) = intake::format(&inner.core, &record) else {
            return Ok(());
        };
        match inner.queue.try_push(Msg::Line(line)) {
            Ok(()) => {
                add(&inner.core.counters.queued, 1);
                Ok(())
            }
            Err(Refused::Full(_)) => Err(TryEmitError::Full(record)),
            Err(Refused::Closed) => Err(TryEmitError::Closed(record)),
        }
    }

    /// Logs `record` and resolves once the batch holding it was written under
    /// the lock (and synced, with `durable`), or with that batch's error.
    ///
    /// It awaits room in the queue rather than falling back, so it never blocks
    /// the runtime. Many concurrent callers share one batch: a thousand waiters
    /// cost a handful of lock cycles, not a thousand.
    ///
    /// # Errors
    ///
    /// The error of the batch that held the record (nothing of a failed batch
    /// stays in the file, and the record is not retried: retrying is the
    /// caller's call; with `durable`, a failed sync fails it too, though its
    /// line is in the file), [`Error::FormatterPanicked`], or
    /// [`Error::Closed`] after [`shutdown`](Self::shutdown).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before the record was queued leaves it unlogged;
    /// dropping it afterwards still writes the record, and only the outcome is
    /// lost.
    pub async fn emit_wait(&self, record: Record) -> Result<()> {
        let inner = self.current().ok_or(Error::Closed)?;
        let counters = &inner.core.counters;
        if inner.queue.is_closed() {
            add(&counters.dropped, 1);
            return Err(Error::Closed);
        }
        let Some(mut line) = intake::format(&inner.core, &record) else {
            return Err(Error::FormatterPanicked);
        };
        crate::format::end_line(&mut line);
        let (waiter, outcome) = oneshot::channel();
        if inner
            .queue
            .push(Msg::Confirmed(line, waiter), false)
            .await
            .is_err()
        {
            add(&counters.dropped, 1);
            return Err(Error::Closed);
        }
        add(&counters.queued, 1);
        inner.queue.nudge();
        outcome.await.unwrap_or(Err(Error::Closed))
    }

    /// Resolves once everything accepted before the call is written, including
    /// `Nowait` writes in flight, and any pending drop report is in the log.
    ///
    /// # Errors
    ///
    /// The last write error, if the batch written with the flush failed or
    /// lines still await a retry; [`Error::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels only the wait; the queued records are
    /// written anyway.
    pub async fn flush(&self) -> Result<()> {
        let inner = self.current().ok_or(Error::Closed)?;
        let (waiter, outcome) = oneshot::channel();
        inner
            .queue
            .push(Msg::Flush(waiter), false)
            .await
            .map_err(|_| Error::Closed)?;
        inner.queue.nudge();
        let result = outcome.await.unwrap_or(Err(Error::Closed));
        if let Some(nowait) = &inner.nowait {
            nowait.wait_for_earlier().await;
        }
        result
    }

    /// Stops accepting records, writes everything already accepted, stops the
    /// writer, and waits for background compressions of rotated backups to
    /// finish. Every clone of the handle is closed. Every call, concurrent or
    /// later, resolves only once all of that is done, with the same outcome.
    ///
    /// This is the guaranteed path; dropping the last handle also drains the
    /// queue, on the writer thread, but nothing waits for it then. In an axum
    /// or actix service, call it after the server's graceful shutdown
    /// resolved.
    ///
    /// # Errors
    ///
    /// The last write error, if lines accepted before the shutdown could not be
    /// written (they are counted in [`Stats::failed`]).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not reopen the handler; the writer still drains
    /// and stops.
    pub async fn shutdown(&self) -> Result<()> {
        let inner = self.current().ok_or(Error::Closed)?;
        inner.queue.close();
        let (waiter, outcome) = oneshot::channel();
        let result = match inner.queue.push(Msg::Shutdown(waiter), true).await {
            Ok(()) => {
                inner.queue.nudge();
                match outcome.await {
                    Ok(result) => result,
                    // Another shutdown ended the writer first.
                    Err(_) => inner.finished().await,
                }
            }
            // The writer already ended.
            Err(_) => inner.finished().await,
        };
        if let Some(nowait) = &inner.nowait {
            nowait.wait_for_earlier().await;
        }
        result
    }

    /// A snapshot of the queue and the counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let inner = self.current().unwrap_or(self.shared.state.first());
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

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_closed(&self) -> bool {
        self.current().is_none_or(|inner| inner.queue.is_closed())
    }
}

/// The error of [`AsyncConcurrentHandler::try_emit`], handing the record back.
#[derive(Debug)]
#[non_exhaustive]
pub enum TryEmitError {
    /// The queue is full right now.
    Full(Record),
    /// The handler was shut down or its writer is gone.
    Closed(Record),
}

impl TryEmitError {
    /// The record that was not queued.
    pub fn into_inner(self) -> Record {
        match self {
            TryEmitError::Full(record) | TryEmitError::Closed(record) => record,
        }
    }
}

impl std::fmt::Display for TryEmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TryEmitError::Full(_) => "log queue is full",
            TryEmitError::Closed(_) => "log handler is closed",
        })
    }
}

impl std::error::Error for TryEmitError {}

/// Configures an [`AsyncConcurrentHandler`].
///
/// | option | default |
/// |---|---|
/// | [`max_bytes`](Self::max_bytes) | 0 (never rotate) |
/// | [`backup_count`](Self::backup_count) | 5 |
/// | [`queue_capacity`](Self::queue_capacity) | [`DEFAULT_QUEUE_CAPACITY`] (10,000 records) |
/// | [`fallback_mode`](Self::fallback_mode) | [`FallbackMode::Drop`] |
/// | [`sync_level`](Self::sync_level) | [`DEFAULT_ASYNC_SYNC_LEVEL`] (`Critical`) |
/// | [`nowait_limit`](Self::nowait_limit) | [`DEFAULT_NOWAIT_LIMIT`] (64 writes in flight) |
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
pub struct AsyncConcurrentHandlerBuilder {
    file: FileConfig,
    formatter: Arc<dyn Formatter>,
    queue_capacity: usize,
    fallback_mode: FallbackMode,
    sync_level: Option<Level>,
    nowait_limit: usize,
}

impl std::fmt::Debug for AsyncConcurrentHandlerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConcurrentHandlerBuilder")
            .field("file", &self.file)
            .field("queue_capacity", &self.queue_capacity)
            .field("fallback_mode", &self.fallback_mode)
            .field("sync_level", &self.sync_level)
            .field("nowait_limit", &self.nowait_limit)
            .finish_non_exhaustive()
    }
}

impl AsyncConcurrentHandlerBuilder {
    file_options!();

    /// How many records the queue holds (at least 1). Memory is bounded by this
    /// times the size of a formatted line.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// What `emit` does when the queue is full.
    pub fn fallback_mode(mut self, mode: FallbackMode) -> Self {
        self.fallback_mode = mode;
        self
    }

    /// Records at or above this level are written before `emit` returns; `None`
    /// queues every level.
    pub fn sync_level(mut self, level: impl Into<Option<Level>>) -> Self {
        self.sync_level = level.into();
        self
    }

    /// Most `Nowait` writes in flight on the blocking pool at once (at least 1).
    pub fn nowait_limit(mut self, limit: usize) -> Self {
        self.nowait_limit = limit;
        self
    }

    /// Opens the log and starts the writer thread (`clh-writer`). It can be
    /// built anywhere; [`FallbackMode::Nowait`] needs a tokio runtime, whose
    /// blocking pool it writes on.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings that make no sense,
    /// [`Error::NoRuntime`] for `Nowait` outside a tokio runtime, the error
    /// that stopped the log or lock file from opening, with its path, or
    /// [`Error::Spawn`].
    pub fn build(self) -> Result<AsyncConcurrentHandler> {
        if self.queue_capacity == 0 || self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(Error::invalid_config(format!(
                "queue_capacity must be between 1 and {MAX_QUEUE_CAPACITY}, not {}",
                self.queue_capacity
            )));
        }
        if self.nowait_limit == 0 || self.nowait_limit > MAX_NOWAIT_LIMIT {
            return Err(Error::invalid_config(format!(
                "nowait_limit must be between 1 and {MAX_NOWAIT_LIMIT}, not {}",
                self.nowait_limit
            )));
        }
        let runtime = match self.fallback_mode {
            FallbackMode::Nowait => Some(Handle::try_current().map_err(|_| Error::NoRuntime)?),
            _ => None,
        };
        let settings = Arc::new(Settings {
            file: self.file,
            formatter: self.formatter,
            queue_capacity: self.queue_capacity,
            fallback_mode: self.fallback_mode,
            sync_level: self.sync_level,
            nowait_limit: self.nowait_limit,
        });
        let inner = Inner::start(Arc::clone(&settings), runtime)?;
        Ok(AsyncConcurrentHandler {
            shared: Arc::new(Shared {
                settings,
                state: PerProcess::new(inner),
            }),
        })
    }
}
