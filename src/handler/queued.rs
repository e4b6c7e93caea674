//! What the two queued handlers are made of: the queue, the writer thread,
//! the counters, and every step from a record to the queue. The async and
//! the thread handler are faces of [`QueuedHandle`]; they differ only where
//! awaiting and blocking differ (`emit_wait().await` and `emit_wait()`,
//! `shutdown().await` and `stop()`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;

use super::intake::{self, Admission, admit};
use super::nowait::Nowait;
use super::options::Common;
use super::{FallbackMode, TryEmitError};
use crate::clock::deadline_after;
use crate::error::{Error, ErrorKind, Result};
use crate::fork::PerProcess;
use crate::queue::{Await, MAX_QUEUE_CAPACITY, Msg, Pending, Queue, Refused, queue};
use crate::record::{Level, Record};
use crate::stats::{Stats, add};
use crate::sync::block_on_until;
use crate::writer::thread::Finished;
use crate::writer::{BatchWriter, Core};

/// Everything a queued handler is built from, kept to build it again in a
/// forked child.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) common: Common,
    pub(crate) queue_capacity: usize,
    pub(crate) fallback_mode: FallbackMode,
    pub(crate) sync_level: Option<Level>,
    pub(crate) nowait_limit: usize,
    /// Records travel to the writer as records and are formatted there.
    pub(crate) format_on_writer: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("file", &self.common.file)
            .field("filter", &self.common.filter)
            .field("queue_capacity", &self.queue_capacity)
            .field("fallback_mode", &self.fallback_mode)
            .field("sync_level", &self.sync_level)
            .field("nowait_limit", &self.nowait_limit)
            .field("format_on_writer", &self.format_on_writer)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The defaults for the log at `path`, with a handler's own
    /// `fallback_mode` and `sync_level`.
    pub(crate) fn new(
        path: &std::path::Path,
        fallback_mode: FallbackMode,
        sync_level: Option<Level>,
    ) -> Settings {
        Settings {
            common: Common::new(path),
            queue_capacity: crate::DEFAULT_QUEUE_CAPACITY,
            fallback_mode,
            sync_level,
            nowait_limit: crate::DEFAULT_NOWAIT_LIMIT,
            format_on_writer: true,
        }
    }

    /// The checks both builders make before anything is opened.
    pub(crate) fn check(&self) -> Result<()> {
        if self.queue_capacity == 0 || self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(Error::invalid_config(format!(
                "queue_capacity must be between 1 and {MAX_QUEUE_CAPACITY}, not {}",
                self.queue_capacity
            )));
        }
        Ok(())
    }
}

/// A cheap handle to one queued handler: what its clones share.
#[derive(Clone)]
pub(crate) struct QueuedHandle {
    shared: Arc<Shared>,
}

struct Shared {
    settings: Arc<Settings>,
    /// The queue and writer of this process (see [`crate::fork`]).
    state: PerProcess<Queued>,
}

/// The queue, the writer thread and the counters of one process.
pub(crate) struct Queued {
    queue: Queue,
    core: Arc<Core>,
    /// Tells every `shutdown` caller how the writer ended.
    finished: Finished,
    /// `Nowait` writes on a runtime's blocking pool, when that mode is on.
    nowait: Option<Arc<Nowait>>,
    /// Callers waiting for their records to be written.
    waiting: Waiting,
    settings: Arc<Settings>,
}

impl Queued {
    fn start(settings: Arc<Settings>, runtime: Option<Handle>) -> Result<Queued> {
        let core = settings.common.open()?;
        let (queue, inbox) = queue(settings.queue_capacity);
        let finished = crate::writer::thread::spawn(inbox, BatchWriter::new(Arc::clone(&core)))?;
        let nowait = match (settings.fallback_mode, runtime) {
            (FallbackMode::Nowait, Some(runtime)) => {
                Some(Arc::new(Nowait::new(runtime, settings.nowait_limit)))
            }
            _ => None,
        };
        Ok(Queued {
            queue,
            core,
            finished,
            nowait,
            waiting: Waiting::default(),
            settings,
        })
    }

