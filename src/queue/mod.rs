//! How records reach the writer: the one bounded queue both queued front-ends
//! share, with the gate that closes it and the wait for room.
//!
//! ```text
//! callers ──push──▶ Queue ──(tokio mpsc, bounded)──▶ Inbox ──▶ writer thread
//!    ▲  gate: in_flight + closed                        │
//!    └────────────── room: "slots were freed" ◀─────────┘
//! ```
//!
//! - **The gate** ([`gate`]): every push counts itself before it looks
//!   whether the queue is closed, and the writer uncounts what it takes, so
//!   a writer that waits, after a stop, until nothing is counted has every
//!   accepted record, and none is stranded in the channel.
//! - **Waiting for room** (`FallbackMode::Block`, `sync_level` records): the
//!   caller waits until the writer freed slots, then pushes. The record goes
//!   through the queue like every other, so each producer's records keep the
//!   order it emitted them in. The wait is a condition variable the writer
//!   signals after taking a batch, only when someone waits; tokio's own
//!   `blocking_send` queues waiters fairly, which under overload turns every
//!   freed slot into a thread wake-up.
//! - The channel is tokio's bounded mpsc for both front-ends: `send().await`
//!   for async callers, `try_send` for everyone, and a receiver the writer
//!   thread drives without a runtime (see [`crate::sync::block_on_until`]).
//!
//! This module knows nothing of formats or files: it moves [`Msg`]s (records,
//! as bytes or still as records, and control messages that never share a slot
//! with them).

mod gate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::rest::WriterWake;
use crate::sync::{block_on_until, lock_unpoisoned};
use tokio::sync::oneshot;

use crate::error::Result;
use crate::record::Record;
use gate::{Gate, Pass};

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

/// One queue slot. Control messages never share a slot with records.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A record, fire-and-forget.
    Record(Pending),
    /// A record whose caller waits for the outcome of its batch.
    Confirmed(Pending, Waiter),
    /// Resolve once everything queued before it is written.
    Flush(Waiter),
    /// Rotate the log once everything queued before it is written.
    Rotate(Waiter),
    /// Write everything accepted, let compressions finish, resolve; the
    /// writer goes on (the thread handler can be started again).
    Stop(Waiter),
    /// As `Stop`, then the writer ends for good.
    Shutdown(Waiter),
}

impl Msg {
    /// Whether a caller waits for this message: the writer does not hold
    /// it back for a retry's backoff.
    pub(crate) fn is_control(&self) -> bool {
        matches!(self, Msg::Flush(_) | Msg::Stop(_) | Msg::Shutdown(_))
    }
}

/// The most records a queue may hold: beyond it a queue is no bound on memory.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;

/// The callers' side of the queue. Cheap to share behind the handler's `Arc`.
#[derive(Debug)]
pub(crate) struct Queue {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

/// The writer's side of the queue.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    gate: Gate,
    room: Room,
    wake: Arc<WriterWake>,
    capacity: usize,
}

