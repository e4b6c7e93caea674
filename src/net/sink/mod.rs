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
//!
//! # Modules
//!
//! [`SyslogSink`], here, is what the callers hold. `shared` is what they
//! share with the task (the buffer, the waiting flushes, the counters);
//! `task` is the task's connection loop and `records` what it does with
//! records (take, settle, resend, give up); `stream` and `relp` are its
//! sessions on one connection.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::SyslogConfig;
use super::transport::Target;
use crate::confirm::Confirm;
use crate::error::{Error, Result};
use crate::report::ErrorReporter;
use crate::stats::SinkStats;
use crate::sync::lock_unpoisoned;
use shared::{Counters, FlushWaiter, MarkStopped, Pending, Shared, State, bump};
use task::{FIRST_BACKOFF, SessionEnd, Task};

mod records;
mod relp;
mod shared;
mod stream;
mod task;

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
    /// Records taken into the buffer (the forwarder needs only `rejected`;
    /// the sink's tests check this).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) accepted: usize,
    /// Records that did not fit (or came after shutdown), in order, with
    /// their confirms untouched: the caller's fallback decides.
    pub(crate) rejected: Vec<Outgoing>,
}

/// Most records written with one `write` on a stream.
const STREAM_BATCH: usize = 1_024;
/// Most datagrams sent per round (then the buffer is looked at again).
const DATAGRAM_BATCH: usize = 64;
/// TCP records kept until the collector's kernel acknowledged their bytes,
/// at most; beyond this the sink waits for acknowledgements before writing.
const MAX_RETAINED: usize = 100_000;
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
