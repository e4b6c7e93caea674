//! The callers' own ways of writing under the lock, in their thread: the
//! `Nowait` fallback and the blocking handler, where callers that get there
//! at the same moment share one lock cycle (flat combining); and a waiting
//! caller of an idle queued handler, which writes its record itself rather
//! than wake the writer thread and be woken back ([`Core::write_alone`]).

use std::sync::{Arc, Mutex};

use super::Core;
use crate::error::{Error, Result};
use crate::file::BatchOutcome;
use crate::queue::Line;
use crate::stats::add;
use crate::sync::{lock_unpoisoned, try_lock_unpoisoned};

impl Core {
    /// Writes `line` (whole lines, each ending in `\n`, and the record's
    /// syslog message if the handler forwards) now, in the calling thread,
    /// under the lock: the path of the `Nowait` fallback and of the blocking
    /// handler. Once the lines are written, the message is offered to the
    /// syslog sink, which does not make the caller wait for the collector.
    /// `Ok` once every line is in the file (a rotation that
    /// failed on the way is counted and reported, not returned: the lines
    /// are written all the same).
    ///
    /// Callers that get here at the same time share one lock cycle (flat
    /// combining): each leaves its lines in [`Core::in_caller`] and waits for
    /// the file; whoever gets the file first writes every line left there as
    /// one batch and tells each caller how its lines went. Lines keep the
    /// order they were left in. Every caller still returns only once its own
    /// lines were written (or failed).
    pub(crate) fn write_now(&self, line: Line) -> Result<()> {
        let Line {
            file: lines,
            syslog,
        } = line;
        let outcome: Arc<Outcome> = Arc::default();
        lock_unpoisoned(&self.in_caller).push(InCaller {
            lines,
            syslog,
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
        let mut waiting = std::mem::take(&mut *lock_unpoisoned(&self.in_caller));
        let each: Vec<&[u8]> = waiting
            .iter()
            .flat_map(|caller| caller.lines.split_inclusive(|&b| b == b'\n'))
            .collect();
        let mut scratch = Vec::new();
        let batch = file.write_records(&each, &mut scratch);
        self.count_batch(&batch, each.len());
        drop(each);
        if let Some(forward) = &self.forward {
            // In file order, under the same hold of the file.
            let mut messages = waiting
                .iter_mut()
                .filter_map(|caller| caller.syslog.take())
                .map(|message| forward.envelope(message, None).1)
                .collect();
            forward.offer(&mut messages);
        }
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
        result.unwrap_or(Err(Error::closed()))
    }

    /// Writes `line` (one line, ending in `\n`) now, in the calling thread,
    /// if that waits for nobody and keeps the order of what was queued
    /// before it; `None`, with nothing written, if not.
    ///
    /// It goes ahead only when the file's mutex is free, `idle` (asked while
    /// holding it) says that the writer holds nothing unwritten and nothing
    /// is queued, the log's lock is free, and the line is a plain append:
    /// no rotation due, not `durable`, no collector to forward to. Anything
    /// else would make the caller wait for another writer, rotate backups
    /// or sync the disk in its own thread (on an async runtime, a worker's);
    /// that is the writer thread's work.
    ///
    /// The record is counted as emitted, then as written or failed; a
    /// failed append is reported and its error returned, like a failed
    /// batch to its waiters.
    pub(crate) fn write_alone(
        &self,
        line: &[u8],
        idle: impl FnOnce() -> bool,
    ) -> Option<Result<()>> {
        if self.forward.is_some() {
            return None;
        }
        let mut file = try_lock_unpoisoned(&self.file)?;
        if !idle() {
            return None;
        }
        let mut scratch = Vec::new();
        let batch = file.append_if_free(&[line], &mut scratch)?;
        drop(file);
        add(&self.counters.emitted, 1);
        self.count_batch(&batch, 1);
        // A line written whole before a failure is written, whatever came
        // after it.
        Some(match batch.error {
            Some(error) if batch.written == 0 => Err(error),
            _ => Ok(()),
        })
    }

    /// Counts a batch of `lines` that a caller wrote in its own thread: one
    /// lock cycle, what it did (rotations, bytes, errors, reported), its
    /// lines written and the rest failed.
    fn count_batch(&self, batch: &BatchOutcome, lines: usize) {
        add(&self.counters.batches, 1);
        self.account(&batch.report, batch.error.as_ref());
        add(&self.counters.written, batch.written as u64);
        add(&self.counters.failed, (lines - batch.written) as u64);
    }
}

/// How one caller's line in [`Core::write_now`] went; filled by whoever wrote it.
type Outcome = Mutex<Option<Result<()>>>;

/// Lines left by a caller that writes in its own thread.
#[derive(Debug)]
pub(super) struct InCaller {
    lines: Vec<u8>,
    /// The record's message for the syslog sink, if the handler forwards.
    syslog: Option<Vec<u8>>,
    outcome: Arc<Outcome>,
}
