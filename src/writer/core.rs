//! What the writer shares with the callers: the locked file, the counters,
//! the formatter and the error reporter.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::file::{FileConfig, LockedFile, WriteReport};
use crate::format::{Formatter, format_into, line_buffer};
use crate::forward::{Forward, SyslogConfig};
use crate::queue::Line;
use crate::record::Record;
use crate::report::{ErrorHook, ErrorReporter};
use crate::stats::{Counters, Stats, add};
use crate::sync::lock_unpoisoned;

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
    pub(super) in_caller: Mutex<Vec<super::in_caller::InCaller>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) formatter: Arc<dyn Formatter>,
    pub(crate) errors: Arc<ErrorReporter>,
    /// Forwarding to a syslog collector, if configured.
    pub(crate) forward: Option<Forward>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("path", &self.path)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Opens the log, and starts forwarding to a collector if `syslog`
    /// names one (after the log opened: a bad path starts no thread). The
    /// errors no caller receives go to `on_error`, or the default report.
    pub(crate) fn open(
        config: &FileConfig,
        formatter: Arc<dyn Formatter>,
        syslog: Option<&SyslogConfig>,
        on_error: Option<ErrorHook>,
    ) -> Result<Arc<Core>> {
        // Before any of the handler's threads exist (see the function).
        crate::format::load_local_time_zone();
        let counters = Arc::new(Counters::default());
        // One reporter for the file and the sink: one hook, one rate limit.
        let errors = Arc::new(ErrorReporter::default());
        if let Some(hook) = on_error {
            errors.set_hook(hook);
        }
        if let Some(syslog) = syslog {
            syslog.validate()?;
        }
        let file = LockedFile::open(config, Arc::clone(&counters), Arc::clone(&errors))?;
        let forward = syslog
            .map(|syslog| Forward::start(syslog, Arc::clone(&errors)))
            .transpose()?;
        Ok(Arc::new(Core {
            path: file.path().to_path_buf(),
            lock_path: file.lock_path().to_path_buf(),
            file: Mutex::new(file),
            in_caller: Mutex::new(Vec::new()),
            counters,
            formatter,
            errors,
            forward,
        }))
    }

    /// Waits until background compressions queued so far are done, or
    /// `timeout` passed; returns whether they are. The log's mutex is not held
    /// while waiting.
    pub(crate) fn wait_for_compression(&self, timeout: Duration) -> bool {
        let idle = lock_unpoisoned(&self.file).compression_idle();
        idle.is_none_or(|idle| idle.wait(timeout))
    }

    /// The counters, with the queue's depth and capacity filled in by the
    /// front-end, and the forwarding's.
    pub(crate) fn stats(&self, queue_depth: u64, queue_capacity: u64) -> Stats {
        let mut stats = self.counters.snapshot(queue_depth, queue_capacity);
        stats.syslog = self.forward.as_ref().map(Forward::stats);
        stats
    }

    /// Closes the syslog sink, if the handler forwards, by `deadline` (and
    /// its confirm timeout), and
    /// says on stderr what it could not deliver (counted as dropped in its
    /// stats), with `when` (for example "at exit"): for the paths that have
    /// nobody to return the error to. A sink closed before is left as it is.
    pub(crate) fn close_forwarding(&self, deadline: Option<Instant>, when: &str) {
        let Some(forward) = &self.forward else {
            return;
        };
        if let Some(error) = forward.close_unless_closed(deadline) {
            crate::report::to_stderr(&format!(
                "{}: {when}: {}; they are counted in the sink's dropped records (the log {} has them)",
                crate::report::SELF_TARGET,
                crate::report::error_chain(&error),
                self.path.display()
            ));
        }
    }

    /// A record handed over after the handler closed: emitted and dropped.
    pub(crate) fn count_closed_drop(&self) {
        add(&self.counters.dropped, 1);
    }

    /// The record as one line of bytes, in a buffer sized for it. `None`
    /// when the formatter panicked: that is reported (and the caller counts
    /// the record as failed), and logging goes on.
    pub(crate) fn format(&self, record: &Record) -> Option<Vec<u8>> {
        let mut line = line_buffer(record);
        self.format_into(record, &mut line).then_some(line)
    }

    /// The record as its bytes: its line for the file and, when the handler
    /// forwards to a collector, its syslog message. `None` when the
    /// formatter panicked (reported; the caller counts the record).
    pub(crate) fn line(&self, record: &Record) -> Option<Line> {
        let file = self.format(record)?;
        Some(self.with_syslog(record, file))
    }

    /// `file`, the record's formatted line, with the record's syslog message
    /// when the handler forwards to a collector.
    pub(crate) fn with_syslog(&self, record: &Record, file: Vec<u8>) -> Line {
        let syslog = self.forward.as_ref().map(|forward| forward.format(record));
        Line { file, syslog }
    }

    /// Formats `record` into `buffer` (emptied first), ending in exactly one
    /// `\n`; `false` when the formatter panicked (reported; `buffer` is
    /// left empty).
    pub(crate) fn format_into(&self, record: &Record, buffer: &mut Vec<u8>) -> bool {
        buffer.clear();
        let formatted = catch_unwind(AssertUnwindSafe(|| {
            format_into(&*self.formatter, record, buffer);
        }));
        if formatted.is_err() {
            buffer.clear();
            self.errors
                .report(&Error::plain(ErrorKind::FormatterPanicked));
        }
        formatted.is_ok()
    }

    /// A record the formatter could not format: emitted and failed.
    pub(crate) fn count_unformatted(&self) {
        add(&self.counters.emitted, 1);
        add(&self.counters.failed, 1);
    }

    /// Rotates the log now (if it is not empty), under the lock; counted
    /// and reported like any rotation.
    pub(crate) fn rotate_now(&self) -> Result<()> {
        let (report, result) = lock_unpoisoned(&self.file).rotate_now();
        self.account(&report, None);
        if let Err(e) = &result {
            add(&self.counters.rotation_errors, 1);
            self.errors.report(e);
        }
        result
    }

    /// Counts what a write attempt did (rotations, bytes) and, when it
    /// failed or could not be synced, the failure; reports errors through
    /// the rate-limited reporter.
    pub(crate) fn account(&self, report: &WriteReport, failure: Option<&Error>) {
        report.count_into(&self.counters);
        if let Some(e) = &report.rotation_error {
            self.errors.report(e);
        }
        if report.orphans_recovered > 0 {
            self.errors.report(&Error::rotation_recovered(&self.path));
        }
        for error in failure.into_iter().chain(&report.sync_error) {
            add(&self.counters.write_errors, 1);
            self.errors.report(error);
        }
    }
}
