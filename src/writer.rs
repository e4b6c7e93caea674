//! The batch logic both front-ends share.
//!
//! A front-end drains its queue into a `Vec<Msg>` and hands it to
//! [`BatchWriter::process`], which joins the lines, writes them with one lock
//! and one `write`, tells each `emit_wait` caller of that batch the outcome
//! (group commit), writes a report of dropped records into the log, and hands
//! the written lines' buffers back to the callers (see [`crate::buffers`]). The
//! tokio front-end calls it from a `spawn_blocking` job that runs while records
//! keep coming, the thread front-end from its own thread. This module knows
//! nothing of how records were produced or queued.
//!
//! Errors never stop the writer. A failed batch fails its waiters at once; its
//! fire-and-forget lines are kept (up to [`RETRY_CAPACITY`]) and written again,
//! after a backoff, with the next batch.
//!
//! [`Core`] is what the writer shares with the callers' fallback paths: the
//! locked file behind a mutex, the counters, the formatter, the error reporter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::file::{
    BatchOutcome, FileConfig, LockedFile, MAX_KEPT_SCRATCH, WriteReport, lock_unpoisoned,
};
use crate::format::{Formatter, end_line, format_line};
use crate::record::{Level, Record};
use crate::report::{DropReporter, ErrorReporter};
use crate::stats::{Counters, add};

/// Tells one waiting caller how its record, flush or shutdown went.
pub(crate) type Waiter = oneshot::Sender<Result<()>>;

/// One queue slot. Control messages never share a slot with log bytes.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A formatted line, fire-and-forget.
    Line(Vec<u8>),
    /// A formatted line whose caller awaits the outcome of its batch.
    Confirmed(Vec<u8>, Waiter),
    /// Resolve once everything queued before it is written.
    Flush(Waiter),
    /// Write everything queued, then stop.
    Shutdown(Waiter),
}

/// Most records the writer takes into one batch (one lock, one write).
pub(crate) const MAX_BATCH_RECORDS: usize = 1_024;
/// Most fire-and-forget lines kept for another attempt after a failed write;
/// beyond this they are counted as failed.
pub const RETRY_CAPACITY: usize = 10_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the writer and the callers' fallback paths share.
pub(crate) struct Core {
    /// The absolute log path (also inside `file`, which may be locked for long).
    pub(crate) path: std::path::PathBuf,
    pub(crate) file: Mutex<LockedFile>,
    /// Lines of callers writing in their own thread, waiting for `file`
    /// (see [`Core::write_now`]). Locked only briefly, and after `file` when
    /// both are held.
    in_caller: Mutex<Vec<InCaller>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) formatter: Arc<dyn Formatter>,
    pub(crate) errors: Arc<ErrorReporter>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("file", &self.file)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Core {
    pub(crate) fn open(file: &FileConfig, formatter: Arc<dyn Formatter>) -> Result<Arc<Core>> {
        let counters = Arc::new(Counters::default());
        let errors = Arc::new(ErrorReporter::default());
        let file = LockedFile::open(file, Arc::clone(&counters), Arc::clone(&errors))?;
        Ok(Arc::new(Core {
            path: file.path().to_path_buf(),
            file: Mutex::new(file),
            in_caller: Mutex::new(Vec::new()),
            counters,
            formatter,
            errors,
        }))
    }

    /// Waits until background compressions queued so far are done, or
    /// `timeout` passed; returns whether they are. The log's mutex is not held
    /// while waiting.
    pub(crate) fn wait_for_compression(&self, timeout: Duration) -> bool {
        let idle = lock_unpoisoned(&self.file).compression_idle();
        idle.is_none_or(|idle| idle.wait(timeout))
    }

    /// The first steps every front-end takes with a line before queueing it;
    /// the counting rules behind `emitted == written + dropped + failed` live
    /// here. An empty line is not logged; a missing final `\n` is added.
    pub(crate) fn admit(
        &self,
        level: Level,
        mut line: Vec<u8>,
        closed: bool,
        sync_level: Option<Level>,
    ) -> Admission {
        if line.is_empty() {
            return Admission::Empty;
        }
        end_line(&mut line);
        if closed {
            self.count_closed_drop();
            return Admission::Closed;
        }
        // `emitted` is counted by the outcome: queued, fallback or dropped.
        if sync_level.is_some_and(|sync| level >= sync) {
            add(&self.counters.fallback, 1);
            return Admission::WriteNow(line);
        }
        Admission::Queue(line)
    }

    /// A record handed over after the handler closed: emitted and dropped.
    pub(crate) fn count_closed_drop(&self) {
        add(&self.counters.dropped, 1);
    }

    /// The record as one line of bytes, formatted in the calling thread.
    pub(crate) fn format(&self, record: &Record) -> Vec<u8> {
        format_line(&*self.formatter, record)
    }

    /// Writes one line now, in the calling thread, under the lock: the path of
    /// `sync_level` records and of the `Block` and `Nowait` fallbacks.
    ///
    /// Callers that get here at the same time share one lock cycle (flat
    /// combining): each leaves its line in [`Core::in_caller`] and waits for
    /// the file; whoever gets the file first writes every line left there as
    /// one batch and tells each caller how its line went. Lines keep the order
    /// they were left in. Every caller still returns only once its own line
    /// was written (or failed).
    pub(crate) fn write_now(&self, line: Vec<u8>) -> Result<()> {
        let outcome: Arc<Outcome> = Arc::default();
        lock_unpoisoned(&self.in_caller).push(InCaller {
            line,
            outcome: Arc::clone(&outcome),
        });
        let mut file = lock_unpoisoned(&self.file);
        // Written by an earlier holder of the file, which filled our outcome
        // before it let go of the file.
        if let Some(result) = lock_unpoisoned(&outcome).take() {
            return result;
        }
        // Our line is still waiting (only a holder of the file takes lines),
        // and so may others'.
        let waiting = std::mem::take(&mut *lock_unpoisoned(&self.in_caller));
        let mut scratch = Vec::new();
        let batch = file.write_records(&waiting, &mut scratch);
        self.account(&batch.report, batch.error.as_ref());
        add(&self.counters.written, batch.written as u64);
        add(
            &self.counters.failed,
            (waiting.len() - batch.written) as u64,
        );
        let mut spent = Vec::with_capacity(waiting.len());
        for (i, waiter) in waiting.into_iter().enumerate() {
            let result = match &batch.error {
                Some(error) if i >= batch.written => Err(error.clone()),
                _ => Ok(()),
            };
            *lock_unpoisoned(&waiter.outcome) = Some(result);
            spent.push(waiter.line);
        }
        drop(file);
        crate::buffers::recycle(&mut spent);
        let result = lock_unpoisoned(&outcome).take();
        // Filled just above: our line was among those waiting.
        result.unwrap_or(Err(Error::Closed))
    }

    /// Counts what a write attempt did (rotations, bytes) and, when it
    /// failed, the failure; reports errors through the rate-limited reporter.
    fn account(&self, report: &WriteReport, failure: Option<&Error>) {
        report.count_into(&self.counters);
        if let Some(e) = &report.rotation_error {
            self.errors.report(e);
        }
        if let Some(error) = failure {
            add(&self.counters.write_errors, 1);
            self.errors.report(error);
        }
    }
}

