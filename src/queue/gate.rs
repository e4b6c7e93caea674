//! The gate in front of the queue: how a stop knows that every record that
//! was accepted has arrived.
//!
//! Every push counts itself in `in_flight` before it looks at `closed`; the
//! writer takes each message out of `in_flight` once it took it off the
//! queue. A stop closes the gate, then sends its own message through the
//! queue; the writer, having received it, waits until `in_flight` is 0. So
//! each push either sees the gate closed and refuses, or is counted where
//! the writer sees it, and no accepted record is left in the channel behind
//! a stop.
//!
//! The argument needs no sequentially consistent ordering: the writer reads
//! `in_flight` with a read-modify-write (`fetch_add(0)`), and pushes count
//! themselves with one. Read-modify-writes of one atomic are totally
//! ordered: if a push's increment comes after the writer's read, it
//! synchronizes with it (acquire/release), and so sees the gate that was
//! closed before the writer's read; if it comes before, the writer sees it.
//! `model` checks this with loom (`RUSTFLAGS="--cfg clh_loom" cargo test
//! --release --lib gate`).
//!
//! The gate also follows what the writer took until it is written
//! (`in_hand`), so that a caller of an idle handler may write its own record
//! without passing one queued before it ([`Gate::writer_idle`]).

#[cfg(clh_loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(not(clh_loom))]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counts pushes under way and decides whether a record may pass.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// Messages pushed, or being pushed, and not yet taken by the writer.
    /// On a cache line of its own: every caller updates it.
    in_flight: Aligned,
    /// Set by a stop or shutdown: pushes of records are refused.
    closed: AtomicBool,
    /// Messages the writer took and is not done with yet (see
    /// [`writer_idle`](Self::writer_idle)).
    in_hand: AtomicU64,
    /// The writer keeps lines of a failed write for another attempt.
    backlog: AtomicBool,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Aligned(AtomicU64);

/// A push that passed the gate; it counts in flight until dropped, unless
/// [`pushed`](Self::pushed) said it reached the queue (the writer uncounts
/// it when it takes it).
#[derive(Debug)]
#[must_use = "dropping the pass uncounts the push"]
pub(crate) struct Pass<'a> {
    gate: &'a Gate,
    pushed: bool,
}

impl Pass<'_> {
    /// The message is in the queue.
    pub(crate) fn pushed(mut self) {
        self.pushed = true;
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if !self.pushed {
            self.gate.in_flight.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Gate {
    /// Counts a push, unless the gate is closed and `even_if_closed` is not
    /// set (control messages get through a closed gate).
    pub(crate) fn enter(&self, even_if_closed: bool) -> Option<Pass<'_>> {
        self.in_flight.0.fetch_add(1, Ordering::AcqRel);
        let pass = Pass {
            gate: self,
            pushed: false,
        };
        if !even_if_closed && self.closed.load(Ordering::Acquire) {
            return None;
        }
        Some(pass)
    }

    /// The writer took `n` messages off the queue: they count in hand
    /// before they stop counting in flight.
    pub(crate) fn taken(&self, n: u64) {
        self.in_hand.fetch_add(n, Ordering::AcqRel);
        self.in_flight.0.fetch_sub(n, Ordering::AcqRel);
    }

    /// `n` messages were dropped unwritten, by no writer (it is gone).
    pub(crate) fn discarded(&self, n: u64) {
        self.in_flight.0.fetch_sub(n, Ordering::AcqRel);
    }

    /// The writer is done with `n` messages it took: written, answered, or
    /// (`backlog`) kept as lines for another attempt, which it says until
    /// they are written.
    pub(crate) fn done(&self, n: u64, backlog: bool) {
        self.backlog.store(backlog, Ordering::Release);
        self.in_hand.fetch_sub(n, Ordering::AcqRel);
    }

    /// Whether everything that passed the gate before the caller's own
    /// `pass` was written: no push is counted in flight but the caller's,
    /// and the writer holds no message it took and no lines kept for a
    /// retry. Asked while holding the lock the writer writes under, it
    /// tells the caller that a line it writes now comes after all of that.
    ///
    /// Why: a message that passed the gate before `pass` was counted in
    /// flight before it. Finding the count at 1 means the writer took it
    /// out (read-modify-writes of one atomic are totally ordered, and the
    /// acquire here synchronizes with the writer's release), so its
    /// earlier count in hand is visible; finding nothing in hand then means
    /// the writer was done with it, which it is only once it was written,
    /// under the lock the caller now holds. `model` checks this with loom.
    pub(crate) fn writer_idle(&self, _pass: &Pass<'_>) -> bool {
        self.in_flight.0.fetch_add(0, Ordering::AcqRel) == 1
            && self.in_hand.fetch_add(0, Ordering::AcqRel) == 0
            && !self.backlog.load(Ordering::Acquire)
    }

    /// Refuses records from now on.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Accepts records again.
    pub(crate) fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether every push counted so far was taken and none is under way.
    /// A read-modify-write, so that it is ordered with the pushes' (see the
    /// module docs).
    pub(crate) fn settled(&self) -> bool {
        self.in_flight.0.fetch_add(0, Ordering::AcqRel) == 0
    }

    /// Messages waiting or being pushed, for the stats.
    pub(crate) fn depth(&self) -> u64 {
        self.in_flight.0.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, clh_loom))]
