//! What the text and JSON formats both let a user switch without writing a
//! `Formatter`: the time zone, the pid, the target and the timestamp format,
//! as one struct and one set of builder setters.

use super::timestamp::TimestampFormat;

/// The parts of a line a formatter's builder switches.
#[derive(Debug, Clone)]
pub(crate) struct Switches {
    pub(crate) utc: bool,
    pub(crate) pid: bool,
    pub(crate) target: bool,
    pub(crate) timestamp: TimestampFormat,
}

impl Switches {
    /// Local time with UTC offset, RFC 3339 with milliseconds, with pid and
    /// target.
    pub(crate) const DEFAULT: Switches = Switches {
        utc: false,
        pid: true,
        target: true,
        timestamp: TimestampFormat::Rfc3339,
    };
}

/// The setters of [`Switches`] on a formatter with a `switches` field; the
/// arguments say, for that format, what the pid, target and timestamp
/// setters control.
macro_rules! switch_setters {
    (pid: $pid:literal, target: $target:literal, timestamp: $timestamp:literal) => {
        /// Write timestamps in UTC (`...Z`) instead of local time.
        #[must_use]
        pub fn utc(mut self, utc: bool) -> Self {
            self.switches.utc = utc;
            self
        }

        #[doc = $pid]
        #[must_use]
        pub fn pid(mut self, pid: bool) -> Self {
            self.switches.pid = pid;
            self
        }

        #[doc = $target]
        #[must_use]
        pub fn target(mut self, target: bool) -> Self {
            self.switches.target = target;
            self
        }

        #[doc = $timestamp]
        #[must_use]
        pub fn timestamp(mut self, format: $crate::format::TimestampFormat) -> Self {
            self.switches.timestamp = format;
            self
        }
    };
}
pub(crate) use switch_setters;
