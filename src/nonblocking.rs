//! [`NonBlockingConcurrentHandler`]: the shared writer behind one std thread, for
//! code without a tokio runtime.
//!
//! `emit` formats the record in the caller and `try_send`s its bytes into a
//! bounded `std::sync::mpsc::sync_channel`. The channel was picked by
//! measurement: from plain threads, tokio mpsc's `blocking_send` collapsed under
//! backpressure in a prototype (0.55–0.95M lines/s, caller p99 ~34 µs) where std
//! `sync_channel` held 2.6–3.5M. A named writer thread drains it in batches and
//! hands each batch to [`crate::writer`], exactly as the tokio front-end does.
//!
//! This module knows nothing of tokio's runtime or of file internals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::file::{FileConfig, file_options, lock_unpoisoned};
use crate::format::{Formatter, TextFormatter};
use crate::record::{Level, Record};
use crate::rest::{Resting, WriterWake};
use crate::stats::{Stats, add};
use crate::writer::{Admission, BatchWriter, Core, MAX_BATCH_RECORDS, Msg};

/// Default [`sync_level`](NonBlockingConcurrentHandlerBuilder::sync_level) of
/// the thread handler (the seed design's `logging.ERROR`).
pub const DEFAULT_THREAD_SYNC_LEVEL: Level = Level::Error;
/// How long dropping a [`WriterGuard`] waits for the writer to drain.
pub const DEFAULT_GUARD_TIMEOUT: Duration = Duration::from_secs(10);

/// A cheap, cloneable handle to a rotating log written by a background thread.
///
/// `emit` never waits for the file lock unless you asked for it: records at or
/// above `sync_level` (default `Error`) are written in the caller, and when
/// the queue is full the record is written in the caller too
/// (`fallback_on_full(true)`, the default) or dropped and counted.
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
/// drop(guard); // drains and stops the writer thread
///
/// let text = std::fs::read_to_string(&log)?;
/// assert_eq!(text.lines().count(), 2);
/// assert_eq!(handler.stats().written, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NonBlockingConcurrentHandler {
    inner: Arc<Inner>,
}

struct Inner {
    tx: SyncSender<Msg>,
    core: Arc<Core>,
    sync_level: Option<Level>,
    fallback_on_full: bool,
    capacity: usize,
    /// Records sent and not yet taken by the writer thread (control messages
    /// are not counted). Raised before a send, so the writer never takes more
    /// than was added.
    depth: Arc<AtomicU64>,
    /// Wakes the writer thread when it rests between small batches.
    wake: Arc<WriterWake>,
    closed: AtomicBool,
    worker: Mutex<Worker>,
}

/// The writer thread's side, kept while the thread is stopped so that
/// [`NonBlockingConcurrentHandler::start`] can run it again.
struct Worker {
    /// `Some` while stopped; the running thread owns it otherwise.
    parked: Option<(Receiver<Msg>, BatchWriter)>,
    running: Option<RunningWorker>,
}

struct RunningWorker {
    thread: JoinHandle<()>,
    /// Receives the channel and writer back, with the outcome of the last drain.
    exit: Receiver<(Receiver<Msg>, BatchWriter, Result<()>)>,
}

