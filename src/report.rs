//! Rate-limited reports of what went wrong, to the operator.
//!
//! No error goes unreported, and none floods: errors go out at most once
//! per second (through `tracing` when a subscriber is installed and the
//! `tracing` feature is on, else one line on stderr), with a count of those
//! held back. (Dropped records are reported into the log itself, by the
//! writer: `writer::drops`.)

use std::error::Error as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::sync::lock_unpoisoned;

/// Write errors are reported at most once per this interval.
pub(crate) const ERROR_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// The target of the lines this crate writes about itself.
pub(crate) const SELF_TARGET: &str = "concurrent_log_handler";

/// Reports write errors, at most once per [`ERROR_REPORT_INTERVAL`].
#[derive(Debug, Default)]
pub(crate) struct ErrorReporter {
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
}

impl ErrorReporter {
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
        let message = error_chain(error);
        if !report_through_tracing(&message, held_back) {
            to_stderr(&format!(
                "{SELF_TARGET}: {message} ({held_back} more errors held back)"
            ));
        }
    }
}

/// Reports through `tracing` when this thread has a subscriber (the writer
/// thread sees the global one); returns whether it did. This crate's own
/// layer and fmt writer cannot log an error of the handler into it, and
/// print it on stderr instead (see `integrations::tracing`).
#[cfg(feature = "tracing")]
fn report_through_tracing(message: &str, held_back: u64) -> bool {
    let subscribed = tracing::dispatcher::get_default(|dispatch| {
        !dispatch.is::<tracing::subscriber::NoSubscriber>()
    });
    if subscribed {
        tracing::error!(
            target: SELF_TARGET,
            error = %message,
            held_back,
            "log handler error"
        );
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
