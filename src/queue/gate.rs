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

    /// The writer took `n` messages off the queue.
    pub(crate) fn taken(&self, n: u64) {
        self.in_flight.0.fetch_sub(n, Ordering::AcqRel);
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
}
