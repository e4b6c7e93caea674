//! Deadlines of the callers waiting for the collector.
//!
//! A caller that waits for the collector's confirmation (`emit_wait` or
//! `flush` with `Confirmation::Collector` or `Both`) hands the sink its
//! confirm with a deadline. The confirm sits in a [`Slot`] that two parties
//! can answer, whichever comes first: the ledger, when the record settles,
//! and the sink's expiry task, when the deadline passes. An expired caller
//! learns that the collector did not confirm in time; its record stays in
//! the sink and is still delivered if it can be (the local file has it
//! either way).
//!
//! The expiry task runs on the sink's own runtime beside the delivery task,
//! so a deadline is kept whatever the delivery task is waiting for (a
//! connect, a backoff, an acknowledgement).

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::Notify;

use super::tally::Tally;
use crate::confirm::Confirm;
use crate::error::{Error, Result};
use crate::sync::lock_unpoisoned;

/// A caller's confirm, answered once by whoever takes it first.
#[derive(Debug)]
pub(crate) struct Slot(Mutex<Option<Confirm>>);

/// The sink's share of a waiting caller: answer it when the record (or the
/// mark) settles. Dropped unanswered, the caller hears `Closed`.
#[derive(Debug)]
pub(crate) struct Reply(Arc<Slot>);

impl Reply {
    pub(crate) fn send(self, outcome: Result<()>) {
        if let Some(confirm) = lock_unpoisoned(&(self.0).0).take() {
            confirm.send(outcome);
        }
    }
}

/// One deadline the expiry task keeps.
#[derive(Debug)]
struct Due {
    at: Instant,
    /// Order of registration, so that equal deadlines expire in order.
    seq: u64,
    slot: Weak<Slot>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    /// Reversed: `BinaryHeap` is a max-heap, the earliest deadline must top it.
    fn cmp(&self, other: &Due) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The deadlines of every waiting caller, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Expiries {
    heap: Mutex<Heap>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Heap {
    dues: BinaryHeap<Due>,
    /// The last registration's number.
    seq: u64,
    /// Past this many entries, those already answered are swept out: a
    /// caller answered in time leaves its deadline behind until it passes.
    sweep_at: usize,
}

/// The fewest entries worth a sweep.
const MIN_SWEEP: usize = 1024;

impl Expiries {
    /// Puts `confirm` in a slot that expires at `deadline`.
    pub(crate) fn register(&self, confirm: Confirm, deadline: Instant) -> Reply {
        let slot = Arc::new(Slot(Mutex::new(Some(confirm))));
        let mut heap = lock_unpoisoned(&self.heap);
        if heap.dues.len() >= heap.sweep_at.max(MIN_SWEEP) {
            heap.dues.retain(|due| due.slot.strong_count() > 0);
            heap.sweep_at = 2 * heap.dues.len();
        }
        let earliest = heap.dues.peek().is_none_or(|due| deadline < due.at);
        heap.seq += 1;
        let seq = heap.seq;
        heap.dues.push(Due {
            at: deadline,
            seq,
            slot: Arc::downgrade(&slot),
        });
        drop(heap);
        if earliest {
            self.changed.notify_one();
        }
        Reply(slot)
    }

    /// Answers, with `expired()`, every caller whose deadline passed; the
    /// next deadline, if any.
    fn expire_due(&self, now: Instant, expired: impl Fn() -> Error) -> Option<Instant> {
        let mut due = Vec::new();
        let next = {
            let mut heap = lock_unpoisoned(&self.heap);
            while heap.dues.peek().is_some_and(|d| d.at <= now) {
                if let Some(d) = heap.dues.pop() {
                    due.push(d.slot);
                }
            }
            heap.dues.peek().map(|d| d.at)
        };
        // Answered outside the heap's mutex: a confirm wakes its caller.
        let mut error = None;
        for slot in due.iter().filter_map(Weak::upgrade) {
            if let Some(confirm) = lock_unpoisoned(&slot.0).take() {
                confirm.send(Err(error.get_or_insert_with(&expired).clone()));
            }
        }
        next
    }

    /// The expiry task: answers each waiting caller at its deadline with a
    /// [`DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout) naming the
    /// collector and what it has not delivered yet. Runs until the sink's
    /// runtime is dropped.
    pub(crate) async fn run(&self, address: String, tally: Arc<Tally>) {
        let expired = || Error::delivery_timeout(address.clone(), tally.undelivered());
        loop {
            let next = self.expire_due(Instant::now(), expired);
            let changed = self.changed.notified();
            match next {
                Some(at) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep_until(at.into()) => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::time::Duration;
    use tokio::sync::oneshot;

    #[test]
    fn the_first_of_the_ledger_and_the_deadline_answers_and_the_other_finds_nothing() {
        let expiries = Expiries::default();
        let now = Instant::now();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let late = expiries.register(Confirm::new(tx1), now + Duration::from_secs(60));
        let early = expiries.register(Confirm::new(tx2), now + Duration::from_millis(1));
        let expired = || Error::delivery_timeout("tcp://collector:514", 3);
        let next = expiries.expire_due(now + Duration::from_millis(2), expired);
        assert_eq!(next, Some(now + Duration::from_secs(60)));
        let err = rx2.try_recv().expect("expired").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout);
        assert!(err.to_string().contains("tcp://collector:514"), "{err}");
        early.send(Ok(())); // too late: nothing happens
        assert!(rx1.try_recv().is_err(), "not due yet");
        late.send(Ok(()));
        assert!(rx1.try_recv().expect("answered").is_ok());
        // Its deadline finds the slot empty.
        assert_eq!(
            expiries.expire_due(now + Duration::from_secs(61), expired),
            None
        );
    }

    #[test]
    fn deadlines_of_answered_callers_are_swept_out() {
        let expiries = Expiries::default();
        let far = Instant::now() + Duration::from_secs(60);
        for _ in 0..10 * MIN_SWEEP {
            let (tx, _rx) = oneshot::channel();
            expiries.register(Confirm::new(tx), far).send(Ok(()));
        }
        let left = lock_unpoisoned(&expiries.heap).dues.len();
        assert!(
            left <= MIN_SWEEP,
            "{left} deadlines kept for answered callers"
        );
    }
}
