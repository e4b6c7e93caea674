//! The syslog sink: what the writer hands formatted messages to.
//!
//! # Threads
//!
//! A [`SyslogSink`] owns one named std thread, `clh-syslog`, running a
//! private tokio current-thread runtime with one task: connect, send,
//! read acknowledgements, reconnect. The callers never touch a socket:
//! [`submit`](SyslogSink::submit) puts messages into a bounded buffer (a
//! mutex-guarded queue) and wakes the task; `flush` and `shutdown` wait on
//! std primitives with a deadline.
//!
//! Why a private runtime rather than the user's: the same sink serves the
//! tokio handler and the std-thread handler (which has no runtime at all);
//! records still buffered when the application's runtime shuts down must
//! not die with its tasks; and a collector that stalls can delay only this
//! thread, never a worker of the application's runtime. Why async at all,
//! rather than blocking sockets: one task waits at once for room in the
//! RELP window, for acknowledgements, for new records, for the peer to close
//! and for timeouts, which a blocking socket can only do with a thread per
//! direction.
//!
//! # Delivery
//!
//! Connection is lazy (at the first record) and kept; after a failure the
//! task retries with exponential backoff (100 ms doubling up to
//! `max_backoff`, each wait drawn at random from its upper half so that a
//! fleet does not reconnect in step). Meanwhile records wait in the buffer;
//! beyond its capacity `submit` hands them back to the caller.
//!
//! - RELP: up to `relp_window` frames are in flight; each record's confirm
//!   resolves with its `rsp` (`200` is `Ok`, any other status a typed
//!   [`ErrorKind::Rejected`](crate::ErrorKind::Rejected)). When a connection breaks, every frame not yet
//!   acknowledged is sent again after reconnecting, in order, and counted in
//!   [`SinkStats::resent`]. Duplicates arise exactly there: a frame the
//!   collector had processed whose `rsp` was lost with the connection.
//! - TCP and TLS: a record's confirm resolves once its bytes were written
//!   and flushed to the socket. After a break, the records whose bytes the
//!   collector's kernel had not acknowledged (`TCP_INFO`) are sent again;
//!   see the module documentation of `net` for what is still lost.
//! - Datagrams: the confirm resolves once the datagram was sent.
//!
//! A record that was on eight connections which all broke before it was
//! acknowledged is given up (counted in `failed`): so a record that makes
//! the collector drop the connection cannot stall the sink forever.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::SyslogConfig;
use super::transport::{self, Conn, Target};
use crate::confirm::Confirm;
use crate::error::{Error, ErrorKind, Result};
use crate::report::ErrorReporter;
use crate::stats::SinkStats;
use crate::sync::lock_unpoisoned;

mod relp;
mod stream;

/// One message for the collector.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// One RFC 5424 message, unframed. A final `\n` (which the handlers add
    /// to every line) is dropped: the framing delimits the message.
    pub(crate) message: Vec<u8>,
    /// Told how delivery went: after the `rsp` (RELP), after the write and
    /// flush (TCP, TLS), after the send (datagrams).
    pub(crate) confirm: Option<Confirm>,
}

/// What [`SyslogSink::submit`] did with a batch.
#[derive(Debug, Default)]
pub(crate) struct Submitted {
    /// Records taken into the buffer.
    pub(crate) accepted: usize,
    /// Records that did not fit (or came after shutdown), in order, with
    /// their confirms untouched: the caller's fallback decides.
    pub(crate) rejected: Vec<Outgoing>,
}

/// A record on its way.
#[derive(Debug)]
struct Pending {
    /// 1, 2, … in submission order; records settle in this order.
    seq: u64,
    message: Vec<u8>,
    confirm: Option<Confirm>,
    /// Its outcome was told (a TCP record kept for a resend is settled).
    settled: bool,
    /// Connections it was sent on that broke before it was acknowledged.
    broken: u32,
}

