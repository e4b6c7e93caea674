//! Rate-limited reports of what went wrong: write errors to the operator, and
//! dropped records into the log itself.
//!
//! No error goes unreported, and none floods: write errors go out at most once
//! per second, with a count of those held back when there are some: to the
//! handler's error hook if it has one, else through `tracing` when a
//! subscriber is installed and the `tracing` feature is on, else as one line
//! on stderr. Drops become a warning line in the log, at most once per
//! [`DROP_REPORT_EVERY`] drops or once per [`DROP_REPORT_INTERVAL`], and
//! whenever the handler is flushed or shut down.

use std::error::Error as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::record::{Level, Record};
use crate::sync::lock_unpoisoned;

/// A drop report is due once this many records were dropped since the last one…
pub(crate) const DROP_REPORT_EVERY: u64 = 1_000;
/// …or once this long has passed since the last one.
pub(crate) const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Write errors are reported at most once per this interval.
pub(crate) const ERROR_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// The target of the lines this crate writes about itself.
pub(crate) const SELF_TARGET: &str = "concurrent_log_handler";

/// A function a handler's errors go to instead of the default report (see
/// `on_error` on the builders).
#[derive(Clone)]
pub(crate) struct ErrorHook(Arc<dyn Fn(&Error) + Send + Sync>);

impl ErrorHook {
    pub(crate) fn new(hook: impl Fn(&Error) + Send + Sync + 'static) -> ErrorHook {
        ErrorHook(Arc::new(hook))
    }
}

impl std::fmt::Debug for ErrorHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorHook")
    }
}

/// Reports write errors, at most once per [`ERROR_REPORT_INTERVAL`]: to the
/// handler's hook if it has one, else through `tracing` or on stderr.
#[derive(Debug, Default)]
pub(crate) struct ErrorReporter {
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
    hook: OnceLock<ErrorHook>,
}

impl ErrorReporter {
    /// Sends this reporter's reports to `hook` from now on (the first hook
    /// set stays).
    pub(crate) fn set_hook(&self, hook: ErrorHook) {
        let _ = self.hook.set(hook);
    }

    pub(crate) fn report(&self, error: &Error) {
        let now = Instant::now();
        {
            let mut last = lock_unpoisoned(&self.last);
            if last.is_some_and(|t| now.duration_since(t) < ERROR_REPORT_INTERVAL) {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                return;
            }
            *last = Some(now);
            // The mutex is released before reporting: a tracing subscriber that
            // logs through this very handler may come back here.
        }
        let held_back = self.held_back.swap(0, Ordering::Relaxed);
        if let Some(ErrorHook(hook)) = self.hook.get() {
            // A hook that panics must not take the writer with it; its
            // report then goes where it would have gone without a hook.
            if catch_unwind(AssertUnwindSafe(|| hook(error))).is_ok() {
                return;
            }
        }
        let message = error_chain(error);
        #[cfg(test)]
        if captured::keep(&message) {
            return;
        }
        if !report_through_tracing(&message, held_back) {
            to_stderr(&stderr_report(&message, held_back));
        }
    }
}

/// The line a report is on stderr; the count of reports held back since
/// the last one only when there were some.
fn stderr_report(message: &str, held_back: u64) -> String {
    match held_back {
        0 => format!("{SELF_TARGET}: {message}"),
        1 => format!("{SELF_TARGET}: {message} (1 more error held back since the last report)"),
        n => format!("{SELF_TARGET}: {message} ({n} more errors held back since the last report)"),
    }
}

/// Reports through `tracing` when this thread has a subscriber (the writer
/// thread sees the global one) that does not log into one of this crate's
/// handlers; returns whether it did. A subscriber with this crate's layer
/// or `fmt` writer in it would print the report twice (its other layers in
/// their format, the crate's layer on stderr, as the failing handler cannot
/// take it): such a report goes on stderr once, in the crate's own words.
#[cfg(feature = "tracing")]
fn report_through_tracing(message: &str, held_back: u64) -> bool {
    let subscribed = tracing::dispatcher::get_default(|dispatch| {
        !dispatch.is::<tracing::subscriber::NoSubscriber>()
            && !crate::integrations::tracing::logs_into_a_handler(dispatch)
    });
    if subscribed {
        if held_back == 0 {
            tracing::error!(target: SELF_TARGET, error = %message, "log handler error");
        } else {
            tracing::error!(
                target: SELF_TARGET,
                error = %message,
                held_back,
                "log handler error"
            );
        }
    }
    subscribed
}

/// Without the `tracing` feature every report goes to stderr.
#[cfg(not(feature = "tracing"))]
fn report_through_tracing(_message: &str, _held_back: u64) -> bool {
    false
}

/// Writes one of this crate's reports about itself on stderr, where a
/// report that cannot go into the failing log goes.
pub(crate) fn to_stderr(report: &str) {
    use std::io::Write;
    let report = report.trim_end_matches('\n');
    // Nothing to do if stderr itself is gone.
    let _ = writeln!(std::io::stderr().lock(), "{report}");
}

