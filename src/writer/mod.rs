//! The batch logic every front-end shares.
//!
//! The writer thread ([`thread`]) drains the queue into a `Vec<Msg>` and hands
//! it to [`BatchWriter::process`], which joins the lines, writes them with one
//! lock and one `write`, tells each waiting caller of that batch the outcome
//! (group commit), writes a report of dropped records into the log, then
//! offers the batch to the syslog sink when the handler forwards (see
//! [`crate::forward`]; the file never waits on the network), and hands the
//! written lines' buffers back to the callers (see [`crate::buffers`]).
//! This module knows nothing of how records were produced or queued.
//!
//! Errors never stop the writer. A failed batch fails its waiters at once; its
//! fire-and-forget lines are kept (up to [`RETRY_CAPACITY`]) and written again
//! when the backoff says so ([`BatchWriter::retry_due`]), whether or not new
//! records come.
//!
//! [`Core`] is what the writer shares with the callers: the locked file
//! behind a mutex, the counters, the formatter, the error reporter.

mod core;
mod drops;
mod in_caller;
pub(crate) mod thread;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::file::{BatchOutcome, MAX_KEPT_SCRATCH};
use crate::forward::Outgoing;
use crate::stats::add;
use crate::sync::lock_unpoisoned;

pub(crate) use self::core::Core;
use self::drops::DropReporter;
use crate::confirm::Confirm;
use crate::queue::{Await, Line, Msg, Pending, Waiter};

pub(crate) use crate::rest::MAX_BATCH_RECORDS;
/// Most fire-and-forget lines kept for another attempt after a failed write;
/// beyond this they are counted as failed.
pub(crate) const RETRY_CAPACITY: usize = 10_000;
/// A buffer of the writer's own larger than this is not kept for reuse.
const MAX_KEPT_LINE: usize = 1024;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// One line of the batch being written.
#[derive(Debug)]
struct Entry {
    line: Vec<u8>,
    kind: EntryKind,
    /// The buffer is the writer's own (it formatted the record): once
    /// written it is kept for the next record the writer formats, rather
    /// than handed back to the callers.
    own: bool,
}

#[derive(Debug)]
enum EntryKind {
    /// A record, with the file's part of its caller's waiter, if any.
    Record(Option<Confirm>),
    /// The handler's own report of this many dropped records.
    DropReport(u64),
    /// The handler's own report of this many records the syslog sink gave up.
    ForwardReport(u64),
}

impl AsRef<[u8]> for Entry {
    fn as_ref(&self) -> &[u8] {
        &self.line
    }
}

/// The writer's state between batches.
#[derive(Debug)]
pub(crate) struct BatchWriter {
    core: Arc<Core>,
    batch: Vec<Entry>,
    scratch: Vec<u8>,
    /// Fire-and-forget lines of a failed batch, written again with the next one.
    retry: Vec<Vec<u8>>,
    /// Buffers of written lines, on their way back to the callers.
    spent: Vec<Vec<u8>>,
    /// Empty buffers for the records the writer formats itself.
    free: Vec<Vec<u8>>,
    /// What the batch being written offers the syslog sink once it is in
    /// the file: its records' messages and its flushes' marks, in order.
    forwarded: Vec<Outgoing>,
    /// Callers of `stop`/`shutdown` waiting for [`finish`](Self::finish).
    stops: Vec<Waiter>,
    /// The earliest deadline among them.
    stop_deadline: Option<Instant>,
    /// A `Shutdown` was taken: the writer ends after finishing.
    exiting: bool,
    drops: DropReporter,
    /// Reports of records the syslog sink gave up.
    refusals: DropReporter,
    backoff: Duration,
    /// When the lines kept for retry are due for another attempt.
    next_attempt: Option<Instant>,
    last_error: Option<Error>,
    /// Lines nobody waits for, written since the last flush or stop, whose
    /// sync failed (`durable`): they are not retried, so the next flush or
    /// stop reports it, once. Lines whose callers were told are not here.
    unsynced: Option<Error>,
}

