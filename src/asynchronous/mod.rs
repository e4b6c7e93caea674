//! [`AsyncConcurrentHandler`]: a tokio `mpsc` queue in front of the shared writer.
//!
//! `emit` formats the record in the caller and `try_send`s its bytes: it never
//! awaits. The writer side is in [`drain`]: an async task waits for records
//! without holding a thread, then one `spawn_blocking` job at a time writes
//! them in batches (up to 1,024 records) while they keep coming, so order is
//! kept. The job ends once the queue stayed empty for a millisecond (or after
//! 50 ms of writing, to start afresh), so no endless loop sits on the blocking
//! pool and a handle that outlives its runtime (a global subscriber, a leaked
//! clone) cannot hang the runtime's shutdown.
//!
//! This module knows nothing of files: it talks to [`crate::writer`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{Error, Result};
use crate::file::{FileConfig, file_options};
use crate::format::{Formatter, TextFormatter};
use crate::record::{Level, Record};
use crate::stats::{Stats, add};
use crate::writer::{Admission, BatchWriter, Core, Msg};

mod drain;

use crate::rest::WriterWake;
use drain::drain;

/// Default [`queue_capacity`](AsyncConcurrentHandlerBuilder::queue_capacity).
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default [`sync_level`](AsyncConcurrentHandlerBuilder::sync_level) of the async handler.
pub const DEFAULT_ASYNC_SYNC_LEVEL: Level = Level::Critical;
/// Default [`nowait_limit`](AsyncConcurrentHandlerBuilder::nowait_limit).
pub const DEFAULT_NOWAIT_LIMIT: usize = 64;

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
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Msg>,
    core: Arc<Core>,
    runtime: Handle,
    fallback_mode: FallbackMode,
    sync_level: Option<Level>,
    nowait: Arc<Semaphore>,
    nowait_limit: usize,
    closed: AtomicBool,
    /// Wakes the writer when it rests between small batches.
    wake: Arc<WriterWake>,
}