/// Writes `error` on stderr at once, for the few errors that have no
/// handler's reporter to go through (a forked child that could not start
/// its writer).
pub(crate) fn report_to_stderr(error: &Error) {
    to_stderr(&format!("{SELF_TARGET}: {}", error_chain(error)));
}

/// `error: cause: cause…` on one line.
pub(crate) fn error_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The crate's own unit tests provoke errors on purpose, from threads they do
/// not own (a syslog sink's runtime); their reports are kept here rather than
/// printed, for the tests to assert and the output to stay quiet. (Programs
/// and the integration tests use a handler's `on_error` hook.)
#[cfg(test)]
pub(crate) mod captured {
    use std::sync::Mutex;

    static REPORTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// Keeps `message`, and returns `true`: a unit test's report is never
    /// printed.
    pub(super) fn keep(message: &str) -> bool {
        crate::sync::lock_unpoisoned(&REPORTS).push(message.to_owned());
        true
    }

    /// The reports kept so far that contain `text` (an address or path
    /// unique to the test asking).
    pub(crate) fn containing(text: &str) -> Vec<String> {
        crate::sync::lock_unpoisoned(&REPORTS)
            .iter()
            .filter(|report| report.contains(text))
            .cloned()
            .collect()
    }
}

/// Decides when dropped records are reported into the log.
#[derive(Debug)]
pub(crate) struct DropReporter {
    /// The drop total already reported.
    reported: u64,
    last: Option<Instant>,
    /// What the report says happened.
    message: &'static str,
}

impl DropReporter {
    /// Reports of records the queue dropped.
    pub(crate) fn queue() -> DropReporter {
        DropReporter::saying(
            "log records were dropped: the queue was full, or the handler was stopped",
        )
    }

    /// Reports of records not forwarded to the syslog collector because its
    /// buffer was full (the local file has them).
    pub(crate) fn forwarding() -> DropReporter {
        DropReporter::saying(
            "log records were not forwarded to the syslog collector: its buffer was full",
        )
    }

    fn saying(message: &'static str) -> DropReporter {
        DropReporter {
            reported: 0,
            last: None,
            message,
        }
    }

    /// A warning record about the drops since the last report, if one is due
    /// (or `force`d), together with the number of drops it covers.
    pub(crate) fn due(&mut self, dropped_total: u64, force: bool) -> Option<(Record, u64)> {
        let pending = dropped_total.saturating_sub(self.reported);
        if pending == 0 {
            return None;
        }
        let now = Instant::now();
        let interval_passed = self
            .last
            .is_none_or(|t| now.duration_since(t) >= DROP_REPORT_INTERVAL);
        if !(force || interval_passed || pending >= DROP_REPORT_EVERY) {
            return None;
        }
        self.reported = dropped_total;
        self.last = Some(now);
        let record = Record::new(Level::Warn, self.message)
            .with_target(SELF_TARGET)
            .with_field("dropped", pending)
            .with_field("dropped_total", dropped_total);
        Some((record, pending))
    }

    /// The report covering `count` drops was not written: report them again.
    pub(crate) fn unreport(&mut self, count: u64) {
        self.reported = self.reported.saturating_sub(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_tests_reports_are_kept_for_it_and_the_hook_gets_them_first() {
        let reporter = ErrorReporter::default();
        let path = "/nonexistent/a-unit-test-of-report/app.log";
        let error = Error::io(
            crate::ErrorKind::Write,
            path,
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        reporter.report(&error);
        assert_eq!(captured::containing(path), [error.to_string()]);

        let hooked = ErrorReporter::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        hooked.set_hook(ErrorHook::new(move |e: &Error| {
            lock_unpoisoned(&sink).push(e.to_string());
        }));
        let other = "/nonexistent/a-unit-test-of-the-hook/app.log";
        hooked.report(&Error::io(
            crate::ErrorKind::Write,
            other,
            std::io::Error::from_raw_os_error(libc::EIO),
        ));
        assert_eq!(lock_unpoisoned(&seen).len(), 1);
        assert!(captured::containing(other).is_empty(), "the hook took it");
    }

    #[test]
    fn drop_reports_are_rate_limited() {
        let mut drops = DropReporter::queue();
        assert!(drops.due(0, true).is_none(), "nothing to report");
        let (record, n) = drops.due(3, false).expect("first drop is reported at once");
        assert_eq!(n, 3);
        assert_eq!(record.level(), Level::Warn);
        assert!(
            drops.due(500, false).is_none(),
            "within the second, under 1,000"
        );
        let (_, n) = drops.due(1_003, false).expect("1,000 more");
        assert_eq!(n, 1_000);
        assert!(drops.due(1_010, false).is_none());
        let (record, n) = drops.due(1_010, true).expect("forced");
        assert_eq!(n, 7);
        assert!(
            record
                .fields()
                .any(|(k, v)| k == "dropped_total" && v.as_u64() == Some(1010))
        );
        drops.unreport(7);
        assert_eq!(drops.due(1_010, true).map(|(_, n)| n), Some(7));
    }
}