/// How one caller's line in [`Core::write_now`] went; filled by whoever wrote it.
type Outcome = Mutex<Option<Result<()>>>;

/// A line left by a caller that writes in its own thread.
#[derive(Debug)]
struct InCaller {
    line: Vec<u8>,
    outcome: Arc<Outcome>,
}

impl AsRef<[u8]> for InCaller {
    fn as_ref(&self) -> &[u8] {
        &self.line
    }
}

/// What a front-end does with a line, as [`Core::admit`] decides.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Nothing to log.
    Empty,
    /// The handler is closed; counted as emitted and dropped.
    Closed,
    /// At or above `sync_level`; counted as fallback: write it now, in the caller.
    WriteNow(Vec<u8>),
    /// Queue it (counted once the queue takes it).
    Queue(Vec<u8>),
}

/// One line of the batch being written.
#[derive(Debug)]
struct Entry {
    line: Vec<u8>,
    kind: EntryKind,
}

#[derive(Debug)]
enum EntryKind {
    Line,
    Confirmed(Waiter),
    /// The handler's own report of this many dropped records.
    DropReport(u64),
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
    shutdowns: Vec<Waiter>,
    drops: DropReporter,
    backoff: Duration,
    last_error: Option<Error>,
    /// A shutdown was requested: no more backoff sleeps.
    closing: bool,
}

impl BatchWriter {
    pub(crate) fn new(core: Arc<Core>) -> BatchWriter {
        BatchWriter {
            core,
            batch: Vec::with_capacity(MAX_BATCH_RECORDS),
            scratch: Vec::new(),
            retry: Vec::new(),
            spent: Vec::with_capacity(MAX_BATCH_RECORDS),
            shutdowns: Vec::new(),
            drops: DropReporter::default(),
            backoff: FIRST_BACKOFF,
            last_error: None,
            closing: false,
        }
    }

