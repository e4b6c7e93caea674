//! How records reach the writer: the one bounded queue both queued front-ends
//! share, with the gate that closes it and the wait for room.
//!
//! ```text
//! callers ──push──▶ Queue ──(bounded ring of slots)──▶ Inbox ──▶ writer thread
//!    ▲  gate: in_flight + closed                          │
//!    └────────────── room: "slots were freed" ◀───────────┘
//! ```
//!
//! - **The gate** ([`gate`]): every push counts itself before it looks
//!   whether the queue is closed, and the writer uncounts what it takes, so
//!   a writer that waits, after a stop, until nothing is counted has every
//!   accepted record, and none is stranded in the channel.
//! - **Waiting for room** (`FallbackMode::Block`, `sync_level` records,
//!   `emit_wait`, `flush`): the caller waits until the writer freed slots,
//!   then pushes. The record goes through the queue like every other, so
//!   each producer's records keep the order it emitted them in. A blocking
//!   caller waits on a condition variable the writer signals after taking
//!   a batch, only when someone waits; an async caller awaits a
//!   [`Notify`] the writer notifies after each batch.
//! - The channel is `crossbeam-channel`'s bounded channel, a ring of slots
//!   allocated when the queue is built: a push costs the same however large
//!   the queue is. (tokio's bounded mpsc, a linked list of blocks, made each
//!   push walk from the oldest block not yet fully written to its own: a
//!   producer preempted in the middle of its push, on a machine with more
//!   busy threads than cores, turned every other push into a walk of up to
//!   `capacity / 32` blocks while the queue filled. The quickstart's 8
//!   tasks on 2 cores ran anywhere between 0.8M and 5.6M lines/s with a
//!   queue of 10,000, steadily at the top with one of 1,024.)
//!
//! This module knows nothing of formats or files: it moves [`Msg`]s (records,
//! as bytes or still as records, and control messages that never share a slot
//! with them).

mod gate;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{self as channel, RecvTimeoutError, TryRecvError, TrySendError};
use tokio::sync::{Notify, oneshot};

use crate::error::Result;
use crate::record::Record;
use crate::rest::{WriterWake, busy_at};
use crate::sync::lock_unpoisoned;
use gate::Gate;
pub(crate) use gate::Pass;

/// Tells one waiting caller how its record, flush or stop went.
pub(crate) type Waiter = oneshot::Sender<Result<()>>;

/// One record's bytes: its line for the file and, when the handler forwards
/// to a syslog collector, its RFC 5424 message.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) file: Vec<u8>,
    pub(crate) syslog: Option<Vec<u8>>,
}

impl Line {
    /// A line for the file only.
    pub(crate) fn file(file: Vec<u8>) -> Line {
        Line { file, syslog: None }
    }
}

/// A record on its way to the writer: formatted by its caller, or still a
/// record, which the writer formats.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Formatted in the caller's thread.
    Line(Line),
    /// Formatted by the writer, into the batch it is building.
    Record(Record),
}

/// What a caller waiting for its record waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Await {
    /// The record in the local file (`sync_level`), whatever the
    /// handler's confirmation says about a collector.
    InFile,
    /// The sinks the handler's confirmation names (`emit_wait`).
    Confirmed,
}

/// One queue slot. Control messages never share a slot with records.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A record, fire-and-forget.
    Record(Pending),
    /// A record whose caller waits for the outcome, for what [`Await`] says.
    Confirmed(Pending, Waiter, Await),
    /// Resolve once everything queued before it is written (and, for
    /// [`Await::Confirmed`], confirmed as the handler's confirmation says).
    Flush(Waiter, Await),
    /// Rotate the log once everything queued before it is written.
    Rotate(Waiter),
    /// Write everything accepted, let compressions finish, resolve, by the
    /// deadline if there is one; the writer goes on (the thread handler can
    /// be started again).
    Stop(Waiter, Option<Instant>),
    /// As `Stop`, then the writer ends for good.
    Shutdown(Waiter, Option<Instant>),
}

