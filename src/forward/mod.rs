//! Forwarding records to a syslog collector, beside the local file: the
//! [`SyslogConfig`] users give a builder, and the hand-over from the writer
//! to the sink.
//!
//! The writer writes each batch to the local file first; then, under the
//! same hold of the file, it offers the batch's messages to the sink
//! ([`crate::net`]), in file order, each once (a line kept for another file
//! attempt is not offered again). The sink never makes the file wait: its
//! buffer has its own policy ([`WhenFull`](crate::WhenFull)). A caller's
//! waiter is split by what it waits for ([`Await`](crate::queue::Await)):
//! a `sync_level` record waits for the file alone; `emit_wait` and `flush`
//! wait for the sinks the [`Confirmation`] names, the collector's part
//! bounded by [`SyslogConfig::confirm_timeout`].
//!
//! This room knows records and formats (it formats the RFC 5424 message of
//! each record); the sink below it knows only bytes.

#[cfg(feature = "syslog")]
mod config;
#[cfg(feature = "syslog")]
mod handoff;

#[cfg(feature = "syslog")]
pub use config::{Confirmation, DEFAULT_CONFIRM_TIMEOUT, SyslogConfig};
#[cfg(not(feature = "syslog"))]
pub(crate) use disabled::{Forward, Outgoing, SyslogConfig};
#[cfg(feature = "syslog")]
pub(crate) use handoff::{Forward, Outgoing};

/// Without the `syslog` feature there is no forwarding: types with no
/// values, so that every `Option<Forward>` is `None` and the writer's code
/// for the sink compiles away.
#[cfg(not(feature = "syslog"))]
mod disabled {
    use std::time::Instant;

    use crate::confirm::Confirm;
    use crate::error::Result;
    use crate::queue::{Await, Waiter};
    use crate::record::{Level, Record};
    use crate::stats::SinkStats;

    /// No collector can be configured.
    #[derive(Debug, Clone)]
    pub(crate) enum SyslogConfig {}

    impl SyslogConfig {
        pub(crate) fn validate(&self) -> Result<()> {
            match *self {}
        }
    }

    #[derive(Debug)]
    pub(crate) enum Forward {}

    /// Never made (no `Forward` exists to make one); a struct rather than
    /// an empty enum so that the writer's code after a hand-over does not
    /// read as unreachable.
    #[derive(Debug)]
    #[allow(dead_code)]
    pub(crate) struct Outgoing;

    impl Forward {
        pub(crate) fn start(
            config: &SyslogConfig,
            _: std::sync::Arc<crate::report::ErrorReporter>,
        ) -> Result<Forward> {
            match *config {}
        }
        pub(crate) fn format(&self, _: &Record) -> Vec<u8> {
            match *self {}
        }
        pub(crate) fn format_text(&self, _: Level, _: &[u8]) -> Vec<u8> {
            match *self {}
        }
        pub(crate) fn envelope(
            &self,
            _: Vec<u8>,
            _: Option<(Waiter, Await)>,
        ) -> (Option<Confirm>, Outgoing) {
            match *self {}
        }
        pub(crate) fn mark(&self, _: Waiter) -> (Option<Confirm>, Option<Outgoing>) {
            match *self {}
        }
        pub(crate) fn offer(&self, _: &mut Vec<Outgoing>) {
            match *self {}
        }
        pub(crate) fn flush(&self) -> Result<()> {
            match *self {}
        }
        pub(crate) fn reopen(&self) -> Result<()> {
            match *self {}
        }
        pub(crate) fn flush_within(&self, _: Option<Instant>) -> Result<()> {
            match *self {}
        }
        pub(crate) fn close(&self, _: Option<Instant>) -> Result<()> {
            match *self {}
        }
        pub(crate) fn close_unless_closed(&self, _: Option<Instant>) -> Option<crate::Error> {
            match *self {}
        }
        pub(crate) fn stats(&self) -> SinkStats {
            match *self {}
        }
        pub(crate) fn dropped(&self) -> u64 {
            match *self {}
        }
    }
}