impl BatchWriter {
    pub(crate) fn new(core: Arc<Core>) -> BatchWriter {
        BatchWriter {
            core,
            batch: Vec::with_capacity(MAX_BATCH_RECORDS),
            scratch: Vec::new(),
            retry: Vec::new(),
            spent: Vec::with_capacity(MAX_BATCH_RECORDS),
            free: Vec::with_capacity(MAX_BATCH_RECORDS),
            forwarded: Vec::new(),
            stops: Vec::new(),
            stop_deadline: None,
            exiting: false,
            drops: DropReporter::queue(),
            refusals: DropReporter::forwarding(),
            backoff: FIRST_BACKOFF,
            next_attempt: None,
            last_error: None,
            unsynced: None,
        }
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// When lines kept from a failed batch are due for another attempt:
    /// `None` when nothing waits for a retry.
    pub(crate) fn retry_due(&self) -> Option<Instant> {
        self.next_attempt.filter(|_| self.has_backlog())
    }

    /// Whether lines of a failed write wait for another attempt.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.retry.is_empty()
    }

    /// Whether a `stop` or `shutdown` is waiting for [`finish`](Self::finish).
    pub(crate) fn stop_requested(&self) -> bool {
        !self.stops.is_empty()
    }

    /// Whether a `shutdown` asked the writer to end after finishing.
    pub(crate) fn exit_requested(&self) -> bool {
        self.exiting
    }

    /// Writes the lines of `msgs` (drained from the queue, in order), after
    /// any lines kept for a retry, as one batch and resolves its waiters.
    /// Leaves `msgs` empty for reuse.
    pub(crate) fn process(&mut self, msgs: &mut Vec<Msg>) {
        let mut flushes = Vec::new();
        let mut force_report = false;
        self.start_batch_with_retries();
        for msg in msgs.drain(..) {
            match msg {
                Msg::Record(pending) => self.push_record(pending, None),
                Msg::Confirmed(pending, waiter, awaits) => {
                    self.push_record(pending, Some((waiter, awaits)));
                }
                Msg::Flush(waiter, awaits) => {
                    // The file's part answers after this batch; the
                    // collector's, when the mark settles in the sink.
                    let file = match &self.core.forward {
                        Some(forward) if awaits == Await::Confirmed => {
                            let (file, mark) = forward.mark(waiter);
                            self.forwarded.extend(mark);
                            file
                        }
                        _ => Some(Confirm::new(waiter)),
                    };
                    flushes.extend(file);
                    force_report = true;
                }
                Msg::Rotate(waiter) => {
                    // What came before goes into the file being rotated.
                    let _ = self.write_batch();
                    let _ = waiter.send(self.core.rotate_now());
                    // Lines that write could not write (kept for a retry)
                    // go first into the new file, before what follows.
                    self.start_batch_with_retries();
                }
                Msg::Stop(waiter, deadline) => self.stop_requested_by(waiter, deadline),
                Msg::Shutdown(waiter, deadline) => {
                    self.stop_requested_by(waiter, deadline);
                    self.exiting = true;
                }
            }
        }
        force_report |= self.stop_requested();
        self.push_drop_report(force_report);
        let ok = self.write_batch();
        if flushes.is_empty() {
            return;
        }
        let outcome = self.outcome(ok);
        for confirm in flushes {
            confirm.send(outcome.clone());
        }
    }

    fn stop_requested_by(&mut self, waiter: Waiter, deadline: Option<Instant>) {
        self.stops.push(waiter);
        if let Some(deadline) = deadline {
            self.stop_deadline = Some(self.stop_deadline.map_or(deadline, |d| d.min(deadline)));
        }
    }