    /// The record as it goes into the queue: as it is, or formatted now
    /// (`None`: the formatter panicked; counted and reported).
    fn pending(&self, record: Record) -> Option<Pending> {
        // A writer more than a batch behind is the bottleneck: the caller,
        // which would wait for room anyway, formats its record itself.
        let on_writer = self.settings.format_on_writer
            && self.queue.depth() < crate::writer::MAX_BATCH_RECORDS as u64;
        intake::pending(&self.core, record, on_writer)
    }

    fn emit(&self, record: Record) {
        // Skip formatting what would be dropped anyway.
        if self.queue.is_closed() {
            self.core.count_closed_drop();
            return;
        }
        let level = record.level();
        let Some(pending) = self.pending(record) else {
            return;
        };
        self.emit_pending(level, pending);
    }

    fn emit_text(&self, level: Level, text: Vec<u8>) {
        let line = intake::formatted(&self.core, level, text);
        self.emit_pending(level, Pending::Line(line));
    }

    fn emit_pending(&self, level: Level, pending: Pending) {
        let closed = self.queue.is_closed();
        let pending = match admit(&self.core, level, pending, closed, self.settings.sync_level) {
            Admission::Queue(pending) => pending,
            Admission::Sync(pending) => {
                // Its error was counted and reported by whoever wrote it.
                // `sync_level` is about the file, whatever the confirmation.
                let _ = self.wait_blocking(pending, Await::InFile);
                return;
            }
            Admission::Empty | Admission::Closed => return,
        };
        let counters = &self.core.counters;
        match self.queue.try_push(Msg::Record(pending)) {
            Ok(()) => add(&counters.queued, 1),
            Err(Refused::Full(Msg::Record(pending))) => self.queue_full(pending),
            Err(_) => add(&counters.dropped, 1),
        }
    }

    fn queue_full(&self, pending: Pending) {
        let counters = &self.core.counters;
        match self.settings.fallback_mode {
            FallbackMode::Block => {
                add(&counters.waited, 1);
                let msg = match self.retry_briefly(Msg::Record(pending)) {
                    Ok(pushed) => return self.count_push(pushed),
                    Err(msg) => msg,
                };
                let pushed = blocking(|| self.queue.push_waiting(msg, false, None));
                self.count_push(pushed.is_ok());
            }
            FallbackMode::Nowait => match &self.nowait {
                Some(nowait) => {
                    let line = match pending {
                        Pending::Line(line) => line,
                        Pending::Record(record) => {
                            let Some(line) = intake::format(&self.core, &record) else {
                                return;
                            };
                            line
                        }
                    };
                    nowait.write(&self.core, line);
                }
                None => add(&counters.dropped, 1),
            },
            FallbackMode::Drop => add(&counters.dropped, 1),
        }
    }

    /// Tries `msg` again a few times, yielding the CPU in between: the
    /// writer frees room a batch at a time, usually within microseconds, and
    /// waiting that long here is far cheaper than `block_in_place` handing
    /// the worker's other tasks to another thread. `Ok(pushed)` once it was
    /// queued (`true`) or the queue closed (`false`); the message back if the
    /// queue stayed full.
    fn retry_briefly(&self, mut msg: Msg) -> std::result::Result<bool, Msg> {
        for _ in 0..BRIEF_RETRIES {
            std::thread::yield_now();
            match self.queue.try_push(msg) {
                Ok(()) => return Ok(true),
                Err(Refused::Full(back)) => msg = back,
                Err(Refused::Closed(_)) => return Ok(false),
            }
        }
        Err(msg)
    }

