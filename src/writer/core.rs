//! What the writer shares with the callers: the locked file, the counters,
//! the formatter and the error reporter, plus the callers' own way of
//! writing under the lock (the `Nowait` fallback and the blocking handler).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::file::{FileConfig, LockedFile, WriteReport, lock_unpoisoned};
use crate::format::{Formatter, end_line, format_line};
use crate::record::{Level, Record};
use crate::report::ErrorReporter;
use crate::stats::{Counters, add};

/// What the writer and the callers' write paths share.
pub(crate) struct Core {
    /// The absolute log path (also inside `file`, which may be locked for long).
    pub(crate) path: std::path::PathBuf,
    /// The lock file's path, for the same reason.
    pub(crate) lock_path: std::path::PathBuf,
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
            .field("path", &self.path)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// What a front-end does with a line, as [`Core::admit`] decides.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Nothing to log.
    Empty,
    /// The handler is closed; counted as emitted and dropped.
    Closed,
    /// At or above `sync_level`: queue it and wait until it is written.
    Sync(Vec<u8>),
    /// Queue it (counted once the queue takes it).
    Queue(Vec<u8>),
}

impl Core {
    pub(crate) fn open(file: &FileConfig, formatter: Arc<dyn Formatter>) -> Result<Arc<Core>> {
        let counters = Arc::new(Counters::default());
        let errors = Arc::new(ErrorReporter::default());
        let file = LockedFile::open(file, Arc::clone(&counters), Arc::clone(&errors))?;
        Ok(Arc::new(Core {
            path: file.path().to_path_buf(),
            lock_path: file.lock_path().to_path_buf(),
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

    /// The first steps every front-end takes with a line before queueing it.
    /// An empty line is not logged; a missing final `\n` is added.
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
        if sync_level.is_some_and(|sync| level >= sync) {
            return Admission::Sync(line);
        }
        Admission::Queue(line)
    }

    /// A record handed over after the handler closed: emitted and dropped.
    pub(crate) fn count_closed_drop(&self) {
        add(&self.counters.dropped, 1);
    }

    /// The record as one line of bytes, formatted in the calling thread.
    /// `None` when the formatter panicked: that is reported (and the caller
    /// counts the record as failed), and logging goes on.
    pub(crate) fn format(&self, record: &Record) -> Option<Vec<u8>> {
        match catch_unwind(AssertUnwindSafe(|| format_line(&*self.formatter, record))) {
            Ok(line) => Some(line),
            Err(_) => {
                self.errors.report(&Error::FormatterPanicked);
                None
            }
        }
    }

    /// A record the formatter could not format: emitted and failed.
    pub(crate) fn count_unformatted(&self) {
        add(&self.counters.emitted, 1);
        add(&self.counters.failed, 1);
    }

    /// Writes `lines` (whole lines, each ending in `\n`) now, in the calling
    /// thread, under the lock: the path of the `Nowait` fallback and of the
    /// blocking handler. `Ok` once every line is in the file (a rotation that
    /// failed on the way is counted and reported, not returned: the lines
    /// are written all the same).
    ///
    /// Callers that get here at the same time share one lock cycle (flat
    /// combining): each leaves its lines in [`Core::in_caller`] and waits for
    /// the file; whoever gets the file first writes every line left there as
    /// one batch and tells each caller how its lines went. Lines keep the
    /// order they were left in. Every caller still returns only once its own
    /// lines were written (or failed).
    pub(crate) fn write_now(&self, lines: Vec<u8>) -> Result<()> {
        let outcome: Arc<Outcome> = Arc::default();
        lock_unpoisoned(&self.in_caller).push(InCaller {
            lines,
            outcome: Arc::clone(&outcome),
        });
        let mut file = lock_unpoisoned(&self.file);
        // Written by an earlier holder of the file, which filled our outcome
        // before it let go of the file.
        if let Some(result) = lock_unpoisoned(&outcome).take() {
            return result;
        }
        // Our lines are still waiting (only a holder of the file takes
        // lines), and so may others'.
        let waiting = std::mem::take(&mut *lock_unpoisoned(&self.in_caller));
        let each: Vec<&[u8]> = waiting
            .iter()
            .flat_map(|caller| caller.lines.split_inclusive(|&b| b == b'\n'))
            .collect();
        let mut scratch = Vec::new();
        let batch = file.write_records(&each, &mut scratch);
        add(&self.counters.batches, 1);
        self.account(&batch.report, batch.error.as_ref());
        add(&self.counters.written, batch.written as u64);
        add(&self.counters.failed, (each.len() - batch.written) as u64);
        drop(each);
        let mut spent = Vec::with_capacity(waiting.len());
        let mut end = 0;
        for caller in waiting {
            end += caller.lines.split_inclusive(|&b| b == b'\n').count();
            let result = match (&batch.error, &batch.report.sync_error) {
                (Some(error), _) if end > batch.written => Err(error.clone()),
                (_, Some(unsynced)) => Err(unsynced.clone()),
                _ => Ok(()),
            };
            *lock_unpoisoned(&caller.outcome) = Some(result);
            spent.push(caller.lines);
        }
        drop(file);
        crate::buffers::recycle(&mut spent);
        let result = lock_unpoisoned(&outcome).take();
        // Filled just above: our lines were among those waiting.
        result.unwrap_or(Err(Error::Closed))
    }

    /// Counts what a write attempt did (rotations, bytes) and, when it
    /// failed or could not be synced, the failure; reports errors through
    /// the rate-limited reporter.
    pub(crate) fn account(&self, report: &WriteReport, failure: Option<&Error>) {
        report.count_into(&self.counters);
        if let Some(e) = &report.rotation_error {
            self.errors.report(e);
        }
        for error in failure.into_iter().chain(&report.sync_error) {
            add(&self.counters.write_errors, 1);
            self.errors.report(error);
        }
    }
}

/// How one caller's line in [`Core::write_now`] went; filled by whoever wrote it.
type Outcome = Mutex<Option<Result<()>>>;

/// Lines left by a caller that writes in its own thread.
#[derive(Debug)]
struct InCaller {
    lines: Vec<u8>,
    outcome: Arc<Outcome>,
}