mod model {
    use super::*;
    use loom::sync::{Arc, Mutex};

    const STOP: u32 = 0;

    /// A caller pushes while a stop closes the gate and sends its message;
    /// the writer takes messages until it has the stop and the gate is
    /// settled. A push that passed the gate must be among what it took.
    #[test]
    fn a_stop_sees_every_push_that_passed_the_gate() {
        let mut model = loom::model::Builder::new();
        // The writer's polling loop makes the full space needlessly large;
        // three preemptions cover every order of the four atomic steps.
        model.preemption_bound = Some(3);
        model.check(|| {
            let gate = Arc::new(Gate::default());
            let channel = Arc::new(Mutex::new(Vec::new()));
            let caller = {
                let (gate, channel) = (Arc::clone(&gate), Arc::clone(&channel));
                loom::thread::spawn(move || match gate.enter(false) {
                    Some(pass) => {
                        channel.lock().unwrap().push(1);
                        pass.pushed();
                        true
                    }
                    None => false,
                })
            };
            let stopper = {
                let (gate, channel) = (Arc::clone(&gate), Arc::clone(&channel));
                loom::thread::spawn(move || {
                    gate.close();
                    let pass = gate.enter(true).unwrap();
                    channel.lock().unwrap().push(STOP);
                    pass.pushed();
                })
            };
            let mut taken = Vec::new();
            loop {
                let batch: Vec<u32> = channel.lock().unwrap().drain(..).collect();
                gate.taken(batch.len() as u64);
                taken.extend(batch);
                if taken.contains(&STOP) && gate.settled() {
                    break;
                }
                loom::thread::yield_now();
            }
            stopper.join().unwrap();
            if caller.join().unwrap() {
                assert!(taken.contains(&1), "a record stranded behind the stop");
            }
        });
    }

    const QUEUED: u32 = 1;
    const ALONE: u32 = 2;

    /// A caller queues one record, then writes a second one itself if the
    /// writer is idle (else queues it too), while the writer takes and
    /// writes batches under the file's lock. The queued record must reach
    /// the file first, however the steps interleave; and with nothing in
    /// the way the caller does get to write (the check is not simply
    /// always false).
    #[test]
    fn a_record_written_by_its_caller_never_passes_one_queued_before_it() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        let alone_seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = std::sync::Arc::clone(&alone_seen);
        model.check(move || {
            let gate = Arc::new(Gate::default());
            let channel = Arc::new(Mutex::new(Vec::new()));
            let file = Arc::new(Mutex::new(Vec::new()));
            let caller = {
                let (gate, channel, file) =
                    (Arc::clone(&gate), Arc::clone(&channel), Arc::clone(&file));
                loom::thread::spawn(move || {
                    let pass = gate.enter(false).unwrap();
                    channel.lock().unwrap().push(QUEUED);
                    pass.pushed();
                    let pass = gate.enter(false).unwrap();
                    let mut written = file.lock().unwrap();
                    if gate.writer_idle(&pass) {
                        written.push(ALONE);
                        return true;
                    }
                    drop(written);
                    channel.lock().unwrap().push(ALONE);
                    pass.pushed();
                    false
                })
            };
            // The writer: take what is queued, count it in hand, write it
            // under the file's lock, then be done with it.
            let mut taken = 0;
            loop {
                let batch: Vec<u32> = channel.lock().unwrap().drain(..).collect();
                let n = batch.len() as u64;
                gate.taken(n);
                taken += batch.len();
                file.lock().unwrap().extend(batch);
                gate.done(n, false);
                if file.lock().unwrap().len() == 2 {
                    break;
                }
                loom::thread::yield_now();
            }
            let wrote_alone = caller.join().unwrap();
            assert_eq!(*file.lock().unwrap(), [QUEUED, ALONE], "order lost");
            assert_eq!(taken, if wrote_alone { 1 } else { 2 });
            if wrote_alone {
                seen.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        assert!(
            alone_seen.load(std::sync::atomic::Ordering::Relaxed),
            "the caller never found the writer idle"
        );
    }
}