    /// A record's push: queued, or dropped because the queue closed.
    fn count_push(&self, pushed: bool) {
        add(
            if pushed {
                &self.core.counters.queued
            } else {
                &self.core.counters.dropped
            },
            1,
        );
    }

    /// Writes `pending`, a record its caller waits for, in the caller's
    /// thread when the handler is idle ([`Core::write_alone`]: nothing
    /// queued or unwritten, the lock free, a plain append): an idle
    /// handler's `emit_wait` then wakes no thread and waits for none. The
    /// outcome, or the record back (formatted) for the queue.
    ///
    /// Only a caller that is alone in waiting does so: while others wait
    /// too, their records share one batch (group commit), which costs each
    /// of them far less than a lock cycle of its own.
    fn write_alone(
        &self,
        pending: Pending,
        alone: bool,
    ) -> std::result::Result<Result<()>, Pending> {
        // Cheap checks first: a busy queue or a collector take the queue.
        if !alone || self.core.forward.is_some() || self.queue.depth() > 0 {
            return Err(pending);
        }
        let Some(pass) = self.queue.enter_alone() else {
            return Err(pending);
        };
        let line = match pending {
            Pending::Line(line) => line,
            Pending::Record(record) => match intake::format(&self.core, &record) {
                Some(line) => line,
                // Counted as failed, and reported.
                None => return Ok(Err(Error::plain(ErrorKind::FormatterPanicked))),
            },
        };
        let written = self
            .core
            .write_alone(&line.file, || self.queue.writer_idle(&pass));
        written.ok_or(Pending::Line(line))
    }

    /// Blocks until `pending`, a record its caller waits for, is where
    /// `awaits` says: written by the caller itself when the handler is
    /// idle, else by the writer.
    fn wait_blocking(&self, pending: Pending, awaits: Await) -> Result<()> {
        let (_waiting, alone) = self.waiting.enter();
        match self.write_alone(pending, alone) {
            Ok(written) => written,
            Err(pending) => blocking(|| self.write_and_wait(pending, awaits)),
        }
    }

    /// Queues `pending` behind the caller's earlier records and blocks until
    /// its batch was written (and, as `awaits` says, confirmed).
    fn write_and_wait(&self, pending: Pending, awaits: Await) -> Result<()> {
        let (waiter, outcome) = oneshot::channel();
        let msg = Msg::Confirmed(pending, waiter, awaits);
        let pushed = self.queue.push_waiting(msg, false, None).is_ok();
        self.count_push(pushed);
        if !pushed {
            return Err(Error::closed());
        }
        self.queue.nudge();
        answer(block_on_until(outcome, None))
    }

    fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
        if self.queue.is_closed() {
            return Err(TryEmitError::Closed(record));
        }
        if self.settings.format_on_writer {
            // The record comes back untouched when the queue refuses it.
            let (full, msg) = match self.queue.try_push(Msg::Record(Pending::Record(record))) {
                Ok(()) => {
                    add(&self.core.counters.queued, 1);
                    return Ok(());
                }
                Err(Refused::Full(msg)) => (true, msg),
                Err(Refused::Closed(msg)) => (false, msg),
            };
            // The queue hands back the message it was given.
            return match msg {
                Msg::Record(Pending::Record(record)) if full => Err(TryEmitError::Full(record)),
                Msg::Record(Pending::Record(record)) => Err(TryEmitError::Closed(record)),
                _ => Ok(()),
            };
        }
        let Some(line) = intake::format(&self.core, &record) else {
            return Ok(()); // counted as failed, and reported
        };
        match self.queue.try_push(Msg::Record(Pending::Line(line))) {
            Ok(()) => {
                add(&self.core.counters.queued, 1);
                Ok(())
            }
            Err(Refused::Full(_)) => Err(TryEmitError::Full(record)),
            Err(Refused::Closed(_)) => Err(TryEmitError::Closed(record)),
        }
    }

    /// A record whose caller waits for it, ready to queue.
    fn confirmed(&self, record: Record) -> Result<Pending> {
        if self.queue.is_closed() {
            self.core.count_closed_drop();
            return Err(Error::closed());
        }
        // A line formatted here already ends in `\n` (`Core::format`).
        self.pending(record)
            .ok_or_else(|| Error::plain(ErrorKind::FormatterPanicked))
    }

    async fn emit_wait(&self, record: Record) -> Result<()> {
        let (_waiting, alone) = self.waiting.enter();
        let pending = match self.write_alone(self.confirmed(record)?, alone) {
            Ok(written) => return written,
            Err(pending) => pending,
        };
        let (waiter, outcome) = oneshot::channel();
        let pushed = self
            .queue
            .push(Msg::Confirmed(pending, waiter, Await::Confirmed), false)
            .await;
        self.count_push(pushed.is_ok());
        pushed.map_err(|_| Error::closed())?;
        self.queue.nudge();
        answer(Some(outcome.await))
    }

    fn emit_wait_blocking(&self, record: Record) -> Result<()> {
        self.wait_blocking(self.confirmed(record)?, Await::Confirmed)
    }

    /// Resolves once everything accepted before is where `awaits` says.
    async fn flush(&self, awaits: Await) -> Result<()> {
        let (waiter, outcome) = oneshot::channel();
        self.queue
            .push(Msg::Flush(waiter, awaits), false)
            .await
            .map_err(|_| Error::closed())?;
        self.queue.nudge();
        let result = answer(Some(outcome.await));
        if let Some(nowait) = &self.nowait {
            nowait.wait_for_earlier().await;
        }
        result
    }

    async fn rotate_now(&self) -> Result<()> {
        let (waiter, outcome) = oneshot::channel();
        self.queue
            .push(Msg::Rotate(waiter), false)
            .await
            .map_err(|_| Error::closed())?;
        self.queue.nudge();
        answer(Some(outcome.await))
    }

    fn flush_blocking(&self) -> Result<()> {
        blocking(|| {
            block_on_until(self.flush(Await::Confirmed), None).unwrap_or(Err(Error::closed()))
        })
    }

    /// Closes the queue and has the writer write everything accepted, let
    /// the compressions finish and the syslog sink deliver, each by
    /// `deadline` if there is one: ends the writer (and closes the sink)
    /// for good with `exit` (shutdown), keeps it for a later
    /// [`reopen`](Self::reopen) without (stop). Every call, concurrent or
    /// later, returns once that is done.
    async fn close(&self, exit: bool, deadline: Option<Instant>) -> Result<()> {
        self.queue.close();
        let (waiter, outcome) = oneshot::channel();
        let msg = if exit {
            Msg::Shutdown(waiter, deadline)
        } else {
            Msg::Stop(waiter, deadline)
        };
        let result = match self.queue.push(msg, true).await {
            Ok(()) => {
                self.queue.nudge();
                match outcome.await {
                    Ok(result) => result,
                    // Another shutdown ended the writer first.
                    Err(_) => self.finished().await,
                }
            }
            // The writer already ended.
            Err(_) => self.finished().await,
        };
        if let Some(nowait) = &self.nowait {
            nowait.wait_for_earlier().await;
        }
        result
    }

    /// [`close`](Self::close) with a deadline `timeout` from now, which the
    /// writer, the compressions and the syslog sink all race: `Timeout` when
    /// the writer could not answer by then (it goes on in the background;
    /// a file lock held elsewhere, say).
    async fn close_within(&self, exit: bool, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let deadline = deadline_after(timeout);
        match crate::sync::until(self.close(exit, Some(deadline)), answer_by(deadline)).await {
            Some(result) => result,
            None => Err(Error::timeout(started.elapsed())),
        }
    }

    fn close_blocking(&self, exit: bool, timeout: Option<Duration>) -> Result<()> {
        let started = Instant::now();
        let deadline = timeout.map(deadline_after);
        blocking(|| block_on_until(self.close(exit, deadline), deadline.map(answer_by)))
            .unwrap_or_else(|| Err(Error::timeout(started.elapsed())))
    }

    /// Accepts records again after a stop, with a new syslog sink if the
    /// stop closed the old one.
    fn reopen(&self) -> Result<()> {
        if let Some(forward) = &self.core.forward {
            forward.reopen()?;
        }
        self.queue.reopen();
        Ok(())
    }

    async fn finished(&self) -> Result<()> {
        let mut finished = self.finished.clone();
        match finished.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Err(Error::closed())),
            // The writer thread is gone without a word: it cannot have
            // panicked (it catches panics), so this is not expected.
            Err(_) => Err(Error::closed()),
        }
    }

    fn stats(&self) -> Stats {
        self.core.stats(self.queue.depth(), self.queue.capacity())
    }
}