impl Msg {
    /// Whether a caller waits for this message: the writer does not hold
    /// it back for a retry's backoff.
    pub(crate) fn is_control(&self) -> bool {
        matches!(self, Msg::Flush(..) | Msg::Stop(..) | Msg::Shutdown(..))
    }
}

/// The most records a queue may hold (1,048,576): its slots alone take
/// 64 MiB, reserved when the handler is built, and a queue that holds more
/// than a few seconds of a disk's writes only delays the moment it is full.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// The callers' side of the queue. Cheap to share behind the handler's `Arc`.
#[derive(Debug)]
pub(crate) struct Queue {
    tx: channel::Sender<Msg>,
    shared: Arc<QueueShared>,
}

/// The writer's side of the queue.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: channel::Receiver<Msg>,
    shared: Arc<QueueShared>,
}

#[derive(Debug)]
struct QueueShared {
    gate: Gate,
    room: Room,
    wake: Arc<WriterWake>,
    capacity: usize,
    /// The writer's side is gone: nothing more will be taken.
    writer_gone: AtomicBool,
    /// A second receiver, to drop what is pushed after the writer's side
    /// is gone (the channel keeps messages for as long as any receiver
    /// lives, and would keep a caller's waiter unanswered).
    orphans: channel::Receiver<Msg>,
}

impl QueueShared {
    fn writer_gone(&self) -> bool {
        self.writer_gone.load(Ordering::SeqCst)
    }

    /// Drops whatever the channel holds once the writer is gone: each
    /// waiter among them learns, by its sender's drop, that its message
    /// will not be handled.
    fn drop_orphans(&self) {
        let mut dropped = 0;
        while let Ok(msg) = self.orphans.try_recv() {
            drop(msg);
            dropped += 1;
        }
        if dropped > 0 {
            self.gate.discarded(dropped);
        }
    }
}

/// Lets callers wait for the writer to free slots.
#[derive(Debug, Default)]
struct Room {
    /// Blocking callers waiting on `freed`.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
    /// Async callers waiting for room; notified after every batch taken.
    notify: Notify,
}

impl Room {
    /// Wakes the callers waiting for room: every async one, and the
    /// blocking ones if there are any (under the lock they try again under).
    fn signal(&self) {
        self.notify.notify_waiters();
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = lock_unpoisoned(&self.lock);
            self.freed.notify_all();
        }
    }
}

/// The longest a caller waits for room before it tries again on its own: a
/// safety net only, the writer signals every freed batch.
const ROOM_RECHECK: Duration = Duration::from_millis(5);

/// Why a push did not happen; the message comes back.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The queue is full right now.
    Full(Msg),
    /// The queue is closed (stopped or shut down), or the writer is gone.
    Closed(Msg),
}

/// What the writer found when it took messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// This many messages were added to the batch (maybe 0: none came in time).
    Some(usize),
    /// Every caller's side is gone and the queue is empty: nothing will come.
    Ended,
}

/// A bounded queue of `capacity` messages (at least 1); its slots are
/// allocated now.
pub(crate) fn queue(capacity: usize) -> (Queue, Inbox) {
    let (tx, rx) = channel::bounded(capacity.max(1));
    let shared = Arc::new(QueueShared {
        gate: Gate::default(),
        room: Room::default(),
        wake: Arc::default(),
        capacity,
        writer_gone: AtomicBool::new(false),
        orphans: rx.clone(),
    });
    (
        Queue {
            tx,
            shared: Arc::clone(&shared),
        },
        Inbox { rx, shared },
    )
}