/// A record given up after this many broken connections.
const MAX_BROKEN_CONNECTIONS: u32 = 8;
/// Most records written with one `write` on a stream.
const STREAM_BATCH: usize = 1_024;
/// Most datagrams sent per round (then the buffer is looked at again).
const DATAGRAM_BATCH: usize = 64;
/// TCP records kept until the collector's kernel acknowledged their bytes,
/// at most; beyond this the sink waits for acknowledgements before writing.
const MAX_RETAINED: usize = 100_000;
/// The first wait before reconnecting.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How long a sink dropped without `shutdown` goes on delivering.
const DROP_GRACE: Duration = Duration::from_secs(2);
/// How long `shutdown` waits for the thread beyond its deadline (the thread
/// fails what is left at the deadline, then ends).
const STOP_GRACE: Duration = Duration::from_millis(500);
/// The RELP `open` offers (librelp speaks `relp_version=0`).
const RELP_OFFERS: &[u8] = concat!(
    "relp_version=0\nrelp_software=concurrent-log-handler,",
    env!("CARGO_PKG_VERSION"),
    "\ncommands=syslog"
)
.as_bytes();
/// The largest UDP payload over IPv4.
const MAX_UDP: usize = 65_507;

/// A flush waiting for the records submitted before it.
#[derive(Debug)]
struct FlushWaiter {
    /// Resolved once every record up to this sequence number settled.
    target: u64,
    /// `State::failed` when the flush began: more failures by then are its error.
    failed_before: u64,
    reply: std::sync::mpsc::SyncSender<Result<()>>,
}

/// What the callers and the task share under one mutex.
#[derive(Debug)]
struct State {
    queue: VecDeque<Pending>,
    capacity: usize,
    /// Records submitted so far (the last sequence number given out).
    submitted: u64,
    /// Every record up to this sequence number has settled.
    settled: u64,
    /// Records settled with an error (refused, given up, dropped).
    failed: u64,
    last_error: Option<Error>,
    flushes: VecDeque<FlushWaiter>,
    /// Submitters blocked in `submit(wait = true)`.
    waiting_submitters: usize,
    /// Shutdown was asked for; deliver until this deadline.
    closing: Option<Instant>,
    /// The task ended.
    stopped: bool,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    acknowledged: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
    connect_errors: AtomicU64,
    resent: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    // Independent tallies: no ordering with anything else is needed.
    counter.fetch_add(n, Ordering::Relaxed);
}

#[derive(Debug)]
struct Shared {
    /// The collector's URL, for errors.
    address: String,
    state: Mutex<State>,
    /// Signalled when the task took records out of a full buffer.
    room: Condvar,
    /// Signalled when the task ended.
    stopped: Condvar,
    /// Wakes the task: records, flushes.
    wake: Notify,
    /// Wakes the task out of a backoff sleep: shutdown.
    closing: Notify,
    counters: Counters,
    errors: ErrorReporter,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_unpoisoned(&self.state)
    }

    fn closing(&self) -> Option<Instant> {
        self.lock().closing
    }

    fn send_error(&self, source: io::Error) -> Error {
        Error::net(ErrorKind::Send, self.address.clone(), source)
    }
}

