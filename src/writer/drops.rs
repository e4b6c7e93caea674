//! Reports of dropped records, written into the log itself: a warning line
//! at most once per [`DROP_REPORT_EVERY`] drops or once per
//! [`DROP_REPORT_INTERVAL`], and whenever the handler is flushed or shut
//! down, so that whoever reads the log learns that lines are missing, and
//! how many.

use std::time::{Duration, Instant};

use crate::record::{Level, Record};
use crate::report::SELF_TARGET;

/// A drop report is due once this many records were dropped since the last one…
pub(crate) const DROP_REPORT_EVERY: u64 = 1_000;
/// …or once this long has passed since the last one.
pub(crate) const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(1);

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

    /// Reports of records the syslog sink gave up (its buffer was full, or
    /// it could not deliver them before a deadline); the local file has them.
    pub(crate) fn forwarding() -> DropReporter {
        DropReporter::saying(
            "log records were not delivered to the syslog collector (its buffer was full, \
             or it was away at a deadline); this file has them",
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