/// How many callers wait for their records to be written; on a cache line
/// of its own. Only a hint of whether a caller is alone (hence `Relaxed`):
/// order never rests on it, but on the gate ([`Queue::writer_idle`]).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Waiting(AtomicUsize);

impl Waiting {
    /// Counts the caller in until the guard drops; `true` with it when no
    /// other caller waits.
    fn enter(&self) -> (WaitingGuard<'_>, bool) {
        let others = self.0.fetch_add(1, Ordering::Relaxed);
        (WaitingGuard(self), others == 0)
    }
}

/// A caller counted in [`Waiting`] until dropped.
struct WaitingGuard<'a>(&'a Waiting);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A writer's answer; a waiter dropped unanswered (the writer recovered
/// from a panic in that batch) reads as `Closed`.
fn answer(
    outcome: Option<std::result::Result<Result<()>, oneshot::error::RecvError>>,
) -> Result<()> {
    match outcome {
        Some(Ok(result)) => result,
        Some(Err(_)) | None => Err(Error::closed()),
    }
}

/// When a caller whose deadline is `deadline` stops waiting for the
/// writer's answer: the writer and the sink end their work at the deadline
/// itself, and their answer needs a moment to arrive.
fn answer_by(deadline: Instant) -> Instant {
    deadline
        .checked_add(Duration::from_millis(500))
        .unwrap_or(deadline)
}

/// How often a `Block` caller that found the queue full tries again, yielding
/// in between, before it blocks.
const BRIEF_RETRIES: usize = 16;

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

impl super::exit::DrainAtExit for Shared {
    fn drain_at_exit(&self, wait: Duration) {
        let Some(queued) = self.state.existing() else {
            return;
        };
        let deadline = deadline_after(wait);
        // Stopped or shut down: nothing was left queued; a stopped handler's
        // sink may still hold records, which its close below counts.
        if !queued.queue.is_closed() {
            queued.write_at_exit(deadline, wait);
        }
        queued.core.close_forwarding(Some(deadline), "at exit");
    }
}

impl Queued {
    /// Writes what is queued, by `deadline`; counts as dropped and says on
    /// stderr what could not be written.
    fn write_at_exit(&self, deadline: Instant, wait: Duration) {
        let queued = self;
        let flushed = block_on_until(queued.flush(Await::InFile), Some(deadline));
        let stats = queued.stats();
        let unwritten = stats
            .emitted
            .saturating_sub(stats.written + stats.dropped + stats.failed);
        if unwritten == 0 && flushed.is_some() {
            return;
        }
        add(&queued.core.counters.dropped, unwritten);
        crate::report::to_stderr(&format!(
            "concurrent_log_handler: {unwritten} records queued for {} were not written before \
             the process exited (waited {wait:?}); call shutdown (async handler) or stop \
             (thread handler) before exiting",
            queued.core.path.display()
        ));
    }
}

