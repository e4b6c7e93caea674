//! `FallbackMode::Nowait`: records that found the queue full are written on
//! the runtime's blocking pool, at most `limit` at once.
//!
//! Each write takes a ticket; `flush` and `shutdown` wait until every write
//! whose ticket came before theirs is done. They take nothing from the
//! writes' budget while they wait, so records overflowing meanwhile are
//! written as usual, not dropped.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::queue::Line;
use crate::stats::add;
use crate::sync::lock_unpoisoned;
use crate::writer::Core;

/// The writes in flight on one runtime's blocking pool.
#[derive(Debug)]
pub(crate) struct Nowait {
    runtime: Handle,
    limit: usize,
    tickets: Mutex<Tickets>,
    done: Notify,
    /// Whether stderr was told that the runtime dropped writes unrun.
    said_unrun: AtomicBool,
}

#[derive(Debug, Default)]
struct Tickets {
    next: u64,
    running: BTreeSet<u64>,
}

impl Nowait {
    pub(crate) fn new(runtime: Handle, limit: usize) -> Nowait {
        Nowait {
            runtime,
            limit,
            tickets: Mutex::default(),
            done: Notify::new(),
            said_unrun: AtomicBool::new(false),
        }
    }

    /// Hands `line` to the blocking pool, or drops and counts it when `limit`
    /// writes are in flight already.
    pub(crate) fn write(self: &Arc<Self>, core: &Arc<Core>, line: Line) {
        let ticket = {
            let mut tickets = lock_unpoisoned(&self.tickets);
            if tickets.running.len() >= self.limit {
                drop(tickets);
                add(&core.counters.dropped, 1);
                return;
            }
            let ticket = tickets.next;
            tickets.next += 1;
            tickets.running.insert(ticket);
            ticket
        };
        // Counted as handed over now, not when it runs: `emitted` includes it
        // from the start.
        add(&core.counters.outside, 1);
        let job = NowaitWrite {
            core: Arc::clone(core),
            nowait: Arc::clone(self),
            line: Some(line),
            ticket,
            done: false,
        };
        self.runtime.spawn_blocking(move || {
            let mut job = job;
            job.run();
        });
    }

    /// Resolves once every write handed over before the call is done.
    pub(super) async fn wait_for_earlier(&self) {
        let target = lock_unpoisoned(&self.tickets).next;
        loop {
            // Created before the check: a write that ends in between still
            // wakes it.
            let notified = self.done.notified();
            let earliest = lock_unpoisoned(&self.tickets).running.first().copied();
            if earliest.is_none_or(|t| t >= target) {
                return;
            }
            notified.await;
        }
    }

    fn finished(&self, ticket: u64) {
        lock_unpoisoned(&self.tickets).running.remove(&ticket);
        self.done.notify_waiters();
    }
}

/// A `Nowait` record on its way through the blocking pool. If the pool drops
/// the job unrun (the runtime is shutting down), the record is counted as
/// dropped, reported in the log with the other drops, and the first such
/// record of a handler is said on stderr too: the runtime going away is a
/// mistake in the program, not an overload.
struct NowaitWrite {
    core: Arc<Core>,
    nowait: Arc<Nowait>,
    line: Option<Line>,
    ticket: u64,
    done: bool,
}

impl NowaitWrite {
    fn run(&mut self) {
        self.done = true;
        // A failure is counted and reported by `write_now`.
        if let Some(line) = self.line.take() {
            let _ = self.core.write_now(line);
        }
    }
}

impl Drop for NowaitWrite {
    fn drop(&mut self) {
        if !self.done {
            // Not a fallback write after all: a dropped record.
            self.core.counters.outside.fetch_sub(1, Ordering::Relaxed);
            add(&self.core.counters.dropped, 1);
            if !self.nowait.said_unrun.swap(true, Ordering::Relaxed) {
                crate::report::to_stderr(&format!(
                    "concurrent_log_handler: the tokio runtime shut down before Nowait writes \
                     to {:?} ran; they are dropped and counted in Stats::dropped (shut the \
                     handler down before dropping its runtime)",
                    self.core.path
                ));
            }
        }
        self.nowait.finished(self.ticket);
    }
}
