//! [`Forward`]: what the writer holds to forward to one collector, and the
//! hand-over of a batch from the file to the sink.

use std::time::{Duration, Instant};

use super::{Confirmation, SyslogConfig};
use crate::clock::deadline_after;
use crate::confirm::Confirm;
use crate::error::Result;
use crate::format::{Formatter, SyslogFormatter};
use crate::net::{Envelope, SinkHandle};
use crate::queue::{Await, Waiter};
use crate::record::{Level, Record};
use crate::stats::SinkStats;
use crate::sync::{block_on_until, lock_unpoisoned};
use std::sync::{Arc, Mutex};

use crate::report::ErrorReporter;

/// What the writer offers the sink: a record's message (with the
/// collector's part of its caller's waiter) or a flush's mark.
pub(crate) type Outgoing = Envelope;

/// Forwarding to one collector.
#[derive(Debug)]
pub(crate) struct Forward {
    /// The sink; a handler started again after a stop gets a new one.
    sink: Mutex<SinkHandle>,
    config: SyslogConfig,
    formatter: SyslogFormatter,
    confirmation: Confirmation,
    confirm_timeout: Duration,
}

impl Forward {
    /// Checks `config` and starts its sink (which connects at the first record).
    pub(crate) fn start(config: &SyslogConfig, errors: Arc<ErrorReporter>) -> Result<Forward> {
        config.validate()?;
        Ok(Forward {
            sink: Mutex::new(SinkHandle::start(&config.sink, errors)?),
            config: config.clone(),
            formatter: config.formatter(),
            confirmation: config.confirmation,
            confirm_timeout: config.confirm_timeout,
        })
    }

    /// The sink now (a cheap clone of its handle).
    fn sink(&self) -> SinkHandle {
        lock_unpoisoned(&self.sink).clone()
    }

    /// After a stop closed the sink, a new one for the handler started
    /// again; its stats go on from the old one's.
    ///
    /// # Errors
    ///
    /// The error that kept the new sink's thread from starting.
    pub(crate) fn reopen(&self) -> Result<()> {
        let mut sink = lock_unpoisoned(&self.sink);
        if sink.is_closed() {
            *sink = sink.reopen(&self.config.sink)?;
        }
        Ok(())
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

    /// The envelope of `message` for the sink, and the file's part of its
    /// caller's waiter: a `sync_level` record waits for the file alone,
    /// an `emit_wait` record for the sinks the confirmation names.
    pub(crate) fn envelope(
        &self,
        message: Vec<u8>,
        waiter: Option<(Waiter, Await)>,
    ) -> (Option<Confirm>, Outgoing) {
        let (file, collector) = match waiter {
            None => (None, None),
            Some((waiter, Await::InFile)) => (Some(Confirm::new(waiter)), None),
            Some((waiter, Await::Confirmed)) => self.split(waiter),
        };
        let reply = collector.map(|confirm| self.sink().reply(confirm, self.deadline()));
        (
            file,
            Envelope::Record {
                message,
                waiter: reply,
            },
        )
    }

    /// The file's part of a flush's waiter, and the mark that settles the
    /// collector's part (when the confirmation waits for the collector).
    pub(crate) fn mark(&self, waiter: Waiter) -> (Option<Confirm>, Option<Outgoing>) {
        let (file, collector) = self.split(waiter);
        let mark = collector.map(|confirm| {
            let sink = self.sink();
            sink.mark(sink.reply(confirm, self.deadline()))
        });
        (file, mark)
    }

    /// The file's and the collector's parts of a caller's waiter, by the
    /// confirmation.
    fn split(&self, waiter: Waiter) -> (Option<Confirm>, Option<Confirm>) {
        match (
            self.confirmation.waits_for_file(),
            self.confirmation.waits_for_collector(),
        ) {
            (true, true) => {
                let mut parts = Confirm::split(waiter, 2);
                let collector = parts.pop();
                (parts.pop(), collector)
            }
            (false, true) => (None, Some(Confirm::new(waiter))),
            _ => (Some(Confirm::new(waiter)), None),
        }
    }

    /// When a wait for the collector that starts now ends.
    fn deadline(&self) -> Instant {
        deadline_after(self.confirm_timeout)
    }

    /// The earlier of `deadline` and the confirm timeout from now: how long
    /// a stop or shutdown waits for the collector.
    fn closing_deadline(&self, deadline: Option<Instant>) -> Instant {
        let own = self.deadline();
        deadline.map_or(own, |deadline| deadline.min(own))
    }

    /// Offers a batch (its records in file order, with its marks) to the
    /// sink; it never waits longer than the sink's `WhenFull` says.
    pub(crate) fn offer(&self, batch: &mut Vec<Outgoing>) {
        if !batch.is_empty() {
            self.sink().offer(batch.drain(..));
        }
    }

    /// What a flush of a handler that writes in the caller's thread waits
    /// for: the collector's confirmation of everything offered before it,
    /// when the confirmation names the collector (the file is written
    /// already); `Ok` at once otherwise.
    ///
    /// # Errors
    ///
    /// As [`flush_within`](Self::flush_within).
    pub(crate) fn flush(&self) -> Result<()> {
        if !self.confirmation.waits_for_collector() {
            return Ok(());
        }
        self.flush_within(None)
    }

    /// Waits, until `deadline` or the confirm timeout, for the collector to
    /// have everything offered so far (a stop: the sink goes on).
    ///
    /// # Errors
    ///
    /// As a failed mark: the error of a record that failed or was given up
    /// meanwhile, or `DeliveryTimeout` at the deadline.
    pub(crate) fn flush_within(&self, deadline: Option<Instant>) -> Result<()> {
        let until = self.closing_deadline(deadline);
        let (waiter, answer) = tokio::sync::oneshot::channel();
        let sink = self.sink();
        let mark = sink.mark(sink.reply(Confirm::new(waiter), until));
        sink.offer([mark]);
        // The sink answers by `until` (its expiry task), or at once if it
        // has ended; the margin only covers the wake-up.
        let margin = until
            .checked_add(Duration::from_millis(250))
            .unwrap_or(until);
        match block_on_until(answer, Some(margin)) {
            Some(Ok(outcome)) => outcome,
            _ => Err(crate::error::Error::closed()),
        }
    }

    /// Delivers what the sink holds until `deadline` (or the confirm
    /// timeout), gives up the rest, counted and reported, and ends the
    /// sink.
    ///
    /// # Errors
    ///
    /// `DeliveryTimeout` naming the collector and how many records it gave up.
    pub(crate) fn close(&self, deadline: Option<Instant>) -> Result<()> {
        self.sink().close(self.closing_deadline(deadline)).outcome()
    }

    /// [`close`](Self::close) for whoever has nobody to return an error to
    /// (the exit hook, a dropped handler): the error, if this call is the
    /// one that closed the sink and it gave records up; `None` otherwise.
    pub(crate) fn close_unless_closed(&self, deadline: Option<Instant>) -> Option<crate::Error> {
        let closed = self.sink().close(self.closing_deadline(deadline));
        closed.outcome().err().filter(|_| closed.first)
    }

    /// The sink's counters.
    pub(crate) fn stats(&self) -> SinkStats {
        self.sink().stats()
    }

    /// Records the sink gave up so far, for the reports in the local log.
    pub(crate) fn dropped(&self) -> u64 {
        self.sink().stats().dropped
    }
}