impl QueuedHandle {
    /// Opens the log and starts the writer; `runtime` is where `Nowait`
    /// writes go.
    pub(crate) fn start(settings: Settings, runtime: Option<Handle>) -> Result<QueuedHandle> {
        settings.check()?;
        let settings = Arc::new(settings);
        let queued = Queued::start(Arc::clone(&settings), runtime)?;
        let shared = Arc::new(Shared {
            settings,
            state: PerProcess::new(queued),
        });
        let weak: std::sync::Weak<dyn super::exit::DrainAtExit> = Arc::downgrade(&shared) as _;
        super::exit::register(weak);
        Ok(QueuedHandle { shared })
    }

    /// This process's queue and writer: those built, or in a forked child
    /// those it built for itself at its first use (`Nowait` falls back to
    /// `Drop` there unless the child runs a tokio runtime).
    fn current(&self) -> Option<&Queued> {
        let settings = &self.shared.settings;
        self.shared.state.get(
            || Queued::start(Arc::clone(settings), Handle::try_current().ok()),
            crate::report::report_to_stderr,
        )
    }

    fn current_or_closed(&self) -> Result<&Queued> {
        self.current().ok_or_else(Error::closed)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The `Debug` of a handler over this queue: path, policy and stats,
    /// never the file's mutex (it may wait behind another process's lock).
    pub(crate) fn fmt_as(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = self.settings();
        f.debug_struct(name)
            .field("path", &self.path())
            .field("fallback_mode", &settings.fallback_mode)
            .field("sync_level", &settings.sync_level)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }

    /// Whether the handler's filter lets a record of `target` at `level`
    /// through.
    pub(crate) fn enabled(&self, target: &str, level: Level) -> bool {
        self.shared.settings.common.passes(target, level)
    }

    fn filters_out(&self, record: &Record) -> bool {
        !self.enabled(record.target(), record.level())
    }

    pub(crate) fn emit(&self, record: Record) {
        if self.filters_out(&record) {
            return;
        }
        if let Some(queued) = self.current() {
            queued.emit(record);
        }
    }

    pub(crate) fn emit_text(&self, level: Level, text: Vec<u8>) {
        if let Some(queued) = self.current() {
            queued.emit_text(level, text);
        }
    }

    pub(crate) fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
        if self.filters_out(&record) {
            return Ok(());
        }
        match self.current() {
            Some(queued) => queued.try_emit(record),
            None => Err(TryEmitError::Closed(record)),
        }
    }

    pub(crate) async fn emit_wait(&self, record: Record) -> Result<()> {
        if self.filters_out(&record) {
            return Ok(());
        }
        self.current_or_closed()?.emit_wait(record).await
    }

    pub(crate) fn emit_wait_blocking(&self, record: Record) -> Result<()> {
        if self.filters_out(&record) {
            return Ok(());
        }
        self.current_or_closed()?.emit_wait_blocking(record)
    }

    pub(crate) async fn flush(&self) -> Result<()> {
        self.current_or_closed()?.flush(Await::Confirmed).await
    }

    pub(crate) fn flush_blocking(&self) -> Result<()> {
        self.current_or_closed()?.flush_blocking()
    }

    pub(crate) async fn rotate_now(&self) -> Result<()> {
        self.current_or_closed()?.rotate_now().await
    }

    /// [`flush_blocking`](Self::flush_blocking) with a deadline.
    pub(crate) fn flush_blocking_within(&self, timeout: Duration) -> Result<()> {
        let queued = self.current_or_closed()?;
        let started = Instant::now();
        blocking(|| block_on_until(queued.flush(Await::Confirmed), Some(started + timeout)))
            .unwrap_or_else(|| Err(Error::timeout(started.elapsed())))
    }

    pub(crate) fn rotate_now_blocking(&self) -> Result<()> {
        let queued = self.current_or_closed()?;
        blocking(|| block_on_until(queued.rotate_now(), None).unwrap_or(Err(Error::closed())))
    }