    /// Adds a record to the batch: its line for the file (formatted here if
    /// its caller left that to the writer), its message for the collector,
    /// and its caller's waiter split by what it waits for.
    fn push_record(&mut self, pending: Pending, waiter: Option<(Waiter, Await)>) {
        let (line, own) = match pending {
            Pending::Line(line) => (line, false),
            Pending::Record(record) => {
                let mut file = self.free.pop().unwrap_or_default();
                if !self.core.format_into(&record, &mut file) {
                    // Reported; the record was counted as queued.
                    self.free.push(file);
                    add(&self.core.counters.failed, 1);
                    if let Some((waiter, _)) = waiter {
                        let _ = waiter.send(Err(Error::plain(ErrorKind::FormatterPanicked)));
                    }
                    return;
                }
                (self.core.with_syslog(&record, file), true)
            }
        };
        let Line { file, syslog } = line;
        let for_file = match (&self.core.forward, syslog) {
            (Some(forward), Some(message)) => {
                let (for_file, outgoing) = forward.envelope(message, waiter);
                self.forwarded.push(outgoing);
                for_file
            }
            (_, _) => waiter.map(|(waiter, _)| Confirm::new(waiter)),
        };
        self.batch.push(Entry {
            line: file,
            kind: EntryKind::Record(for_file),
            own,
        });
    }

    /// One last attempt at what is left, then the `stop`/`shutdown` callers
    /// learn how it ended, once the compressions of rotated backups are
    /// done too and the syslog sink delivered what it holds, each by the
    /// callers' deadline (without one: compressions at most
    /// [`crate::file::COMPRESSION_DROP_WAIT`], the sink its confirm
    /// timeout). See [`Ending`] for what each ending gives up.
    pub(crate) fn finish(&mut self, ending: Ending) -> Result<()> {
        let deadline = self.stop_deadline.take();
        self.start_batch_with_retries();
        self.push_drop_report(true);
        let ok = self.write_batch();
        if ending != Ending::Flush {
            add(&self.core.counters.failed, self.retry.len() as u64);
            self.retry.clear();
        }
        let mut outcome = self.outcome(ok);
        if let Some(forward) = &self.core.forward {
            let forwarded = match ending {
                Ending::Stop | Ending::Shutdown => forward.close(deadline),
                Ending::Flush => forward.flush_within(deadline),
            };
            if outcome.is_ok() {
                outcome = forwarded;
            }
        }
        if ending != Ending::Flush {
            let wait = deadline.map_or(crate::file::COMPRESSION_DROP_WAIT, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            self.core.wait_for_compression(wait);
        }
        for waiter in self.stops.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        outcome
    }

    /// What a flush or stop answers: `Ok` when the last batch was written
    /// whole, nothing awaits a retry, and no line that nobody waited for
    /// failed to sync since the last answer. A failure each waiting caller
    /// was told of is not told again here.
    fn outcome(&mut self, last_batch_ok: bool) -> Result<()> {
        if let Some(unsynced) = self.unsynced.take() {
            return Err(unsynced);
        }
        if last_batch_ok && self.retry.is_empty() {
            return Ok(());
        }
        Err(self.last_error.clone().unwrap_or(Error::closed()))
    }

    /// A new batch begins with the lines a failed write left for retry.
    fn start_batch_with_retries(&mut self) {
        self.batch.clear();
        self.batch.extend(self.retry.drain(..).map(|line| Entry {
            line,
            kind: EntryKind::Record(None),
            own: false,
        }));
    }

    /// Adds the handler's own reports of dropped and of unforwarded records
    /// to the batch, when due (always with `force`).
    fn push_drop_report(&mut self, force: bool) {
        let dropped = self
            .core
            .counters
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed);
        push_report(
            &self.core,
            &mut self.batch,
            &mut self.drops,
            dropped,
            force,
            EntryKind::DropReport,
        );
        let refused = self.core.forward.as_ref().map_or(0, |f| f.dropped());
        push_report(
            &self.core,
            &mut self.batch,
            &mut self.refusals,
            refused,
            force,
            EntryKind::ForwardReport,
        );
    }