impl std::fmt::Debug for AsyncConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConcurrentHandler")
            .field("fallback_mode", &self.inner.fallback_mode)
            .field("sync_level", &self.inner.sync_level)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AsyncConcurrentHandler {
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
    /// A record at or above `sync_level` is written (under the lock) before
    /// `emit` returns, blocking like [`FallbackMode::Block`]; async code should
    /// prefer [`emit_wait`](Self::emit_wait) for records it must not lose. When
    /// the queue is full, the [`FallbackMode`] decides. After
    /// [`shutdown`](Self::shutdown), the record is dropped and counted.
    pub fn emit(&self, record: Record) {
        // Skip formatting what would be dropped anyway.
        if self.inner.closed.load(Ordering::Acquire) {
            self.inner.core.count_closed_drop();
            return;
        }
        let line = self.inner.core.format(&record);
        self.emit_line(record.level(), line);
    }

    /// [`emit`](Self::emit) for a line formatted elsewhere (the `tracing` fmt
    /// writer): same counters, `sync_level` and fallback. A missing final `\n`
    /// is added; an empty line is not logged.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn emit_line(&self, level: Level, line: Vec<u8>) {
        let inner = &*self.inner;
        let closed = inner.closed.load(Ordering::Acquire);
        let line = match inner.core.admit(level, line, closed, inner.sync_level) {
            Admission::Queue(line) => line,
            Admission::WriteNow(line) => return self.write_in_caller(line),
            Admission::Empty | Admission::Closed => return,
        };
        let counters = &inner.core.counters;
        match inner.tx.try_send(Msg::Line(line)) {
            Ok(()) => add(&counters.queued, 1),
            Err(TrySendError::Full(Msg::Line(line))) => self.queue_full(line),
            Err(_) => add(&counters.dropped, 1),
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
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(TryEmitError::Closed(record));
        }
        let line = self.inner.core.format(&record);
        match self.inner.tx.try_send(Msg::Line(line)) {
            Ok(()) => {
                add(&self.inner.core.counters.queued, 1);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(TryEmitError::Full(record)),
            Err(TrySendError::Closed(_)) => Err(TryEmitError::Closed(record)),
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
    /// caller's call), or [`Error::Closed`] after [`shutdown`](Self::shutdown) or
    /// when the writer is gone.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before the record was queued leaves it unlogged;
    /// dropping it afterwards still writes the record, and only the outcome is
    /// lost.
    pub async fn emit_wait(&self, record: Record) -> Result<()> {
        let counters = &self.inner.core.counters;
        if self.inner.closed.load(Ordering::Acquire) {
            add(&counters.dropped, 1);
            return Err(Error::Closed);
        }
        let line = self.inner.core.format(&record);
        let (waiter, outcome) = oneshot::channel();
        if self
            .inner
            .tx
            .send(Msg::Confirmed(line, waiter))
            .await
            .is_err()
        {
            add(&counters.dropped, 1);
            return Err(Error::Closed);
        }
        add(&counters.queued, 1);
        self.inner.wake.nudge();
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
        let (waiter, outcome) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Flush(waiter))
            .await
            .map_err(|_| Error::Closed)?;
        self.inner.wake.nudge();
        let result = outcome.await.unwrap_or(Err(Error::Closed));
        self.wait_for_nowait_writes().await;
        result
    }

    /// Stops accepting records, writes everything already accepted, stops the
    /// writer, and waits for background compressions of rotated backups to
    /// finish. Every clone of the handle is closed. Calling it again is
    /// harmless and returns `Ok`.
    ///
    /// This is the guaranteed path; dropping the last handle also drains the
    /// queue, but only as long as the runtime keeps running. In an axum or
    /// actix service, call it after the server's graceful shutdown resolved.
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
        self.inner.closed.store(true, Ordering::Release);
        let (waiter, outcome) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(waiter)).await.is_err() {
            // Already shut down, and the writer has finished.
            return Ok(());
        }
        self.inner.wake.nudge();
        let result = outcome.await.unwrap_or(Err(Error::Closed));
        self.wait_for_nowait_writes().await;
        // Backups rotated away are compressed in the background: let that
        // finish too, off the runtime's threads.
        let core = Arc::clone(&self.inner.core);
        // A day: in practice "until done"; compressing one backup is bounded.
        let wait = move || core.wait_for_compression(std::time::Duration::from_secs(86_400));
        let _ = tokio::task::spawn_blocking(wait).await;
        result
    }

    /// A snapshot of the queue and the counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let capacity = self.inner.tx.max_capacity();
        let free = self.inner.tx.capacity();
        self.inner
            .core
            .counters
            .snapshot((capacity - free) as u64, capacity as u64)
    }

    /// The absolute path of the log file.
    pub fn path(&self) -> std::path::PathBuf {
        self.inner.core.path.clone()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) || self.inner.tx.is_closed()
    }

    fn queue_full(&self, line: Vec<u8>) {
        let counters = &self.inner.core.counters;
        match self.inner.fallback_mode {
            FallbackMode::Drop => add(&counters.dropped, 1),
            FallbackMode::Block => {
                add(&counters.fallback, 1);
                self.write_in_caller(line);
            }
            FallbackMode::Nowait => match self.inner.nowait.clone().try_acquire_owned() {
                Ok(permit) => {
                    // Counted as fallback once it runs, as dropped if it never does.
                    let job = NowaitWrite {
                        core: Arc::clone(&self.inner.core),
                        line,
                        done: false,
                    };
                    self.inner.runtime.spawn_blocking(move || {
                        let mut job = job;
                        job.run();
                        drop(permit);
                    });
                }
                Err(_) => add(&counters.dropped, 1),
            },
        }
    }

    /// Writes now, in the caller, without stalling a multi-thread runtime's
    /// other tasks where tokio allows it.
    fn write_in_caller(&self, line: Vec<u8>) {
        let write = || {
            // A failure is counted and reported by `write_now`.
            let _ = self.inner.core.write_now(line);
        };
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write);
            }
            _ => write(),
        }
    }

    async fn wait_for_nowait_writes(&self) {
        let all = u32::try_from(self.inner.nowait_limit).unwrap_or(u32::MAX);
        // The semaphore is never closed, so this only waits.
        let _ = self.inner.nowait.acquire_many(all).await;
    }
}

/// A `Nowait` record on its way through the blocking pool. If the pool drops
/// the job unrun (runtime shutting down), the record is counted as dropped.
struct NowaitWrite {
    core: Arc<Core>,
    line: Vec<u8>,
    done: bool,
}

impl NowaitWrite {
    fn run(&mut self) {
        self.done = true;
        add(&self.core.counters.fallback, 1);
        // A failure is counted and reported by `write_now`.
        let _ = self.core.write_now(std::mem::take(&mut self.line));
    }
}

impl Drop for NowaitWrite {
    fn drop(&mut self) {
        if !self.done {
            add(&self.core.counters.dropped, 1);
        }
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

    /// Opens the log and starts the writer on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime, [`Error::InvalidConfig`] for
    /// settings that make no sense, or the error that stopped the log or lock
    /// file from opening, with its path.
    pub fn build(self) -> Result<AsyncConcurrentHandler> {
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        if self.queue_capacity == 0 {
            return Err(Error::invalid_config("queue_capacity must be at least 1"));
        }
        if self.nowait_limit == 0 || self.nowait_limit > Semaphore::MAX_PERMITS {
            return Err(Error::invalid_config(
                "nowait_limit must be at least 1 and fit a semaphore",
            ));
        }
        let core = Core::open(&self.file, self.formatter)?;
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let wake = Arc::new(WriterWake::default());
        let writer = BatchWriter::new(Arc::clone(&core));
        runtime.spawn(drain(rx, writer, Arc::clone(&wake)));
        Ok(AsyncConcurrentHandler {
            inner: Arc::new(Inner {
                tx,
                core,
                runtime,
                fallback_mode: self.fallback_mode,
                sync_level: self.sync_level,
                nowait: Arc::new(Semaphore::new(self.nowait_limit)),
                nowait_limit: self.nowait_limit,
                closed: AtomicBool::new(false),
                wake,
            }),
        })
    }
}