/// Forwards messages to one syslog collector from a thread of its own (see
/// the module documentation).
#[derive(Debug)]
pub(crate) struct SyslogSink {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SyslogSink {
    /// Checks `config`, loads its TLS files, and starts the `clh-syslog`
    /// thread. Does not connect: the first record does.
    pub(crate) fn start(config: &SyslogConfig) -> Result<SyslogSink> {
        config.validate()?;
        let target = target_of(config)?;
        let shared = Arc::new(Shared {
            address: config.url().to_owned(),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity: config.buffer_capacity,
                submitted: 0,
                settled: 0,
                failed: 0,
                last_error: None,
                flushes: VecDeque::new(),
                waiting_submitters: 0,
                closing: None,
                stopped: false,
            }),
            room: Condvar::new(),
            stopped: Condvar::new(),
            wake: Notify::new(),
            closing: Notify::new(),
            counters: Counters::default(),
            errors: ErrorReporter::default(),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("clh-syslog")
            .build()
            .map_err(Error::spawn)?;
        let task = Task {
            shared: Arc::clone(&shared),
            target,
            window: config.relp_window,
            connect_timeout: config.connect_timeout,
            ack_timeout: config.ack_timeout,
            max_backoff: config.max_backoff.max(FIRST_BACKOFF),
            resend: VecDeque::new(),
        };
        let thread = std::thread::Builder::new()
            .name("clh-syslog".into())
            .spawn(move || {
                let shared = Arc::clone(&task.shared);
                let _stopped = MarkStopped(shared);
                runtime.block_on(task.run());
            })
            .map_err(Error::spawn)?;
        Ok(SyslogSink {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Puts `batch` into the buffer, in order. With `wait == false` it never
    /// blocks: what does not fit comes back in [`Submitted::rejected`]. With
    /// `wait == true` it blocks until there is room for all of it (Block
    /// mode), or until the sink shuts down or its thread ended, whichever
    /// comes first. After shutdown everything is rejected.
    pub(crate) fn submit(&self, batch: Vec<Outgoing>, wait: bool) -> Submitted {
        let mut records = batch.into_iter().peekable();
        let mut accepted = 0;
        let mut state = self.shared.lock();
        loop {
            if state.closing.is_some() || state.stopped {
                break;
            }
            while state.queue.len() < state.capacity {
                let Some(Outgoing {
                    mut message,
                    confirm,
                }) = records.next()
                else {
                    break;
                };
                if message.last() == Some(&b'\n') {
                    message.pop();
                }
                state.submitted += 1;
                let seq = state.submitted;
                state.queue.push_back(Pending {
                    seq,
                    message,
                    confirm,
                    settled: false,
                    broken: 0,
                });
                accepted += 1;
            }
            if !wait || records.peek().is_none() {
                break;
            }
            // Full: let the task drain, then look again. The timed wait only
            // re-checks `closing`/`stopped`, which are signalled anyway.
            self.shared.wake.notify_one();
            state.waiting_submitters += 1;
            state = self
                .shared
                .room
                .wait_timeout(state, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            state.waiting_submitters -= 1;
        }
        drop(state);
        if accepted > 0 {
            self.shared.wake.notify_one();
        }
        Submitted {
            accepted,
            rejected: records.collect(),
        }
    }

    /// Waits until every record submitted before the call has settled: RELP
    /// acknowledged, TCP/TLS written and flushed, datagram sent, or failed.
    ///
    /// # Errors
    ///
    /// The last error among those records if any failed;
    /// [`ErrorKind::DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout) if they had not all settled by `deadline`
    /// (they go on); [`ErrorKind::Closed`](crate::ErrorKind::Closed) if the sink's thread ended first.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<()> {
        let reply = {
            let mut state = self.shared.lock();
            if state.settled >= state.submitted {
                return Ok(());
            }
            if state.stopped {
                return Err(Error::closed());
            }
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let waiter = FlushWaiter {
                target: state.submitted,
                failed_before: state.failed,
                reply: tx,
            };
            state.flushes.push_back(waiter);
            rx
        };
        self.shared.wake.notify_one();
        let timeout = deadline.saturating_duration_since(Instant::now());
        match reply.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(self.timeout_error()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::closed()),
        }
    }

    /// Delivers what was submitted (until `deadline`), closes the connection
    /// (RELP: the `close` handshake) and stops the thread. Records still
    /// undelivered at the deadline are given up: their confirms get
    /// [`ErrorKind::DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout) and they are counted in `dropped`. Later
    /// submissions are rejected. Calling it again waits again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout) if records were given up, the last error of
    /// a record that failed, or [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) if the thread did not
    /// end by shortly after the deadline.
    pub(crate) fn shutdown(&self, deadline: Instant) -> Result<()> {
        let started = Instant::now();
        let (target, failed_before) = {
            let mut state = self.shared.lock();
            state.closing = Some(state.closing.map_or(deadline, |d| d.min(deadline)));
            (state.submitted, state.failed)
        };
        self.shared.wake.notify_one();
        self.shared.closing.notify_one();
        self.shared.room.notify_all();
        let give_up = deadline + STOP_GRACE;
        let mut state = self.shared.lock();
        while !state.stopped {
            let Some(left) = give_up.checked_duration_since(Instant::now()) else {
                break;
            };
            state = self
                .shared
                .stopped
                .wait_timeout(state, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        let outcome = if !state.stopped {
            Err(Error::timeout(give_up.saturating_duration_since(started)))
        } else if state.settled < target || state.failed > failed_before {
            Err(state
                .last_error
                .clone()
                .unwrap_or_else(|| self.timeout_error()))
        } else {
            Ok(())
        };
        let stopped = state.stopped;
        drop(state);
        if stopped && let Some(thread) = lock_unpoisoned(&self.thread).take() {
            // It has ended (it said so as its last act): this returns at once.
            let _ = thread.join();
        }
        outcome
    }

    /// The counters, and the buffer's depth now.
    pub(crate) fn stats(&self) -> SinkStats {
        let (buffered, pending) = {
            let state = self.shared.lock();
            (state.queue.len() as u64, state.submitted - state.settled)
        };
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkStats {
            sent: get(&c.sent),
            acknowledged: get(&c.acknowledged),
            dropped: get(&c.dropped),
            failed: get(&c.failed),
            reconnects: get(&c.reconnects),
            connect_errors: get(&c.connect_errors),
            resent: get(&c.resent),
            buffered,
            in_flight: pending.saturating_sub(buffered),
        }
    }

    fn timeout_error(&self) -> Error {
        let state = self.shared.lock();
        Error::delivery_timeout(self.shared.address.clone(), state.submitted - state.settled)
    }
}

impl Drop for SyslogSink {
    /// Without a `shutdown`, the thread goes on delivering for
    /// [`DROP_GRACE`] and then ends; dropping never blocks.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.closing.is_none() {
            state.closing = Some(Instant::now() + DROP_GRACE);
        }
        drop(state);
        self.shared.wake.notify_one();
        self.shared.closing.notify_one();
        self.shared.room.notify_all();
    }
}

/// Marks the sink stopped when its thread ends, however it ends.
struct MarkStopped(Arc<Shared>);

impl Drop for MarkStopped {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.stopped = true;
        // Nothing will settle these any more.
        for flush in state.flushes.drain(..) {
            let _ = flush.reply.try_send(Err(Error::closed()));
        }
        drop(state);
        self.0.stopped.notify_all();
        self.0.room.notify_all();
    }
}

fn target_of(config: &SyslogConfig) -> Result<Target> {
    #[cfg(feature = "tls")]
    let tls = match (&config.endpoint, config.transport.is_tls()) {
        (super::Endpoint::Inet { host, .. }, true) => Some(super::tls::client(&config.tls, host)?),
        _ => None,
    };
    Ok(Target {
        transport: config.transport,
        endpoint: config.endpoint.clone(),
        #[cfg(feature = "tls")]
        tls,
    })
}

/// How a connection ended.
#[derive(Debug)]
enum SessionEnd {
    /// Shutdown asked and nothing is left: the sink is done.
    Drained,
    /// The shutdown deadline passed.
    Deadline,
    /// The connection broke (or timed out); records to resend are in `resend`.
    Broken(Error),
    /// The connection was made but the RELP `open` failed.
    OpenFailed(Error),
}

/// Exponential backoff with jitter.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// The next wait: drawn from the upper half of the current step, so
    /// that many clients losing one collector do not come back in step.
    fn next_wait(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(self.max);
        let half = step / 2;
        half + Duration::from_nanos(fastrand::u64(0..=half.as_nanos() as u64))
    }

    fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }
}

/// The sink's one task, on its private runtime.
struct Task {
    shared: Arc<Shared>,
    target: Target,
    window: usize,
    connect_timeout: Duration,
    ack_timeout: Duration,
    max_backoff: Duration,
    /// Records taken from the buffer to be sent again on the next
    /// connection, oldest first; they go before anything in the buffer.
    resend: VecDeque<Pending>,
}

impl Task {
    async fn run(mut self) {
        let mut backoff = Backoff {
            next: FIRST_BACKOFF,
            max: self.max_backoff,
        };
        let mut connected_before = false;
        loop {
            let closing = self.shared.closing();
            if closing.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if self.resend.is_empty() && self.shared.lock().queue.is_empty() {
                if closing.is_some() {
                    break;
                }
                tokio::select! {
                    _ = self.shared.wake.notified() => {}
                    _ = self.shared.closing.notified() => {}
                }
                continue;
            }
            let budget = self.budget(self.connect_timeout, closing);
            // A shutdown cuts a slow attempt (a SYN nobody answers) short:
            // the loop then tries again within what is left of its deadline.
            let attempt = tokio::select! {
                attempt = transport::connect(&self.target, budget) => attempt,
                _ = self.shared.closing.notified() => continue,
            };
            let conn = match attempt {
                Ok(conn) => conn,
                Err(e) => {
                    self.connect_failed(Error::net(
                        ErrorKind::Connect,
                        self.shared.address.clone(),
                        e,
                    ));
                    self.pause(backoff.next_wait(), closing).await;
                    continue;
                }
            };
            let settled_before = self.shared.lock().settled;
            let end = match conn {
                Conn::Stream(mut io) if self.target.transport.is_relp() => {
                    self.relp_session(&mut io, &mut connected_before).await
                }
                Conn::Stream(mut io) => {
                    self.count_connection(&mut connected_before);
                    self.stream_session(&mut io).await
                }
                Conn::Datagram(socket) => {
                    self.count_connection(&mut connected_before);
                    self.datagram_session(&socket).await
                }
            };
            if self.shared.lock().settled > settled_before {
                backoff.reset();
            }
            match end {
                SessionEnd::Drained | SessionEnd::Deadline => break,
                SessionEnd::Broken(error) => {
                    self.shared.errors.report(&error);
                    self.give_up_on_repeatedly_broken();
                    self.pause(backoff.next_wait(), self.shared.closing()).await;
                }
                SessionEnd::OpenFailed(error) => {
                    self.connect_failed(error);
                    self.pause(backoff.next_wait(), self.shared.closing()).await;
                }
            }
        }
        self.drop_everything_left();
    }