impl Queue {
    /// Passes the gate: counted in flight, unless the queue is closed and the
    /// message is not a control message that must get through anyway.
    fn enter(&self, even_if_closed: bool) -> Option<Pass<'_>> {
        let pass = self.shared.gate.enter(even_if_closed)?;
        // Counted in flight first: a writer going away after this check
        // drops what we push (see `send`).
        (!self.shared.writer_gone()).then_some(pass)
    }

    /// One attempt at sending `msg`, counted in flight by `pass`:
    /// `Ok(outcome)` once the push is decided (the message is in the queue,
    /// or the writer is gone), `Err` with both back when the ring is full.
    /// A message that lands after the writer went away is dropped (a waiter
    /// learns of it by its sender's drop), never left in the channel
    /// unanswered.
    fn send<'q>(
        &'q self,
        pass: Pass<'q>,
        msg: Msg,
    ) -> Result<Result<(), Refused>, (Pass<'q>, Msg)> {
        match self.tx.try_send(msg) {
            Ok(()) => {
                pass.pushed();
                if self.shared.gate.depth() >= busy_at(self.shared.capacity) {
                    self.shared.wake.nudge_if_resting();
                }
                if self.shared.writer_gone() {
                    self.shared.drop_orphans();
                }
                Ok(Ok(()))
            }
            Err(TrySendError::Full(msg)) => Err((pass, msg)),
            Err(TrySendError::Disconnected(msg)) => Ok(Err(Refused::Closed(msg))),
        }
    }

    /// Whether a push that found the ring full should give up rather than
    /// wait: the writer is gone, or the queue closed to records.
    fn gives_up(&self, even_if_closed: bool) -> bool {
        (!even_if_closed && self.shared.gate.is_closed()) || self.shared.writer_gone()
    }

    /// Pushes `msg` if there is room right now; never waits.
    pub(crate) fn try_push(&self, msg: Msg) -> Result<(), Refused> {
        let Some(pass) = self.enter(false) else {
            return Err(Refused::Closed(msg));
        };
        self.send(pass, msg)
            .unwrap_or_else(|(_, msg)| Err(Refused::Full(msg)))
    }

    /// Pushes `msg`, waiting (blocking the thread) for room until `deadline`
    /// (`None`: as long as it takes). Control messages (`even_if_closed`) get
    /// through a closed queue.
    pub(crate) fn push_waiting(
        &self,
        msg: Msg,
        even_if_closed: bool,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        let Some(pass) = self.enter(even_if_closed) else {
            return Err(Refused::Closed(msg));
        };
        let (mut pass, mut msg) = match self.send(pass, msg) {
            Ok(outcome) => return outcome,
            Err(full) => full,
        };
        let room = &self.shared.room;
        room.waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            let guard = lock_unpoisoned(&room.lock);
            // Tried again under the lock the writer signals under: a batch
            // freed between the last try and the wait is not missed.
            (pass, msg) = match self.send(pass, msg) {
                Ok(outcome) => break outcome,
                Err(full) => full,
            };
            if self.gives_up(even_if_closed) {
                break Err(Refused::Closed(msg));
            }
            let wait = match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break Err(Refused::Full(msg));
                    }
                    ROOM_RECHECK.min(deadline - now)
                }
                None => ROOM_RECHECK,
            };
            let _ = room.freed.wait_timeout(guard, wait);
        };
        room.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Pushes `msg`, awaiting room; control messages (`even_if_closed`) get
    /// through a closed queue.
    ///
    /// Cancel safety: dropping the future before the message was pushed
    /// pushes nothing and leaves the gate's count as it was.
    pub(crate) async fn push(&self, msg: Msg, even_if_closed: bool) -> Result<(), Refused> {
        let Some(pass) = self.enter(even_if_closed) else {
            return Err(Refused::Closed(msg));
        };
        let (mut pass, mut msg) = match self.send(pass, msg) {
            Ok(outcome) => return outcome,
            Err(full) => full,
        };
        loop {
            // Registered before trying again, so that a batch the writer
            // takes between the try and the wait still wakes us.
            let freed = self.shared.room.notify.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            if self.shared.writer_gone() {
                return Err(Refused::Closed(msg));
            }
            (pass, msg) = match self.send(pass, msg) {
                Ok(outcome) => return outcome,
                Err(full) => full,
            };
            if self.gives_up(even_if_closed) {
                return Err(Refused::Closed(msg));
            }
            freed.await;
        }
    }

    /// Refuses records from now on; control messages still get through.
    pub(crate) fn close(&self) {
        self.shared.gate.close();
    }

    /// Accepts records again.
    pub(crate) fn reopen(&self) {
        self.shared.gate.reopen();
    }

    /// Whether records are refused.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.gate.is_closed() || self.shared.writer_gone()
    }

    /// Passes the gate for a caller about to write its record itself
    /// ([`crate::writer::Core::write_alone`]): counted in flight while it
    /// writes, so that a stop waits for it. `None` when the queue is closed.
    pub(crate) fn enter_alone(&self) -> Option<Pass<'_>> {
        self.enter(false)
    }

    /// Whether everything queued before the caller's `pass` was written
    /// (see [`Gate::writer_idle`]); ask while holding the file's mutex.
    pub(crate) fn writer_idle(&self, pass: &Pass<'_>) -> bool {
        self.shared.gate.writer_idle(pass)
    }

    /// Ends the writer's rest: call after pushing a message whose sender
    /// waits for it to be written.
    pub(crate) fn nudge(&self) {
        self.shared.wake.nudge();
    }

    /// Messages waiting or being pushed.
    pub(crate) fn depth(&self) -> u64 {
        self.shared.gate.depth()
    }

    /// The most messages the queue holds.
    pub(crate) fn capacity(&self) -> u64 {
        self.shared.capacity as u64
    }
}

