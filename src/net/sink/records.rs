//! How the task moves records: takes them from the buffer, settles them
//! (telling their confirms and the flushes waiting for them), queues them
//! to be sent again after a broken connection, and gives them up.

use std::io;
use std::time::Instant;

use super::shared::{Pending, bump};
use super::task::Task;
use crate::error::Error;

/// A record given up after this many broken connections.
const MAX_BROKEN_CONNECTIONS: u32 = 8;

impl Task {
    /// Takes records to send into `out`, up to `max` in all: those to
    /// resend first, then the buffer's. Returns the shutdown deadline, if any.
    pub(super) fn take(&mut self, max: usize, out: &mut Vec<Pending>) -> Option<Instant> {
        while out.len() < max {
            match self.resend.pop_front() {
                Some(p) => out.push(p),
                None => break,
            }
        }
        let mut state = self.shared.lock();
        let n = (max - out.len()).min(state.queue.len());
        out.extend(state.queue.drain(..n));
        let closing = state.closing;
        let notify = n > 0 && state.waiting_submitters > 0;
        drop(state);
        if notify {
            self.shared.room.notify_all();
        }
        closing
    }

    /// Tells the outcome of `records` (in order): `Ok` for all, or the
    /// error of the last one. Records settled before (TCP records being
    /// resent) are skipped.
    pub(super) fn settle(&self, records: &mut [Pending], last_failed: Option<Error>) {
        let mut confirms = Vec::with_capacity(records.len());
        let mut state = self.shared.lock();
        let count = records.len();
        for (i, p) in records.iter_mut().enumerate() {
            if p.settled {
                continue;
            }
            p.settled = true;
            debug_assert!(p.seq > state.settled, "records settle in order");
            state.settled = state.settled.max(p.seq);
            let outcome = match &last_failed {
                Some(error) if i + 1 == count => {
                    state.failed += 1;
                    state.last_error = Some(error.clone());
                    Err(error.clone())
                }
                _ => Ok(()),
            };
            if let Some(confirm) = p.confirm.take() {
                confirms.push((confirm, outcome));
            }
        }
        while let Some(flush) = state.flushes.front() {
            if flush.target > state.settled {
                break;
            }
            let outcome = if state.failed > flush.failed_before {
                Err(state.last_error.clone().unwrap_or(Error::closed()))
            } else {
                Ok(())
            };
            if let Some(flush) = state.flushes.pop_front() {
                let _ = flush.reply.try_send(outcome);
            }
        }
        drop(state);
        for (confirm, outcome) in confirms {
            confirm.send(outcome);
        }
    }

    pub(super) fn fail(&self, mut record: Pending, error: Error) {
        bump(&self.shared.counters.failed, 1);
        self.settle(std::slice::from_mut(&mut record), Some(error));
    }

    /// Counts a completed transmission of `records`.
    pub(super) fn count_sent(&self, records: &[Pending]) {
        let resent = records.iter().filter(|p| p.broken > 0).count();
        bump(&self.shared.counters.sent, records.len() as u64);
        bump(&self.shared.counters.resent, resent as u64);
    }

    /// Puts `records` (oldest first) before everything waiting to be resent,
    /// each marked as having been on a broken connection.
    pub(super) fn resend_first(&mut self, records: impl DoubleEndedIterator<Item = Pending>) {
        for mut p in records.rev() {
            p.broken += 1;
            self.resend.push_front(p);
        }
    }

    /// Puts records that were never sent (oldest first) back before
    /// everything waiting to be resent.
    pub(super) fn put_back(&mut self, records: Vec<Pending>) {
        for p in records.into_iter().rev() {
            self.resend.push_front(p);
        }
    }

    /// Gives up the records that were on too many broken connections.
    pub(super) fn give_up_on_repeatedly_broken(&mut self) {
        if !self
            .resend
            .iter()
            .any(|p| p.broken >= MAX_BROKEN_CONNECTIONS)
        {
            return;
        }
        // Settle in order: everything before a given-up record must settle
        // first, and it all still waits to be sent, so only a prefix of
        // given-up records can be settled now; the others stay and are
        // given up when they reach the front of the next session's batch.
        while self
            .resend
            .front()
            .is_some_and(|p| p.broken >= MAX_BROKEN_CONNECTIONS)
        {
            if let Some(p) = self.resend.pop_front() {
                let error = self.shared.send_error(io::Error::other(format!(
                    "given up after {MAX_BROKEN_CONNECTIONS} connections broke before it was acknowledged"
                )));
                if p.settled {
                    bump(&self.shared.counters.dropped, 1);
                } else {
                    self.fail(p, error);
                }
            }
        }
    }

    /// At the end: everything not delivered is given up, in order.
    pub(super) fn drop_everything_left(&mut self) {
        let mut left: Vec<Pending> = self.resend.drain(..).collect();
        left.extend(self.shared.lock().queue.drain(..));
        if left.is_empty() {
            return;
        }
        bump(&self.shared.counters.dropped, left.len() as u64);
        let error = {
            let state = self.shared.lock();
            Error::delivery_timeout(self.shared.address.clone(), state.submitted - state.settled)
        };
        self.shared.errors.report(&error);
        for p in &mut left {
            // A TCP record awaiting its resend was confirmed as sent already.
            if !p.settled {
                self.settle(std::slice::from_mut(p), Some(error.clone()));
            }
        }
    }
}