/// Lets callers wait for the writer to free slots.
#[derive(Debug, Default)]
struct Room {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
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

/// A bounded queue of `capacity` messages (at least 1).
pub(crate) fn queue(capacity: usize) -> (Queue, Inbox) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let shared = Arc::new(Shared {
        gate: Gate::default(),
        room: Room::default(),
        wake: Arc::default(),
        capacity,
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
        self.shared.gate.enter(even_if_closed)
    }

    /// Pushes `msg` if there is room right now; never waits.
    pub(crate) fn try_push(&self, msg: Msg) -> Result<(), Refused> {
        let Some(pass) = self.enter(false) else {
            return Err(Refused::Closed(msg));
        };
        match self.tx.try_send(msg) {
            Ok(()) => {
                pass.pushed();
                Ok(())
            }
            Err(TrySendError::Full(msg)) => Err(Refused::Full(msg)),
            Err(TrySendError::Closed(msg)) => Err(Refused::Closed(msg)),
        }
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
        let room = &self.shared.room;
        let mut msg = match self.tx.try_send(msg) {
            Ok(()) => {
                pass.pushed();
                return Ok(());
            }
            Err(TrySendError::Full(msg)) => msg,
            Err(TrySendError::Closed(msg)) => return Err(Refused::Closed(msg)),
        };
        room.waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            let guard = lock_unpoisoned(&room.lock);
            // Tried again under the lock the writer signals under: a batch
            // freed between the last try and the wait is not missed.
            match self.tx.try_send(msg) {
                Ok(()) => break Ok(()),
                Err(TrySendError::Closed(back)) => break Err(Refused::Closed(back)),
                Err(TrySendError::Full(back)) => msg = back,
            }
            if !even_if_closed && self.shared.gate.is_closed() {
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
        if result.is_ok() {
            pass.pushed();
        }
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
        match self.tx.send(msg).await {
            Ok(()) => {
                pass.pushed();
                Ok(())
            }
            Err(mpsc::error::SendError(msg)) => Err(Refused::Closed(msg)),
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
        self.shared.gate.is_closed() || self.tx.is_closed()
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
        let room = max.saturating_sub(msgs.len());
        if room == 0 {
            return Taken::Some(0);
        }
        // One poll of `recv_many`, which frees the queue's slots in one step
        // (`try_recv` takes the semaphore once per message).
        match self.rx.recv_many(msgs, room).now_or_never() {
            None => Taken::Some(0),
            Some(0) => Taken::Ended,
            Some(n) => {
                self.taken(n);
                Taken::Some(n)
            }
        }
    }

    /// As [`take_now`](Self::take_now), but waits for the first message
    /// until `deadline` (`None`: until one comes or every caller is gone).
    pub(crate) fn take_until(
        &mut self,
        msgs: &mut Vec<Msg>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Taken {
        let room = max.saturating_sub(msgs.len());
        if room == 0 {
            return Taken::Some(0);
        }
        match block_on_until(self.rx.recv_many(msgs, room), deadline) {
            None => Taken::Some(0),
            Some(0) => Taken::Ended,
            Some(n) => {
                self.taken(n);
                Taken::Some(n)
            }
        }
    }

    fn taken(&self, n: usize) {
        let shared = &*self.shared;
        shared.gate.taken(n as u64);
        if shared.room.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = lock_unpoisoned(&shared.room.lock);
            shared.room.freed.notify_all();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Msg {
        Msg::Record(Pending::Line(Line::file(b"x\n".to_vec())))
    }

    #[test]
    fn a_closed_queue_refuses_records_but_not_control_messages() {
        let (queue, mut inbox) = queue(4);
        queue.close();
        assert!(matches!(queue.try_push(line()), Err(Refused::Closed(_))));
        let (waiter, _outcome) = tokio::sync::oneshot::channel();
        queue
            .push_waiting(Msg::Flush(waiter), true, None)
            .expect("control messages pass");
        let mut msgs = Vec::new();
        assert_eq!(inbox.take_now(&mut msgs, 8), Taken::Some(1));
        assert!(inbox.settled());
    }

    #[test]
    fn a_full_queue_makes_a_waiting_push_wait_for_the_writer() {
        let (queue, mut inbox) = queue(2);
        queue.try_push(line()).expect("room");
        queue.try_push(line()).expect("room");
        assert!(matches!(queue.try_push(line()), Err(Refused::Full(_))));
        let queue = Arc::new(queue);
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push_waiting(line(), false, None).is_ok())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!inbox.settled(), "the waiting push is counted in flight");
        let mut msgs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while msgs.len() < 3 {
            assert!(
                Instant::now() < deadline,
                "the waiting push never got through"
            );
            inbox.take_until(
                &mut msgs,
                8,
                Some(Instant::now() + Duration::from_millis(50)),
            );
        }
        assert!(pusher.join().expect("pusher"));
        assert!(inbox.settled());
    }

    #[test]
    fn a_waiting_push_gives_up_at_its_deadline() {
        let (queue, _inbox) = queue(1);
        queue.try_push(line()).expect("room");
        let deadline = Instant::now() + Duration::from_millis(30);
        assert!(matches!(
            queue.push_waiting(line(), false, Some(deadline)),
            Err(Refused::Full(_))
        ));
        assert_eq!(queue.depth(), 1, "the refused push is not counted");
    }

    #[test]
    fn take_until_returns_ended_once_every_sender_is_gone() {
        let (queue, mut inbox) = queue(4);
        queue.try_push(line()).expect("room");
        drop(queue);
        let mut msgs = Vec::new();
        assert_eq!(inbox.take_until(&mut msgs, 8, None), Taken::Some(1));
        assert_eq!(inbox.take_until(&mut msgs, 8, None), Taken::Ended);
    }
}
