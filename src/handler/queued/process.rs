//! `Queued`: one process's queue, writer thread and counters, and every step
//! from a record to the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::handler::intake::{self, Admission, admit};
use crate::handler::nowait::Nowait;

use super::Settings;
use crate::clock::deadline_after;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{FallbackMode, TryEmitError};
use crate::queue::{Await, Msg, Pending, Queue, Refused, queue};
use crate::record::{Level, Record};
use crate::stats::{Stats, add};
use crate::sync::{block_on_until, blocking};
use crate::writer::thread::Finished;
use crate::writer::{BatchWriter, Core};

/// How a close ends the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Close {
    /// The thread handler's stop: the writer stays, for a later start.
    Stop,
    /// The writer ends for good.
    Shutdown,
}

/// The queue, the writer thread and the counters of one process.
pub(crate) struct Queued {
    pub(super) queue: Queue,
    pub(super) core: Arc<Core>,
    /// Tells every `shutdown` caller how the writer ended.
    finished: Finished,
    /// `Nowait` writes on a runtime's blocking pool, when that mode is on.
    nowait: Option<Arc<Nowait>>,
    /// Callers waiting for their records to be written.
    waiting: Waiting,
    settings: Arc<Settings>,
}

impl Queued {
    pub(super) fn start(settings: Arc<Settings>, runtime: Option<Handle>) -> Result<Queued> {
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
    pub(super) fn pending(&self, record: Record) -> Option<Pending> {
        // A writer more than a batch behind is the bottleneck: the caller,
        // which would wait for room anyway, formats its record itself.
        let on_writer = self.settings.format_on_writer
            && self.queue.depth() < crate::writer::MAX_BATCH_RECORDS as u64;
        intake::pending(&self.core, record, on_writer)
    }

    pub(super) fn emit(&self, record: Record) {
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

    pub(super) fn emit_text(&self, level: Level, text: Vec<u8>) {
        let line = intake::formatted(&self.core, level, text);
        self.emit_pending(level, Pending::Line(line));
    }

    pub(super) fn emit_pending(&self, level: Level, pending: Pending) {
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

    pub(super) fn queue_full(&self, pending: Pending) {
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
    pub(super) fn retry_briefly(&self, mut msg: Msg) -> std::result::Result<bool, Msg> {
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
    pub(super) fn count_push(&self, pushed: bool) {
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
    pub(super) fn write_alone(
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
    pub(super) fn wait_blocking(&self, pending: Pending, awaits: Await) -> Result<()> {
        let (_waiting, alone) = self.waiting.enter();
        match self.write_alone(pending, alone) {
            Ok(written) => written,
            Err(pending) => blocking(|| self.write_and_wait(pending, awaits)),
        }
    }

    /// Queues `pending` behind the caller's earlier records and blocks until
    /// its batch was written (and, as `awaits` says, confirmed).
    pub(super) fn write_and_wait(&self, pending: Pending, awaits: Await) -> Result<()> {
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

    pub(super) fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
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
    pub(super) fn confirmed(&self, record: Record) -> Result<Pending> {
        if self.queue.is_closed() {
            self.core.count_closed_drop();
            return Err(Error::closed());
        }
        // A line formatted here already ends in `\n` (`Core::format`).
        self.pending(record)
            .ok_or_else(|| Error::plain(ErrorKind::FormatterPanicked))
    }

    pub(super) async fn emit_wait(&self, record: Record) -> Result<()> {
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

    pub(super) fn emit_wait_blocking(&self, record: Record) -> Result<()> {
        self.wait_blocking(self.confirmed(record)?, Await::Confirmed)
    }

    /// Resolves once everything accepted before is where `awaits` says.
    pub(super) async fn flush(&self, awaits: Await) -> Result<()> {
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

    pub(super) async fn rotate_now(&self) -> Result<()> {
        let (waiter, outcome) = oneshot::channel();
        self.queue
            .push(Msg::Rotate(waiter), false)
            .await
            .map_err(|_| Error::closed())?;
        self.queue.nudge();
        answer(Some(outcome.await))
    }

    pub(super) fn flush_blocking(&self) -> Result<()> {
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
    pub(super) async fn close(&self, how: Close, deadline: Option<Instant>) -> Result<()> {
        self.queue.close();
        let (waiter, outcome) = oneshot::channel();
        let msg = match how {
            Close::Shutdown => Msg::Shutdown(waiter, deadline),
            Close::Stop => Msg::Stop(waiter, deadline),
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
    pub(super) async fn close_within(&self, how: Close, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let deadline = deadline_after(timeout);
        match crate::sync::until(self.close(how, Some(deadline)), answer_by(deadline)).await {
            Some(result) => result,
            None => Err(Error::timeout(started.elapsed())),
        }
    }

    pub(super) fn close_blocking(&self, how: Close, timeout: Option<Duration>) -> Result<()> {
        let started = Instant::now();
        let deadline = timeout.map(deadline_after);
        blocking(|| block_on_until(self.close(how, deadline), deadline.map(answer_by)))
            .unwrap_or_else(|| Err(Error::timeout(started.elapsed())))
    }

    /// Accepts records again after a stop, with a new syslog sink if the
    /// stop closed the old one.
    pub(super) fn reopen(&self) -> Result<()> {
        if let Some(forward) = &self.core.forward {
            forward.reopen()?;
        }
        self.queue.reopen();
        Ok(())
    }

    pub(super) async fn finished(&self) -> Result<()> {
        let mut finished = self.finished.clone();
        match finished.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Err(Error::closed())),
            // The writer thread is gone without a word: it cannot have
            // panicked (it catches panics), so this is not expected.
            Err(_) => Err(Error::closed()),
        }
    }

    pub(super) fn stats(&self) -> Stats {
        self.core.stats(self.queue.depth(), self.queue.capacity())
    }
}

impl Queued {
    /// Writes what is queued, by `deadline`; counts as dropped and says on
    /// stderr what could not be written.
    pub(super) fn write_at_exit(&self, deadline: Instant, wait: Duration) {
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

/// How many callers wait for their records to be written; on a cache line
/// of its own. Only a hint of whether a caller is alone (hence `Relaxed`):
/// order never rests on it, but on the gate ([`Queue::writer_idle`]).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Waiting(AtomicUsize);

impl Waiting {
    /// Counts the caller in until the guard drops; `true` with it when no
    /// other caller waits.
    pub(super) fn enter(&self) -> (WaitingGuard<'_>, bool) {
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