    /// Writes the lines of `msgs` (drained from the queue, in order) as one batch
    /// and resolves its waiters. Leaves `msgs` empty for reuse.
    pub(crate) fn process(&mut self, msgs: &mut Vec<Msg>) {
        let mut flushes = Vec::new();
        let mut force_report = false;
        for msg in msgs.iter() {
            if let Msg::Shutdown(_) = msg {
                self.closing = true;
            }
        }
        self.backoff_if_retrying();
        self.start_batch_with_retries();
        for msg in msgs.drain(..) {
            match msg {
                Msg::Line(line) => self.batch.push(Entry {
                    line,
                    kind: EntryKind::Line,
                }),
                Msg::Confirmed(line, waiter) => self.batch.push(Entry {
                    line,
                    kind: EntryKind::Confirmed(waiter),
                }),
                Msg::Flush(waiter) => {
                    flushes.push(waiter);
                    force_report = true;
                }
                Msg::Shutdown(waiter) => {
                    self.shutdowns.push(waiter);
                    force_report = true;
                }
            }
        }
        self.push_drop_report(force_report);
        let ok = self.write_batch();
        let outcome = self.outcome(ok);
        for waiter in flushes {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// The queue is closed and empty: one last attempt at what is left, then
    /// tell the shutdown callers how it ended. The writer can be used again
    /// afterwards (the thread front-end restarts it).
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.closing = true;
        self.start_batch_with_retries();
        self.push_drop_report(true);
        let ok = self.write_batch();
        // Nothing comes after this: what could not be written is lost, and counted.
        let lost = self.retry.len() as u64;
        add(&self.core.counters.failed, lost);
        self.retry.clear();
        let outcome = self.outcome(ok);
        for waiter in self.shutdowns.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        self.closing = false;
        outcome
    }

    /// `Ok` when the last batch was written whole and nothing awaits a retry.
    fn outcome(&self, last_batch_ok: bool) -> Result<()> {
        if last_batch_ok && self.retry.is_empty() {
            return Ok(());
        }
        Err(self.last_error.clone().unwrap_or(Error::Closed))
    }

    /// A new batch begins with the lines a failed write left for retry.
    fn start_batch_with_retries(&mut self) {
        self.batch.clear();
        self.batch.extend(self.retry.drain(..).map(|line| Entry {
            line,
            kind: EntryKind::Line,
        }));
    }

    fn backoff_if_retrying(&mut self) {
        if self.retry.is_empty() || self.closing {
            return;
        }
        // Blocking sleep: we run on the blocking pool or the writer thread. The
        // sleep is bounded by MAX_BACKOFF, so a runtime shutdown waits at most that.
        std::thread::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn push_drop_report(&mut self, force: bool) {
        let dropped = self
            .core
            .counters
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed);
        if let Some((record, count)) = self.drops.due(dropped, force) {
            self.batch.push(Entry {
                line: self.core.format(&record),
                kind: EntryKind::DropReport(count),
            });
        }
    }

    /// Writes `self.batch` under one lock; returns whether all of it was written.
    fn write_batch(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let BatchOutcome {
            written,
            error: failure,
            report,
        } = lock_unpoisoned(&self.core.file).write_records(&self.batch, &mut self.scratch);
        if self.scratch.capacity() > MAX_KEPT_SCRATCH {
            self.scratch = Vec::new();
        }
        let counters = &self.core.counters;
        add(&counters.batches, 1);
        self.core.account(&report, failure.as_ref());
        let mut entries = self.batch.drain(..);
        let mut records = 0;
        for entry in entries.by_ref().take(written) {
            self.spent.push(entry.line);
            match entry.kind {
                EntryKind::Line => records += 1,
                EntryKind::Confirmed(waiter) => {
                    records += 1;
                    let _ = waiter.send(Ok(()));
                }
                EntryKind::DropReport(_) => add(&counters.drop_reports, 1),
            }
        }
        add(&counters.written, records);
        crate::buffers::recycle(&mut self.spent);
        let Some(error) = failure else {
            self.backoff = FIRST_BACKOFF;
            self.last_error = None;
            return true;
        };
        for entry in entries {
            match entry.kind {
                EntryKind::Line if self.retry.len() < RETRY_CAPACITY => self.retry.push(entry.line),
                EntryKind::Line => add(&counters.failed, 1),
                EntryKind::Confirmed(waiter) => {
                    // The caller learns of the failure and owns the decision to
                    // retry; writing it later too would duplicate the line.
                    add(&counters.failed, 1);
                    let _ = waiter.send(Err(error.clone()));
                }
                EntryKind::DropReport(count) => self.drops.unreport(count),
            }
        }
        self.last_error = Some(error);
        false
    }
}
