//! How the sink ends: its thread's last act, and giving up what is left in
//! the intake (by the thread, or by an offer that raced its end).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crossbeam_channel::Receiver;

use super::Closed;
use super::door::Door;
use super::ledger::{Envelope, Mark};
use super::tally::{Place, Tally};
use crate::error::Error;
use crate::sync::lock_unpoisoned;

/// What the sink's thread does as its last act: refuse further offers,
/// give up what is left in the intake, and tell `close`.
pub(super) struct Ending {
    pub(super) address: String,
    pub(super) leftovers: Leftovers,
    pub(super) door: Arc<Door>,
    pub(super) closed: Arc<(Mutex<Option<Closed>>, Condvar)>,
    pub(super) tally: Arc<Tally>,
    pub(super) failures: Arc<AtomicU64>,
}

impl Ending {
    pub(super) fn end(self, given_up_by_task: u64) {
        self.door.close();
        let error = Error::delivery_timeout(self.address.clone(), self.tally.undelivered());
        let left = self.leftovers.give_up(&self.tally, &self.failures, &error);
        let undelivered = given_up_by_task + left;
        let (lock, ended) = &*self.closed;
        *lock_unpoisoned(lock) = Some(Closed {
            undelivered,
            address: self.address.clone(),
            first: false,
        });
        ended.notify_all();
    }
}

impl Drop for Ending {
    /// The thread panicked (a bug): `close` must still hear of it.
    fn drop(&mut self) {
        let (lock, ended) = &*self.closed;
        let mut closed = lock_unpoisoned(lock);
        if closed.is_none() {
            self.door.close();
            *closed = Some(Closed {
                undelivered: self.tally.undelivered(),
                address: self.address.clone(),
                first: false,
            });
            ended.notify_all();
        }
    }
}

/// Receivers of the intake, for whoever gives up what is left in it.
#[derive(Debug, Clone)]
pub(super) struct Leftovers {
    pub(super) records: Receiver<Envelope>,
    pub(super) marks: Receiver<Mark>,
}

impl Leftovers {
    /// Gives up everything left with `error`: records counted as dropped,
    /// waiters and marks answered. Returns how many records.
    pub(super) fn give_up(&self, tally: &Tally, failures: &AtomicU64, error: &Error) -> u64 {
        let mut records = 0;
        while let Ok(envelope) = self.records.try_recv() {
            match envelope {
                Envelope::Record { waiter, .. } => {
                    records += 1;
                    if let Some(waiter) = waiter {
                        waiter.send(Err(error.clone()));
                    }
                }
                Envelope::Mark(mark) => mark.waiter.send(Err(error.clone())),
            }
        }
        while let Ok(mark) = self.marks.try_recv() {
            mark.waiter.send(Err(error.clone()));
        }
        tally.moved(records, Place::Buffered, Place::Dropped);
        failures.fetch_add(records, Ordering::Relaxed);
        records
    }
}
