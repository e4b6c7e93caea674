//! Rate-limited reports of what went wrong, to the operator.
//!
//! No error goes unreported, and none floods: errors go out at most once
//! per second, with a count of those held back when there are some: to the
//! handler's error hook if it has one, else through `tracing` when a
//! subscriber is installed and the `tracing` feature is on, else as one line
//! on stderr. (Dropped records are reported into the log itself, by the
//! writer: `writer::drops`.)

use std::error::Error as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::sync::lock_unpoisoned;

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
        if !self.due() {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.emit(&error_chain(error), error);
    }

    /// Whether a report may go out now (at most one per
    /// [`ERROR_REPORT_INTERVAL`]); if so, the interval starts again.
    fn due(&self) -> bool {
        let now = Instant::now();
        let mut last = lock_unpoisoned(&self.last);
        if last.is_some_and(|t| now.duration_since(t) < ERROR_REPORT_INTERVAL) {
            return false;
        }
        *last = Some(now);
        // The mutex is released before reporting: a tracing subscriber that
        // logs through this very handler may come back here.
        true
    }

    /// Sends `error` (whose text is `message`) where reports go: to the
    /// hook if there is one, else through `tracing` or on stderr.
    fn emit(&self, message: &str, error: &Error) {
        let held_back = self.held_back.swap(0, Ordering::Relaxed);
        if let Some(ErrorHook(hook)) = self.hook.get() {
            // A hook that panics must not take the writer with it; its
            // report then goes where it would have gone without a hook.
            if catch_unwind(AssertUnwindSafe(|| hook(error))).is_ok() {
                return;
            }
        }
        #[cfg(test)]
        if captured::keep(message) {
            return;
        }
        if !report_through_tracing(message, held_back) {
            to_stderr(&stderr_report(message, held_back));
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
/// report that cannot go into the failing log goes: one report, one line.
pub(crate) fn to_stderr(report: &str) {
    let report = report.trim_end_matches('\n');
    let mut line = Vec::with_capacity(report.len() + 1);
    line.extend_from_slice(report.as_bytes());
    line.push(b'\n');
    write_line(&mut std::io::stderr().lock(), &line);
}

/// How many failed `write`s one report may meet before it is given up.
const STDERR_ATTEMPTS: usize = 8;

/// Writes `line` (ending in `\n`) with a single `write` when it can: a
/// report and its newline never go out separately, so a failure between
/// them cannot glue the next report onto this one. A write that takes only
/// part of the line is followed by the rest; a line that cannot be finished
/// is ended with a newline, so that the next report starts a line of its own.
/// Nothing to do if stderr itself is gone.
fn write_line(out: &mut impl std::io::Write, line: &[u8]) {
    let mut done = 0;
    let mut failures = 0;
    while done < line.len() && failures < STDERR_ATTEMPTS {
        match out.write(&line[done..]) {
            Ok(0) => failures += 1,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => failures += 1,
        }
    }
    if done > 0 && done < line.len() {
        for _ in 0..STDERR_ATTEMPTS {
            if matches!(out.write(b"\n"), Ok(1)) {
                break;
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A stderr that takes at most `chunk` bytes per write and fails every
    /// `fail_every`-th write.
    struct Flaky {
        out: Vec<u8>,
        writes: usize,
        chunk: usize,
        fail_every: usize,
    }

    impl std::io::Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            if self.writes.is_multiple_of(self.fail_every) {
                return Err(std::io::Error::other("injected"));
            }
            let n = buf.len().min(self.chunk);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_report_is_one_line_through_short_and_failing_writes() {
        for (chunk, fail_every) in [(usize::MAX, 2), (7, 3), (3, 4), (5, 1_000)] {
            let mut out = Flaky {
                out: Vec::new(),
                writes: 0,
                chunk,
                fail_every,
            };
            for n in 0..50 {
                write_line(&mut out, format!("report {n} with some words\n").as_bytes());
            }
            let text = String::from_utf8(out.out).expect("utf-8");
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 50, "{chunk}/{fail_every}: {text}");
            for (n, line) in lines.iter().enumerate() {
                assert_eq!(*line, format!("report {n} with some words"), "{text}");
            }
        }
    }

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
}
