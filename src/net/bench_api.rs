//! The sink for `benches/syslog.rs`, which cannot reach `pub(crate)` items.
//! Not part of the API: hidden, unstable, and gone once the handlers take a
//! syslog config.

use std::time::{Duration, Instant};

use super::{Outgoing, SyslogConfig, SyslogSink};
use crate::error::Result;
use crate::stats::SinkStats;

/// The crate-private syslog sink, driven with plain messages.
#[derive(Debug)]
pub struct BenchSink(SyslogSink);

impl BenchSink {
    /// Starts the sink's thread (it connects at the first message).
    pub fn start(config: &SyslogConfig) -> Result<BenchSink> {
        SyslogSink::start(config).map(BenchSink)
    }

    /// Hands over formatted messages, blocking while the buffer is full;
    /// returns how many were taken (all, unless the sink is shut down).
    pub fn submit(&self, messages: Vec<Vec<u8>>) -> usize {
        let batch = messages
            .into_iter()
            .map(|message| Outgoing {
                message,
                confirm: None,
            })
            .collect();
        self.0.submit(batch, true).accepted
    }

    /// Waits until everything submitted was sent (RELP: acknowledged).
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.0.flush(Instant::now() + timeout)
    }

    /// Flushes, closes and stops the thread.
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.0.shutdown(Instant::now() + timeout)
    }

    /// The sink's counters.
    pub fn stats(&self) -> SinkStats {
        self.0.stats()
    }
}
