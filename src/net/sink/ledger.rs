//! The ledger: every record the sink took from its intake, oldest first,
//! until it is retired (delivered, failed or given up).
//!
//! It is the one owner of records in flight. Sessions borrow it to send
//! (they mark entries as on the wire, with the stream offset their frame
//! ends at, or their RELP transaction number) and to retire what the
//! collector acknowledged. When a connection breaks, what it did not
//! acknowledge goes back to waiting, in order, and the next connection
//! sends it first. Records retire from the front only, in order, so a
//! [`Mark`] (a flush) settles exactly when everything before it
//! did. It is also the one place that moves records between the sink's
//! counters ([`Tally`]), so they always add up.
//!
//! Pure data: its tests need no socket.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::expiry::Reply;
use super::tally::{Place, Tally};
use crate::error::{Error, Result};

/// A record given up (counted as failed) once this many connections broke
/// while it was on them: a record that makes the collector drop the
/// connection must not stall the sink forever.
pub(super) const MAX_BROKEN_CONNECTIONS: u32 = 8;

/// What the intake carries into the sink.
#[derive(Debug)]
pub(crate) enum Envelope {
    /// One RFC 5424 message, unframed, and the caller waiting for it.
    Record {
        message: Vec<u8>,
        waiter: Option<Reply>,
    },
    /// A flush: answered `Ok` once every record before it was delivered,
    /// with an error if one of them failed or was given up meanwhile.
    Mark(Mark),
}

/// A flush waiting in the sink.
#[derive(Debug)]
pub(crate) struct Mark {
    pub(crate) waiter: Reply,
    /// Records put into the intake before it: the mark joins the ledger
    /// once the task took that many (marks travel beside the records, so
    /// that a full buffer never refuses a flush).
    pub(crate) after: u64,
    /// The ledger's failures when the mark was made: more by the time it
    /// settles were records before it.
    pub(crate) failures_before: u64,
    /// A record of the same hand-over, before the mark, was refused by the
    /// full intake: the mark fails with this error.
    pub(crate) refused: Option<Error>,
}

/// Where an entry is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wire {
    /// Not written on the current connection.
    Waiting,
    /// Written on a stream; its frame ends at this offset of the TCP byte
    /// stream (`None` while a TLS batch is being written: TLS records do
    /// not map to frames).
    Stream { end: Option<u64> },
    /// Sent as a RELP frame with this transaction number.
    Relp { txnr: u32, sent: Instant },
}

/// A record in the ledger.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) message: Vec<u8>,
    waiter: Option<Reply>,
    pub(super) wire: Wire,
    /// Times its bytes reached the kernel.
    transmissions: u32,
    /// Connections that broke while it was transmitted on them.
    broken: u32,
    /// Its transmission on the current connection was counted.
    counted: bool,
}

#[derive(Debug)]
enum Item {
    Record(Entry),
    Mark(Mark),
}

/// Every record taken from the intake and not retired, oldest first.
#[derive(Debug)]
pub(super) struct Ledger {
    items: VecDeque<Item>,
    /// Records on the wire: the first this many records of `items` (marks
    /// between them do not count).
    on_wire: usize,
    /// Records in `items`.
    records: usize,
    tally: Arc<Tally>,
    /// Records failed or given up by the ledger so far, for marks.
    failures: Arc<AtomicU64>,
    last_error: Option<Error>,
}

impl Ledger {
    pub(super) fn new(tally: Arc<Tally>, failures: Arc<AtomicU64>) -> Ledger {
        Ledger {
            items: VecDeque::new(),
            on_wire: 0,
            records: 0,
            tally,
            failures,
            last_error: None,
        }
    }

