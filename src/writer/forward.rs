//! The second sink: forwarding each record to a syslog collector, beside the
//! local file.
//!
//! The writer hands every batch to both sinks: the locked file, and the
//! syslog sink ([`crate::net`]), which buffers, sends and confirms on its own
//! thread. Each record goes to the collector exactly once, at its first
//! attempt, whatever became of its file write (lines kept for a retry of the
//! file are not sent again). A caller of `emit_wait` hears from the sinks
//! its [`Confirmation`](crate::Confirmation) names. When the sink's buffer is full, the handler's
//! fallback mode decides: `Block` waits for room (nothing is lost, the writer
//! slows down), the others drop the record from the forwarding (the local
//! file still has it), count it, and report it into the local log.

#[cfg(feature = "syslog")]
mod enabled {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    use crate::confirm::Confirm;
    use crate::error::{Error, ErrorKind, Result};
    use crate::format::{Formatter, SyslogFormatter};
    use crate::net::{Confirmation, Outgoing, SyslogConfig, SyslogSink};
    use crate::queue::Waiter;
    use crate::record::{Level, Record};
    use crate::stats::SinkStats;

    /// Forwarding to one collector.
    #[derive(Debug)]
    pub(crate) struct Forward {
        sink: SyslogSink,
        formatter: SyslogFormatter,
        confirmation: Confirmation,
        flush_timeout: std::time::Duration,
        /// `Block`: wait for room in the sink's buffer rather than drop.
        block: bool,
        /// Records refused by a full buffer.
        refused: AtomicU64,
    }

    impl Forward {
        pub(crate) fn start(config: &SyslogConfig, block: bool) -> Result<Forward> {
            Ok(Forward {
                sink: SyslogSink::start(config)?,
                formatter: config.formatter(),
                confirmation: config.confirmation,
                flush_timeout: config.flush_timeout,
                block,
                refused: AtomicU64::new(0),
            })
        }

        /// The record's RFC 5424 message.
        pub(crate) fn format(&self, record: &Record) -> Vec<u8> {
            let mut message = crate::buffers::take(256);
            self.formatter.format(record, &mut message);
            message
        }

        /// The message of a line formatted elsewhere (the `tracing` fmt
        /// writer): the line, as text, is its message.
        pub(crate) fn format_text(&self, level: Level, line: &[u8]) -> Vec<u8> {
            let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
            self.format(&Record::new(level, text.into_owned()))
        }

        /// The file's part and the collector's part of a caller's waiter.
        pub(crate) fn split(&self, waiter: Waiter) -> (Option<Confirm>, Option<Confirm>) {
            match self.confirmation {
                Confirmation::Collector => (None, Some(Confirm::new(waiter))),
                Confirmation::Both => {
                    let mut parts = Confirm::split(waiter, 2);
                    let collector = parts.pop();
                    (parts.pop(), collector)
                }
                _ => (Some(Confirm::new(waiter)), None),
            }
        }

        /// Hands a batch of messages (each with the collector's part of its
        /// caller's waiter, if any) to the sink; in `Drop`/`Nowait` what does
        /// not fit is refused: counted, and its waiters told.
        pub(crate) fn submit(&self, batch: Vec<(Vec<u8>, Option<Confirm>)>) {
            if batch.is_empty() {
                return;
            }
            let batch = batch
                .into_iter()
                .map(|(message, confirm)| Outgoing { message, confirm })
                .collect();
            let submitted = self.sink.submit(batch, self.block);
            let refused = submitted.rejected.len() as u64;
            if refused == 0 {
                return;
            }
            self.refused.fetch_add(refused, Ordering::Relaxed);
            for outgoing in submitted.rejected {
                if let Some(confirm) = outgoing.confirm {
                    confirm.send(Err(Error::plain(ErrorKind::QueueFull)));
                }
                crate::buffers::recycle(&mut vec![outgoing.message]);
            }
        }

        /// Records refused so far, for the drop reports in the local log.
        pub(crate) fn refused(&self) -> u64 {
            self.refused.load(Ordering::Relaxed)
        }

        /// Waits (at most the flush timeout) until the collector has what
        /// was forwarded; with `exit`, then closes the connection.
        pub(crate) fn finish(&self, exit: bool) -> Result<()> {
            let deadline = Instant::now() + self.flush_timeout;
            if exit {
                self.sink.shutdown(deadline)
            } else {
                self.sink.flush(deadline)
            }
        }

        pub(crate) fn stats(&self) -> SinkStats {
            let mut stats = self.sink.stats();
            stats.dropped += self.refused();
            stats
        }
    }
}

#[cfg(feature = "syslog")]
pub(crate) use enabled::Forward;

/// Without the `syslog` feature there is no forwarding: a type with no
/// values, so that every `Option<Forward>` is `None`.
#[cfg(not(feature = "syslog"))]
#[derive(Debug)]
pub(crate) enum Forward {}

#[cfg(not(feature = "syslog"))]
impl Forward {
    pub(crate) fn format(&self, _record: &crate::record::Record) -> Vec<u8> {
        match *self {}
    }

    pub(crate) fn format_text(&self, _level: crate::record::Level, _line: &[u8]) -> Vec<u8> {
        match *self {}
    }

    pub(crate) fn split(
        &self,
        _waiter: crate::queue::Waiter,
    ) -> (
        Option<crate::confirm::Confirm>,
        Option<crate::confirm::Confirm>,
    ) {
        match *self {}
    }

    pub(crate) fn submit(&self, _batch: Vec<(Vec<u8>, Option<crate::confirm::Confirm>)>) {
        match *self {}
    }

    pub(crate) fn refused(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn finish(&self, _exit: bool) -> crate::error::Result<()> {
        match *self {}
    }

    pub(crate) fn stats(&self) -> crate::stats::SinkStats {
        match *self {}
    }
}