impl std::fmt::Debug for NonBlockingConcurrentHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonBlockingConcurrentHandler")
            .field("sync_level", &self.inner.sync_level)
            .field("fallback_on_full", &self.inner.fallback_on_full)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
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

    /// Logs `record`: queues it, or writes it in the caller when its level is at
    /// or above `sync_level` or when the queue is full and `fallback_on_full` is
    /// on.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] after [`stop`](Self::stop); [`Error::QueueFull`] when the
    /// queue was full and `fallback_on_full` is off; the write error when a
    /// record written in the caller failed. Each is also counted in [`Stats`].
    pub fn emit(&self, record: Record) -> Result<()> {
        // Skip formatting what would be dropped anyway.
        if self.inner.closed.load(Ordering::Acquire) {
            self.inner.core.count_closed_drop();
            return Err(Error::Closed);
        }
        let line = self.inner.core.format(&record);
        self.emit_line(record.level(), line)
    }

    /// [`emit`](Self::emit) for a line formatted elsewhere (the `tracing` fmt
    /// writer): same counters, `sync_level` and fallback. A missing final `\n`
    /// is added; an empty line is not logged.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn emit_line(&self, level: Level, line: Vec<u8>) -> Result<()> {
        let inner = &*self.inner;
        let closed = inner.closed.load(Ordering::Acquire);
        let line = match inner.core.admit(level, line, closed, inner.sync_level) {
            Admission::Queue(line) => line,
            Admission::WriteNow(line) => return inner.core.write_now(line),
            Admission::Empty => return Ok(()),
            Admission::Closed => return Err(Error::Closed),
        };
        let counters = &inner.core.counters;
        // Count before sending: the writer may take the message at once.
        inner.depth.fetch_add(1, Ordering::Relaxed);
        match inner.tx.try_send(Msg::Line(line)) {
            Ok(()) => {
                add(&counters.queued, 1);
                Ok(())
            }
            Err(TrySendError::Full(Msg::Line(line))) => {
                inner.depth.fetch_sub(1, Ordering::Relaxed);
                if inner.fallback_on_full {
                    add(&counters.fallback, 1);
                    inner.core.write_now(line)
                } else {
                    add(&counters.dropped, 1);
                    Err(Error::QueueFull)
                }
            }
            Err(_) => {
                inner.depth.fetch_sub(1, Ordering::Relaxed);
                add(&counters.dropped, 1);
                Err(Error::Closed)
            }
        }
    }

    /// Blocks until everything queued before the call is written and any pending
    /// drop report is in the log.
    ///
    /// # Errors
    ///
    /// The last write error, if lines are still failing; [`Error::Closed`] when
    /// the writer is stopped.
    pub fn flush(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let (waiter, outcome) = oneshot::channel();
        self.send_control(Msg::Flush(waiter))?;
        // `futures`' executor blocks this thread without caring whether it is
        // inside an async runtime (tokio's `blocking_recv` would panic there).
        futures::executor::block_on(outcome).unwrap_or(Err(Error::Closed))
    }

    /// Stops accepting records, drains and writes everything queued, stops the
    /// writer thread and lets background compressions finish, waiting at most
    /// `timeout` for all of it. Emits after this return
    /// [`Error::Closed`] and are counted as dropped. Harmless when already
    /// stopped.
    ///
    /// # Errors
    ///
    /// The last write error of the drain, or [`Error::StopTimeout`] when the
    /// writer did not finish in time (it goes on in the background).
    pub fn stop_timeout(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut worker = lock_unpoisoned(&self.inner.worker);
        let Some(running) = worker.running.take() else {
            self.inner.closed.store(true, Ordering::Release);
            return Ok(());
        };
        self.inner.closed.store(true, Ordering::Release);
        let (waiter, _ignored) = oneshot::channel();
        let mut msg = Msg::Shutdown(waiter);
        // The queue may be full while the writer waits for the lock: retry
        // until the deadline rather than block without bound.
        loop {
            match self.inner.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    msg = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Full(_)) => {
                    worker.running = Some(running);
                    return Err(Error::StopTimeout);
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        self.inner.wake.nudge();
        let remaining = deadline.saturating_duration_since(Instant::now());
        match running.exit.recv_timeout(remaining) {
            Ok((rx, writer, outcome)) => {
                let _ = running.thread.join();
                worker.parked = Some((rx, writer));
                let remaining = deadline.saturating_duration_since(Instant::now());
                if !self.inner.core.wait_for_compression(remaining) {
                    return Err(Error::StopTimeout);
                }
                outcome
            }
            Err(RecvTimeoutError::Timeout) => {
                worker.running = Some(running);
                Err(Error::StopTimeout)
            }
            // The thread is gone without handing back its state (it cannot
            // panic, but be safe): the handler stays stopped.
            Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }

    /// [`stop_timeout`](Self::stop_timeout) with no practical bound: waits as
    /// long as the writer needs (for example while another process holds the
    /// lock).
    ///
    /// # Errors
    ///
    /// As [`stop_timeout`](Self::stop_timeout).
    pub fn stop(&self) -> Result<()> {
        self.stop_timeout(Duration::from_secs(u64::from(u32::MAX)))
    }

    /// Starts the writer thread again after [`stop`](Self::stop); does nothing
    /// while it runs.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] when the thread cannot be started.
    pub fn start(&self) -> Result<()> {
        let mut worker = lock_unpoisoned(&self.inner.worker);
        if worker.running.is_some() {
            return Ok(());
        }
        if worker.parked.is_none() {
            return Err(Error::Closed);
        }
        spawn_writer(
            &mut worker,
            Arc::clone(&self.inner.depth),
            Arc::clone(&self.inner.wake),
        )?;
        self.inner.closed.store(false, Ordering::Release);
        Ok(())
    }

    /// Whether the writer thread runs (records are accepted).
    pub fn is_running(&self) -> bool {
        !self.inner.closed.load(Ordering::Acquire)
    }

    /// A snapshot of the queue and the counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let depth = self.inner.depth.load(Ordering::Relaxed);
        self.inner
            .core
            .counters
            .snapshot(depth, self.inner.capacity as u64)
    }

    /// The absolute path of the log file.
    pub fn path(&self) -> std::path::PathBuf {
        self.inner.core.path.clone()
    }

    fn send_control(&self, msg: Msg) -> Result<()> {
        self.inner.tx.send(msg).map_err(|_| Error::Closed)?;
        // Its sender waits for it: do not let the writer rest on it.
        self.inner.wake.nudge();
        Ok(())
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
            self.handler.inner.core.errors.report(&error);
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
        if self.queue_capacity == 0 {
            return Err(Error::invalid_config("queue_capacity must be at least 1"));
        }
        let core = Core::open(&self.file, self.formatter)?;
        let (tx, rx) = mpsc::sync_channel(self.queue_capacity);
        let depth = Arc::new(AtomicU64::new(0));
        let mut worker = Worker {
            parked: Some((rx, BatchWriter::new(Arc::clone(&core)))),
            running: None,
        };
        let wake = Arc::new(WriterWake::default());
        spawn_writer(&mut worker, Arc::clone(&depth), Arc::clone(&wake))?;
        let handler = NonBlockingConcurrentHandler {
            inner: Arc::new(Inner {
                tx,
                core,
                sync_level: self.sync_level,
                fallback_on_full: self.fallback_on_full,
                capacity: self.queue_capacity,
                depth,
                wake,
                closed: AtomicBool::new(false),
                worker: Mutex::new(worker),
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

/// Starts the writer thread on the parked channel and writer. On failure they
/// stay parked, so a later [`NonBlockingConcurrentHandler::start`] can retry.
fn spawn_writer(worker: &mut Worker, depth: Arc<AtomicU64>, wake: Arc<WriterWake>) -> Result<()> {
    let (exit_tx, exit) = mpsc::channel();
    // The thread takes the state out of this slot; if spawning fails, the
    // closure is dropped unrun and the state is taken back from it.
    let slot = Arc::new(Mutex::new(worker.parked.take()));
    let taken = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("clh-writer".into())
        .spawn(move || {
            let Some((rx, mut writer)) = lock_unpoisoned(&taken).take() else {
                return;
            };
            wake.attach();
            let outcome = run_writer(&rx, &mut writer, &depth, &wake);
            wake.detach();
            let _ = exit_tx.send((rx, writer, outcome));
        });
    match spawned {
        Ok(thread) => {
            worker.running = Some(RunningWorker { thread, exit });
            Ok(())
        }
        Err(e) => {
            worker.parked = lock_unpoisoned(&slot).take();
            Err(Error::Spawn { source: e.into() })
        }
    }
}

/// Drains the channel in batches until a shutdown message (then drains what is
/// left and finishes) or until every sender is gone. Between batches it rests
/// as [`crate::rest`] describes; after a millisecond of empty channel it blocks on
/// the channel until the next message.
fn run_writer(
    rx: &Receiver<Msg>,
    writer: &mut BatchWriter,
    depth: &AtomicU64,
    wake: &WriterWake,
) -> Result<()> {
    let mut msgs = Vec::with_capacity(MAX_BATCH_RECORDS);
    let mut resting = Resting::new(wake);
    loop {
        while msgs.len() < MAX_BATCH_RECORDS {
            match rx.try_recv() {
                Ok(msg) => msgs.push(msg),
                Err(_) => break,
            }
        }
        if msgs.is_empty() {
            if resting.while_idle() {
                continue;
            }
            // Quiet for a while: sleep until a sender wakes us.
            let Ok(first) = rx.recv() else {
                return writer.finish();
            };
            msgs.push(first);
            continue;
        }
        take_from_depth(depth, &msgs);
        let stopping = msgs.iter().any(|m| matches!(m, Msg::Shutdown(_)));
        let batch = msgs.len();
        writer.process(&mut msgs);
        if !stopping {
            resting.after_batch(batch);
            continue;
        }
        // Records that raced in behind the shutdown were accepted: write them.
        while let Ok(msg) = rx.try_recv() {
            msgs.push(msg);
            if msgs.len() == MAX_BATCH_RECORDS {
                take_from_depth(depth, &msgs);
                writer.process(&mut msgs);
            }
        }
        take_from_depth(depth, &msgs);
        writer.process(&mut msgs);
        return writer.finish();
    }
}

fn take_from_depth(depth: &AtomicU64, msgs: &[Msg]) {
    let records = msgs
        .iter()
        .filter(|m| matches!(m, Msg::Line(_) | Msg::Confirmed(..)))
        .count();
    depth.fetch_sub(records as u64, Ordering::Relaxed);
}