    /// Writes `self.batch` under one lock, then offers what it forwards to
    /// the syslog sink (under the same hold of the file, so the collector
    /// gets records in file order); returns whether all of the batch was
    /// written (and, with `durable`, synced).
    fn write_batch(&mut self) -> bool {
        if self.batch.is_empty() {
            if let Some(forward) = &self.core.forward {
                forward.offer(&mut self.forwarded);
            }
            return true;
        }
        let mut file = lock_unpoisoned(&self.core.file);
        let BatchOutcome {
            written,
            error: failure,
            report,
        } = file.write_records(&self.batch, &mut self.scratch);
        if let Some(forward) = &self.core.forward {
            // Each record once, at its first attempt, whatever the file's
            // outcome: a full disk must not silence the collector.
            forward.offer(&mut self.forwarded);
        }
        drop(file);
        if self.scratch.capacity() > MAX_KEPT_SCRATCH {
            self.scratch = Vec::new();
        }
        let counters = &self.core.counters;
        add(&counters.batches, 1);
        self.core.account(&report, failure.as_ref());
        // Lines in the file but not synced are not retried (that would
        // write them twice); their waiters learn they are not on disk, and
        // the next flush or stop answers for the lines nobody waits for.
        let unsynced = report.sync_error.clone();
        let untold = unsynced.is_some()
            && self.batch[..written]
                .iter()
                .any(|e| !matches!(e.kind, EntryKind::Record(Some(_))));
        // Counted before any waiter hears of it: a caller that looks at the
        // stats once its record is confirmed sees it counted.
        let reports = self.batch[..written]
            .iter()
            .filter(|e| !matches!(e.kind, EntryKind::Record(_)))
            .count();
        add(&counters.written, (written - reports) as u64);
        add(&counters.drop_reports, reports as u64);
        let mut entries = self.batch.drain(..);
        for entry in entries.by_ref().take(written) {
            if entry.own && entry.line.capacity() <= MAX_KEPT_LINE {
                let mut line = entry.line;
                line.clear();
                self.free.push(line);
            } else {
                self.spent.push(entry.line);
            }
            if let EntryKind::Record(Some(confirm)) = entry.kind {
                confirm.send(match &unsynced {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                });
            }
        }
        crate::buffers::recycle(&mut self.spent);
        let unsynced = unsynced.filter(|_| untold);
        if let Some(e) = &unsynced {
            self.unsynced = Some(e.clone());
        }
        let Some(error) = failure else {
            self.backoff = FIRST_BACKOFF;
            self.next_attempt = None;
            self.last_error = unsynced.clone();
            return unsynced.is_none();
        };
        for entry in entries {
            match entry.kind {
                EntryKind::Record(None) if self.retry.len() < RETRY_CAPACITY => {
                    self.retry.push(entry.line);
                }
                EntryKind::Record(None) => add(&counters.failed, 1),
                EntryKind::Record(Some(confirm)) => {
                    // The caller learns of the failure and owns the decision to
                    // retry; writing it later too would duplicate the line.
                    add(&counters.failed, 1);
                    confirm.send(Err(error.clone()));
                }
                EntryKind::DropReport(count) => self.drops.unreport(count),
                EntryKind::ForwardReport(count) => self.refusals.unreport(count),
            }
        }
        self.next_attempt = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        self.last_error = Some(error);
        false
    }
}

/// How the writer finishes when a stop or shutdown asks it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A stop that found the handler started again meanwhile: only a
    /// flush; lines that cannot be written stay for the next attempt.
    Flush,
    /// A stop: lines that still cannot be written are counted as failed,
    /// compressions finish, the syslog sink delivers what it holds by the
    /// deadline and is closed; what it could not deliver is given up and
    /// counted. The handler can be started again (with a new sink).
    Stop,
    /// A shutdown, or every handle gone: as `Stop`, for good.
    Shutdown,
}

/// Adds `reporter`'s report of `total` records to `batch` when it is due,
/// as an entry of `kind`. The report goes through the user's formatter: a
/// panicking formatter loses the report (it is due again later), never the
/// writer.
fn push_report(
    core: &Core,
    batch: &mut Vec<Entry>,
    reporter: &mut DropReporter,
    total: u64,
    force: bool,
    kind: fn(u64) -> EntryKind,
) {
    let Some((record, count)) = reporter.due(total, force) else {
        return;
    };
    match core.format(&record) {
        Some(line) => batch.push(Entry {
            line,
            kind: kind(count),
            own: false,
        }),
        None => reporter.unreport(count),
    }
}