    fn count_connection(&self, connected_before: &mut bool) {
        if std::mem::replace(connected_before, true) {
            bump(&self.shared.counters.reconnects, 1);
        }
    }

    fn connect_failed(&self, error: Error) {
        bump(&self.shared.counters.connect_errors, 1);
        self.shared.errors.report(&error);
    }

    /// `limit`, cut short by the shutdown deadline.
    fn budget(&self, limit: Duration, closing: Option<Instant>) -> Duration {
        match closing {
            Some(deadline) => limit.min(deadline.saturating_duration_since(Instant::now())),
            None => limit,
        }
    }

    /// Sleeps before reconnecting; a shutdown cuts the sleep short.
    async fn pause(&self, wait: Duration, closing: Option<Instant>) {
        let wait = self.budget(wait, closing);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.shared.closing.notified() => {}
        }
    }

    /// Takes records to send into `out`, up to `max` in all: those to
    /// resend first, then the buffer's. Returns the shutdown deadline, if any.
    fn take(&mut self, max: usize, out: &mut Vec<Pending>) -> Option<Instant> {
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
    fn settle(&self, records: &mut [Pending], last_failed: Option<Error>) {
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

    fn fail(&self, mut record: Pending, error: Error) {
        bump(&self.shared.counters.failed, 1);
        self.settle(std::slice::from_mut(&mut record), Some(error));
    }

    /// Counts a completed transmission of `records`.
    fn count_sent(&self, records: &[Pending]) {
        let resent = records.iter().filter(|p| p.broken > 0).count();
        bump(&self.shared.counters.sent, records.len() as u64);
        bump(&self.shared.counters.resent, resent as u64);
    }

    /// Puts `records` (oldest first) before everything waiting to be resent,
    /// each marked as having been on a broken connection.
    fn resend_first(&mut self, records: impl DoubleEndedIterator<Item = Pending>) {
        for mut p in records.rev() {
            p.broken += 1;
            self.resend.push_front(p);
        }
    }

    /// Puts records that were never sent (oldest first) back before
    /// everything waiting to be resent.
    fn put_back(&mut self, records: Vec<Pending>) {
        for p in records.into_iter().rev() {
            self.resend.push_front(p);
        }
    }

    /// Gives up the records that were on too many broken connections.
    fn give_up_on_repeatedly_broken(&mut self) {
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
    fn drop_everything_left(&mut self) {
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