    /// Takes an envelope from the intake (its record was counted as
    /// buffered when it went in).
    pub(super) fn push(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::Record { message, waiter } => {
                self.records += 1;
                self.items.push_back(Item::Record(Entry {
                    message,
                    waiter,
                    wire: Wire::Waiting,
                    transmissions: 0,
                    broken: 0,
                    counted: false,
                }));
            }
            Envelope::Mark(mark) => self.items.push_back(Item::Mark(mark)),
        }
        self.settle_marks();
    }

    /// Nothing in it.
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Records waiting to be written.
    pub(super) fn waiting(&self) -> usize {
        self.records - self.on_wire
    }

    /// Records on the wire.
    pub(super) fn on_wire(&self) -> usize {
        self.on_wire
    }

    /// The waiting records, oldest first, at most `max`: the next to write.
    pub(super) fn next_to_send(&mut self, max: usize) -> impl Iterator<Item = &mut Entry> {
        let skip = self.on_wire;
        self.items
            .iter_mut()
            .filter_map(|item| match item {
                Item::Record(entry) => Some(entry),
                Item::Mark(_) => None,
            })
            .skip(skip)
            .take(max)
    }

    /// The first `n` waiting records were put on the wire (their `wire`
    /// set by the session): they are in flight now.
    pub(super) fn put_on_wire(&mut self, n: usize) {
        debug_assert!(n <= self.waiting());
        self.on_wire += n;
        self.tally.moved(n as u64, Place::Buffered, Place::InFlight);
    }

    /// The records on the wire for which `reached` says their bytes reached
    /// the kernel and were not counted yet: each counts as sent (and as
    /// resent if it was sent before).
    pub(super) fn transmitted(&mut self, mut reached: impl FnMut(&Entry) -> bool) {
        let (mut sent, mut resent) = (0, 0);
        let on_wire = self.on_wire;
        for entry in self.records_mut().take(on_wire) {
            if entry.counted || !reached(entry) {
                continue;
            }
            if entry.transmissions > 0 {
                resent += 1;
            }
            entry.transmissions += 1;
            entry.counted = true;
            sent += 1;
        }
        if sent > 0 {
            self.tally.bump(|s| {
                s.sent += sent;
                s.resent += resent;
            });
        }
    }

    /// Sets the stream offset of every record on the wire that has none yet
    /// (a TLS batch, once flushed whole).
    pub(super) fn end_unended(&mut self, end: u64) {
        let on_wire = self.on_wire;
        for entry in self.records_mut().take(on_wire) {
            if entry.wire == (Wire::Stream { end: None }) {
                entry.wire = Wire::Stream { end: Some(end) };
            }
        }
    }

    /// Retires, as delivered, the records at the front whose frames end at
    /// or before `acked` bytes of the stream; with `None` (the kernel cannot
    /// tell), every record on the wire whose frame has an end.
    pub(super) fn retire_acked(&mut self, acked: Option<u64>) -> usize {
        let mut retired = 0;
        while let Some(Item::Record(entry)) = self.front_record() {
            let done = match (entry.wire, acked) {
                (Wire::Stream { end: Some(end) }, Some(acked)) => end <= acked,
                (Wire::Stream { end: Some(_) }, None) => true,
                _ => false,
            };
            if !done {
                break;
            }
            self.retire_front(Ok(()));
            retired += 1;
        }
        retired
    }

    /// The RELP transaction number of the oldest frame awaiting its `rsp`.
    pub(super) fn first_unacked(&self) -> Option<(u32, Instant)> {
        self.items.iter().find_map(|item| match item {
            Item::Record(Entry {
                wire: Wire::Relp { txnr, sent },
                ..
            }) => Some((*txnr, *sent)),
            _ => None,
        })
    }

    /// Retires the oldest record on the wire with `outcome`: delivered on
    /// `Ok`, failed on `Err` (the collector refused it).
    pub(super) fn retire_front(&mut self, outcome: Result<()>) {
        let Some(Item::Record(_)) = self.front_record() else {
            debug_assert!(false, "retiring with no record at the front");
            return;
        };
        let Some(Item::Record(entry)) = self.items.pop_front() else {
            return;
        };
        let from = if self.on_wire > 0 {
            self.on_wire -= 1;
            Place::InFlight
        } else {
            Place::Buffered
        };
        self.records -= 1;
        let to = if outcome.is_ok() {
            Place::Delivered
        } else {
            Place::Failed
        };
        self.tally.moved(1, from, to);
        if let Err(error) = &outcome {
            self.failed(error);
        }
        if let Some(waiter) = entry.waiter {
            waiter.send(outcome);
        }
        self.settle_marks();
    }

    /// The next waiting record was sent as a datagram: it is delivered.
    pub(super) fn deliver_next(&mut self) {
        debug_assert_eq!(self.on_wire, 0, "datagrams retire as they are sent");
        self.put_on_wire(1);
        self.transmitted(|_| true);
        self.retire_front(Ok(()));
    }

    /// After a connection broke: the records on the wire whose frames the
    /// collector's kernel acknowledged (`acked` bytes of a stream) retire
    /// as delivered; the rest go back to waiting, in order, to be sent
    /// first on the next connection. Records now on too many broken
    /// connections are given up from the front. Returns how many of them
    /// had reached the collector's side (possible duplicates once resent).
    pub(super) fn rewind(&mut self, acked: Option<u64>, error: &Error) -> usize {
        if acked.is_some() {
            self.retire_acked(acked);
        }
        let mut exposed = 0;
        let on_wire = self.on_wire;
        for entry in self.records_mut().take(on_wire) {
            if entry.counted {
                entry.broken += 1;
                exposed += 1;
            }
            entry.wire = Wire::Waiting;
            entry.counted = false;
        }
        self.tally
            .moved(on_wire as u64, Place::InFlight, Place::Buffered);
        self.on_wire = 0;
        while let Some(Item::Record(entry)) = self.front_record() {
            if entry.broken < MAX_BROKEN_CONNECTIONS {
                break;
            }
            self.retire_front(Err(Error::net(
                crate::error::ErrorKind::Send,
                error.address().unwrap_or_default().to_owned(),
                std::io::Error::other(format!(
                    "given up after {MAX_BROKEN_CONNECTIONS} connections broke before it was acknowledged"
                )),
            )));
        }
        exposed
    }

    /// Gives up every record (counted as dropped) and mark, answering each
    /// waiter with `error`. Returns how many records were given up.
    pub(super) fn give_up(&mut self, error: &Error) -> u64 {
        let mut records = 0;
        let on_wire = self.on_wire as u64;
        for item in self.items.drain(..) {
            match item {
                Item::Record(entry) => {
                    records += 1;
                    if let Some(waiter) = entry.waiter {
                        waiter.send(Err(error.clone()));
                    }
                }
                Item::Mark(mark) => mark.waiter.send(Err(error.clone())),
            }
        }
        self.tally.moved(on_wire, Place::InFlight, Place::Dropped);
        self.tally
            .moved(records - on_wire, Place::Buffered, Place::Dropped);
        self.failures.fetch_add(records, Ordering::Relaxed);
        if records > 0 {
            self.last_error = Some(error.clone());
        }
        self.on_wire = 0;
        self.records = 0;
        records
    }

    /// Answers the marks at the front: every record before them retired.
    fn settle_marks(&mut self) {
        while let Some(Item::Mark(_)) = self.items.front() {
            let Some(Item::Mark(mark)) = self.items.pop_front() else {
                break;
            };
            let failed = self.failures.load(Ordering::Relaxed) > mark.failures_before;
            let outcome = match (mark.refused, failed) {
                (Some(error), _) => Err(error),
                (None, true) => Err(self.last_error.clone().unwrap_or_else(Error::closed)),
                (None, false) => Ok(()),
            };
            mark.waiter.send(outcome);
        }
    }

    fn failed(&mut self, error: &Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.last_error = Some(error.clone());
    }

    /// The first item, if it is a record.
    fn front_record(&self) -> Option<&Item> {
        self.items
            .front()
            .filter(|item| matches!(item, Item::Record(_)))
    }

    fn records_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.items.iter_mut().filter_map(|item| match item {
            Item::Record(entry) => Some(entry),
            Item::Mark(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confirm::Confirm;
    use crate::error::ErrorKind;
    use crate::net::sink::expiry::Expiries;
    use std::time::Duration;
    use tokio::sync::oneshot;

    type Answer = oneshot::Receiver<Result<()>>;

    struct Fixture {
        ledger: Ledger,
        tally: Arc<Tally>,
        failures: Arc<AtomicU64>,
        expiries: Expiries,
    }

    impl Fixture {
        fn new() -> Fixture {
            let tally = Arc::new(Tally::default());
            let failures = Arc::new(AtomicU64::new(0));
            Fixture {
                ledger: Ledger::new(Arc::clone(&tally), Arc::clone(&failures)),
                tally,
                failures,
                expiries: Expiries::default(),
            }
        }

        fn reply(&self) -> (Reply, Answer) {
            let (tx, rx) = oneshot::channel();
            let far = Instant::now() + Duration::from_secs(60);
            (self.expiries.register(Confirm::new(tx), far), rx)
        }

        /// A record, counted in as the intake does, with its answer.
        fn record(&mut self, n: u8) -> Answer {
            let (reply, answer) = self.reply();
            self.tally.accepted(1, Place::Buffered);
            self.ledger.push(Envelope::Record {
                message: vec![n],
                waiter: Some(reply),
            });
            answer
        }

        fn mark(&mut self) -> Answer {
            let (reply, answer) = self.reply();
            let failures_before = self.failures.load(Ordering::Relaxed);
            self.ledger.push(Envelope::Mark(Mark {
                waiter: reply,
                after: 0,
                failures_before,
                refused: None,
            }));
            answer
        }

        /// Writes the next `n` waiting records as stream frames ending at
        /// `ends`, of which the bytes up to `written` reached the kernel.
        fn write(&mut self, ends: &[u64], written: u64) {
            for (entry, end) in self.ledger.next_to_send(ends.len()).zip(ends) {
                entry.wire = Wire::Stream { end: Some(*end) };
            }
            self.ledger.put_on_wire(ends.len());
            self.ledger.transmitted(
                |entry| matches!(entry.wire, Wire::Stream { end: Some(end) } if end <= written),
            );
        }

        fn stats(&self) -> crate::stats::SinkStats {
            let stats = self.tally.snapshot();
            assert!(stats.adds_up(), "{stats:?}");
            stats
        }
    }

    fn outcome(answer: &mut Answer) -> Option<Result<()>> {
        answer.try_recv().ok()
    }

    fn broke() -> Error {
        Error::net(
            ErrorKind::Send,
            "tcp://collector:514",
            std::io::Error::other("reset"),
        )
    }

    #[test]
    fn a_failed_writes_acknowledged_prefix_retires_and_only_the_rest_goes_again() {
        let mut f = Fixture::new();
        let mut answers: Vec<Answer> = (0..5).map(|n| f.record(n)).collect();
        // Five frames; the write broke after 35 bytes; the kernel had 25.
        f.write(&[10, 20, 30, 40, 50], 35);
        assert_eq!(f.stats().sent, 3);
        let exposed = f.ledger.rewind(Some(25), &broke());
        assert_eq!(exposed, 1, "the third frame left, unacknowledged");
        assert!(matches!(outcome(&mut answers[0]), Some(Ok(()))));
        assert!(matches!(outcome(&mut answers[1]), Some(Ok(()))));
        assert!(outcome(&mut answers[2]).is_none(), "it goes again");
        let stats = f.stats();
        assert_eq!(
            (stats.delivered, stats.buffered, stats.in_flight),
            (2, 3, 0)
        );
        // The next connection sends the three left, oldest first.
        let next: Vec<u8> = f.ledger.next_to_send(10).map(|e| e.message[0]).collect();
        assert_eq!(next, [2, 3, 4]);
        f.write(&[5, 10, 15], 15);
        f.ledger.retire_acked(Some(15));
        let stats = f.stats();
        assert_eq!((stats.sent, stats.resent, stats.delivered), (6, 1, 5));
        assert_eq!(stats.sent - stats.resent, 5, "each record counted once");
    }

    #[test]
    fn a_mark_settles_once_everything_before_it_did_and_fails_if_one_failed() {
        let mut f = Fixture::new();
        let _first = f.record(1);
        let mut clean = f.mark();
        assert!(outcome(&mut clean).is_none(), "a record is before it");
        f.write(&[10], 10);
        f.ledger.retire_acked(Some(10));
        assert!(matches!(outcome(&mut clean), Some(Ok(()))));
        let _second = f.record(2);
        let mut failing = f.mark();
        let _third = f.record(3);
        f.write(&[10], 10);
        f.ledger
            .retire_front(Err(Error::rejected("relp://c:2514", 500, "no")));
        let err = outcome(&mut failing).expect("settled").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected);
        // A mark with nothing before it settles at once.
        f.write(&[10], 10);
        f.ledger.retire_acked(Some(10));
        let mut empty = f.mark();
        assert!(matches!(outcome(&mut empty), Some(Ok(()))));
        assert_eq!(f.stats().failed, 1);
    }

    #[test]
    fn a_record_on_too_many_broken_connections_is_given_up_as_failed() {
        let mut f = Fixture::new();
        let mut poison = f.record(1);
        let _next = f.record(2);
        for _ in 0..MAX_BROKEN_CONNECTIONS {
            assert!(outcome(&mut poison).is_none());
            f.write(&[10, 20], 20);
            f.ledger.rewind(Some(0), &broke());
        }
        let err = outcome(&mut poison).expect("given up").unwrap_err();
        assert!(err.to_string().contains("given up after 8"), "{err}");
        let stats = f.stats();
        // The record after it was on as many, and goes the same way.
        assert_eq!((stats.failed, stats.buffered), (2, 0), "{stats:?}");
    }

    #[test]
    fn giving_up_counts_every_record_as_dropped_and_answers_every_waiter() {
        let mut f = Fixture::new();
        let mut answers: Vec<Answer> = (0..3).map(|n| f.record(n)).collect();
        let mut mark = f.mark();
        f.write(&[10], 10);
        let given_up = f.ledger.give_up(&Error::delivery_timeout("tcp://c:514", 3));
        assert_eq!(given_up, 3);
        for answer in answers.iter_mut().chain([&mut mark]) {
            let err = outcome(answer).expect("answered").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DeliveryTimeout);
        }
        let stats = f.stats();
        assert_eq!((stats.dropped, stats.buffered, stats.in_flight), (3, 0, 0));
        assert!(f.ledger.is_empty());
    }
}