    pub(crate) async fn shutdown(&self) -> Result<()> {
        self.current_or_closed()?.close(true, None).await
    }

    pub(crate) async fn shutdown_within(&self, timeout: Duration) -> Result<()> {
        self.current_or_closed()?.close_within(true, timeout).await
    }

    pub(crate) fn shutdown_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        self.current_or_closed()?.close_blocking(true, timeout)
    }

    pub(crate) fn stop_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        self.current_or_closed()?.close_blocking(false, timeout)
    }

    pub(crate) fn start_again(&self) -> Result<()> {
        self.current_or_closed()?.reopen()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.current().is_none_or(|queued| queued.queue.is_closed())
    }

    pub(crate) fn stats(&self) -> Stats {
        self.current().unwrap_or(self.shared.state.first()).stats()
    }

    pub(crate) fn path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.path.clone()
    }

    pub(crate) fn lock_path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.lock_path.clone()
    }

    /// Reports `error` through this handler's rate-limited reporter.
    pub(crate) fn report(&self, error: &Error) {
        match self.current() {
            Some(queued) => queued.core.errors.report(error),
            None => crate::report::report_to_stderr(error),
        }
    }
}

/// The options both queued builders share, as setters writing into the
/// `queue_capacity`, `fallback_mode` and `sync_level` of their `settings`.
macro_rules! queued_options {
    () => {
        /// How many records the queue holds (1 to
        /// [`MAX_QUEUE_CAPACITY`](crate::MAX_QUEUE_CAPACITY)). Its slots,
        /// about 64 bytes each, are reserved when the handler is built (the
        /// default: 640 KB); what the queued records hold (formatted lines,
        /// owned strings) comes on top, so memory is bounded by this times
        /// the size of a record.
        pub fn queue_capacity(mut self, capacity: usize) -> Self {
            self.settings.queue_capacity = capacity;
            self
        }

        /// What `emit` does when the queue is full; see
        /// [`FallbackMode`](crate::FallbackMode).
        pub fn fallback_mode(mut self, mode: crate::FallbackMode) -> Self {
            self.settings.fallback_mode = mode;
            self
        }

        /// Records at or above this level are queued behind the caller's
        /// earlier records and written before `emit` returns; `None` queues
        /// every level without waiting.
        pub fn sync_level(mut self, level: impl Into<Option<crate::Level>>) -> Self {
            self.settings.sync_level = level.into();
            self
        }

        /// Where records become lines. `true` (the default): a record
        /// travels through the queue as it is (level, strings, typed
        /// values; one pointer wide) and the writer thread formats it into
        /// the batch it writes, so the caller pays only for building the
        /// record and queueing it. When the writer falls more than a batch
        /// behind, callers format their records themselves (they would
        /// soon wait for room anyway), so producers that together outpace
        /// one formatting thread share the work; and a waiting caller that
        /// writes its record itself (`emit_wait` on an idle handler)
        /// formats it too. `false`: every caller
        /// formats its record before queueing it, which a
        /// [`Formatter`](crate::format::Formatter) of your own needs if it
        /// reads anything of the calling thread (its name, a thread-local,
        /// a task-local). A record's timestamp and pid are taken when it is
        /// built, so they are the same either way; records keep their order
        /// either way.
        ///
        /// ```
        /// # fn main() -> concurrent_log_handler::Result<()> {
        /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
        ///
        /// let dir = tempfile::tempdir().unwrap();
        /// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log"))
        ///     .format_on_writer(false)
        ///     .build()?;
        /// handler.emit(Record::new(Level::Info, "formatted by the caller"));
        /// drop(guard);
        /// let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
        /// assert!(text.ends_with("formatted by the caller\n"));
        /// # Ok(())
        /// # }
        /// ```
        pub fn format_on_writer(mut self, on_writer: bool) -> Self {
            self.settings.format_on_writer = on_writer;
            self
        }
    };
}
pub(crate) use queued_options;