impl Inbox {
    /// How the writer rests between batches; callers nudge it.
    pub(crate) fn wake(&self) -> Arc<WriterWake> {
        Arc::clone(&self.shared.wake)
    }

    /// Moves what is queued now into `msgs` (up to `max` in all), without
    /// waiting.
    pub(crate) fn take_now(&mut self, msgs: &mut Vec<Msg>, max: usize) -> Taken {
        self.take_more(msgs, max, None)
    }

    /// As [`take_now`](Self::take_now), but waits for the first message
    /// until `deadline` (`None`: until one comes or every caller is gone).
    pub(crate) fn take_until(
        &mut self,
        msgs: &mut Vec<Msg>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Taken {
        if msgs.len() >= max {
            return Taken::Some(0);
        }
        let first = match deadline {
            None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => self.rx.recv_deadline(deadline),
        };
        match first {
            Ok(msg) => self.take_more(msgs, max, Some(msg)),
            Err(RecvTimeoutError::Timeout) => Taken::Some(0),
            Err(RecvTimeoutError::Disconnected) => Taken::Ended,
        }
    }

    /// Adds `first` (if any) and whatever else is queued now to `msgs`, up
    /// to `max` in all, and frees their slots for the callers.
    fn take_more(&mut self, msgs: &mut Vec<Msg>, max: usize, first: Option<Msg>) -> Taken {
        let before = msgs.len();
        msgs.extend(first);
        let mut ended = false;
        while msgs.len() < max {
            match self.rx.try_recv() {
                Ok(msg) => msgs.push(msg),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = true;
                    break;
                }
            }
        }
        let n = msgs.len() - before;
        if n == 0 {
            return if ended { Taken::Ended } else { Taken::Some(0) };
        }
        self.taken(n);
        Taken::Some(n)
    }

    fn taken(&self, n: usize) {
        let shared = &*self.shared;
        shared.gate.taken(n as u64);
        shared.room.signal();
    }

    /// The writer is done with `n` messages it took: written, answered, or
    /// (`backlog`) kept as lines for another attempt, which it says until
    /// they are written.
    pub(crate) fn done(&self, n: usize, backlog: bool) {
        self.shared.gate.done(n as u64, backlog);
    }

    /// Whether the queue is closed to records.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.gate.is_closed()
    }

    /// Whether every message pushed so far was taken and no push is under
    /// way. Together with [`is_closed`](Self::is_closed): nothing more will
    /// come until the queue is reopened.
    pub(crate) fn settled(&self) -> bool {
        self.shared.gate.settled()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.shared.writer_gone.store(true, Ordering::SeqCst);
        // What was pushed before the store is dropped here, what comes
        // after by its pusher (`Queue::send`).
        self.shared.drop_orphans();
        // Callers waiting for room learn that none will come.
        self.shared.room.signal();
    }
}

#[cfg(test)]
mod tests;
