//! The syslog sink: what the writer offers formatted messages to, after it
//! wrote them to the local file.
//!
//! ```text
//! writer ──offer (never waits, or waits as WhenFull says)──▶ intake (bounded)
//!                                                               │
//!        clh-syslog thread: task ◀───────────────────────────────┘
//!          ledger (every record until retired) ◀──▶ session (stream, RELP, datagram)
//!          expiry task (callers' deadlines)                │
//!                                                        collector
//! ```
//!
//! # Threads
//!
//! A [`SinkHandle`] owns one named std thread, `clh-syslog`, running a
//! private tokio current-thread runtime with two tasks: the delivery task
//! (connect, send, read acknowledgements, reconnect) and the expiry task
//! (answers callers whose deadline for the collector's confirmation passed).
//! The callers never touch a socket: [`offer`](SinkHandle::offer) puts
//! messages into a bounded intake and wakes the task.
//!
//! Why a private runtime rather than the user's: the same sink serves the
//! tokio handler and the std-thread handler (which has no runtime at all);
//! records still buffered when the application's runtime shuts down must
//! not die with its tasks; and a collector that stalls can delay only this
//! thread, never a worker of the application's runtime. Why async at all,
//! rather than blocking sockets: one task waits at once for room in the
//! RELP window, for acknowledgements, for new records, for the peer to close
//! and for the deadline, which a blocking socket can only do with a thread
//! per direction.
//!
//! # One owner, one deadline
//!
//! Every record the task took from the intake is in its [`Ledger`](ledger::Ledger) until it
//! is retired (delivered, refused by the collector, or given up); sessions
//! only borrow it, and it is the one place that counts ([`Tally`]). When the
//! sink is closed, its deadline (the caller's) reaches the task through
//! [`Closing`](closing::Closing), which every await races: connect, RELP `open`, write, the
//! wait for acknowledgements, the backoff, the `close` handshake. At the
//! deadline what is left is given up, counted as dropped and reported.
//!
//! # Modules
//!
//! `ledger` (records in flight), `tally` (the counters), `expiry` (callers'
//! deadlines), `closing` (the sink's deadline), `task` (the connection loop
//! and the backoff per outage), `stream`, `relp` and `datagram` (a session
//! on one connection of each kind).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender, TrySendError};
use tokio::sync::{Notify, watch};

use super::config::{SinkConfig, WhenFull};
use super::transport::Target;
use crate::confirm::Confirm;
use crate::error::{Error, ErrorKind, Result};
use crate::report::ErrorReporter;
use crate::stats::SinkStats;
use crate::sync::lock_unpoisoned;

use ending::{Ending, Leftovers};
pub(crate) use expiry::Reply;
pub(crate) use ledger::{Envelope, Mark};
use tally::{Place, Tally};

mod closing;
mod datagram;
mod door;
mod ending;
mod expiry;
mod ledger;
mod relp;
mod stream;
mod tally;
mod task;

/// How long [`SinkHandle::close`] waits, past its deadline, for the task
/// to have given up what was left and ended. The task is woken by the
/// deadline itself; this only covers the scheduling of that wake-up.
const WAKE_MARGIN: Duration = Duration::from_millis(250);

/// The mark of a message cut to `max_message_size`.
const TRUNCATION_MARK: &[u8] = b" [truncated]";

/// How a sink ended: what it could not deliver.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    /// Records still undelivered at the deadline, given up and counted as
    /// dropped (for a sink whose thread did not end in time: undelivered
    /// when the wait ended; the thread counts them as it ends).
    pub(crate) undelivered: u64,
    /// The collector, for the error.
    address: String,
    /// This was the first call to learn how the sink ended (later ones
    /// learn the same; only the first needs to tell anyone).
    pub(crate) first: bool,
}

impl Closed {
    /// `Ok` when everything was delivered; otherwise a
    /// [`DeliveryTimeout`](ErrorKind::DeliveryTimeout) naming the collector
    /// and the count.
    pub(crate) fn outcome(&self) -> Result<()> {
        if self.undelivered == 0 {
            return Ok(());
        }
        Err(Error::delivery_timeout(
            self.address.clone(),
            self.undelivered,
        ))
    }
}

/// The callers' side of one syslog sink: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct SinkHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    address: String,
    intake: Sender<Envelope>,
    /// Flushes, beside the records: a full intake never refuses one.
    marks: Sender<Mark>,
    /// Records put into the intake so far, for the marks.
    pushed: AtomicU64,
    /// A receiver of the intake for whoever gives up what is left in it.
    leftovers: Leftovers,
    wake: Arc<Notify>,
    closing: watch::Sender<Option<Instant>>,
    /// Closed as the task's last act: from then on offers are refused, and
    /// one that raced the end gives up what it put in (see `door`).
    door: Arc<door::Door>,
    /// Offers one at a time, so that a mark counts exactly the records
    /// offered before it.
    offering: Mutex<()>,
    closed: Arc<(Mutex<Option<Closed>>, Condvar)>,
    /// A `close` learned how the sink ended.
    told: AtomicBool,
    tally: Arc<Tally>,
    expiries: Arc<expiry::Expiries>,
    failures: Arc<AtomicU64>,
    when_full: WhenFull,
    max_message_size: usize,
    /// Where the task's errors are reported (shared with the handler's file).
    errors: Arc<ErrorReporter>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SinkHandle {
    /// Checks `config`, loads its TLS files, and starts the `clh-syslog`
    /// thread. Does not connect: the first record does.
    pub(crate) fn start(config: &SinkConfig, errors: Arc<ErrorReporter>) -> Result<SinkHandle> {
        SinkHandle::start_counting(config, Arc::default(), Arc::default(), errors)
    }

    /// A new sink for `config` (after this one was closed), counting on
    /// where this one left off: its stats go on from this one's.
    pub(crate) fn reopen(&self, config: &SinkConfig) -> Result<SinkHandle> {
        SinkHandle::start_counting(
            config,
            Arc::clone(&self.inner.tally),
            Arc::clone(&self.inner.failures),
            Arc::clone(&self.inner.errors),
        )
    }

    /// Whether the sink ended (closed); it refuses every offer then.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.door.is_closed()
    }

    fn start_counting(
        config: &SinkConfig,
        tally: Arc<Tally>,
        failures: Arc<AtomicU64>,
        errors: Arc<ErrorReporter>,
    ) -> Result<SinkHandle> {
        config.validate()?;
        let target = target_of(config)?;
        let (intake, rx) = crossbeam_channel::bounded(config.buffer_capacity);
        let (marks, marks_rx) = crossbeam_channel::unbounded();
        let wake = Arc::new(Notify::new());
        let (closing, closing_rx) = watch::channel(None);
        let door = Arc::new(door::Door::default());
        let closed: Arc<(Mutex<Option<Closed>>, Condvar)> = Arc::default();
        let expiries = Arc::new(expiry::Expiries::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("clh-syslog")
            .build()
            .map_err(Error::spawn)?;
        let task = task::Task {
            target,
            address: config.url.clone(),
            window: config.relp_window,
            connect_timeout: config.connect_timeout,
            ack_timeout: config.ack_timeout,
            max_backoff: config.max_backoff,
            intake: task::Intake {
                rx: rx.clone(),
                marks: marks_rx.clone(),
                next_mark: None,
                taken: 0,
                wake: Arc::clone(&wake),
            },
            ledger: ledger::Ledger::new(Arc::clone(&tally), Arc::clone(&failures)),
            closing: closing::Closing::new(closing_rx),
            tally: Arc::clone(&tally),
            errors: Arc::clone(&errors),
            connections: 0,
            attempts: 0,
        };
        let leftovers = Leftovers {
            records: rx,
            marks: marks_rx,
        };
        let ending = Ending {
            address: config.url.clone(),
            leftovers: leftovers.clone(),
            door: Arc::clone(&door),
            closed: Arc::clone(&closed),
            tally: Arc::clone(&tally),
            failures: Arc::clone(&failures),
        };
        let (address, for_expiry, tally_for_expiry) = (
            config.url.clone(),
            Arc::clone(&expiries),
            Arc::clone(&tally),
        );
        let thread = std::thread::Builder::new()
            .name("clh-syslog".into())
            .spawn(move || {
                // However the task ends (a panic would be a bug), what it
                // held is given up and counted, and `close` is answered.
                let ending = ending;
                let undelivered = runtime.block_on(async move {
                    let expiry = tokio::spawn(async move {
                        for_expiry.run(address, tally_for_expiry).await;
                    });
                    let undelivered = task.run().await;
                    expiry.abort();
                    undelivered
                });
                ending.end(undelivered);
            })
            .map_err(Error::spawn)?;
        Ok(SinkHandle {
            inner: Arc::new(Inner {
                address: config.url.clone(),
                intake,
                marks,
                pushed: AtomicU64::new(0),
                leftovers,
                wake,
                closing,
                door,
                offering: Mutex::new(()),
                closed,
                told: AtomicBool::new(false),
                tally,
                expiries,
                failures,
                when_full: config.when_full,
                max_message_size: config.max_message_size,
                errors,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// A caller's `confirm`, answered by the sink when its record or mark
    /// settles, or with a [`DeliveryTimeout`](ErrorKind::DeliveryTimeout)
    /// at `deadline`, whichever comes first.
    pub(crate) fn reply(&self, confirm: Confirm, deadline: Instant) -> Reply {
        self.inner.expiries.register(confirm, deadline)
    }

    /// A flush answered through `reply`: settles once everything offered
    /// before it did.
    pub(crate) fn mark(&self, reply: Reply) -> Envelope {
        Envelope::Mark(Mark {
            waiter: reply,
            after: 0,
            failures_before: self.inner.failures.load(Ordering::Relaxed),
            refused: None,
        })
    }

    /// Puts `batch` into the intake, in order, and wakes the task; never
    /// waits with [`WhenFull::Drop`], at most the configured time with
    /// [`WhenFull::Wait`]. A record that does not fit is refused: counted as
    /// accepted and dropped, its waiter told; a mark after a refused record
    /// of the same batch fails. Marks always fit. A message longer than
    /// `max_message_size` is truncated first (marked and counted). Returns
    /// how many records were refused.
    pub(crate) fn offer(&self, batch: impl IntoIterator<Item = Envelope>) -> u64 {
        let inner = &*self.inner;
        let batch: Vec<Envelope> = batch.into_iter().collect();
        let records = batch
            .iter()
            .filter(|e| matches!(e, Envelope::Record { .. }))
            .count() as u64;
        if batch.is_empty() {
            return 0;
        }
        let _one_at_a_time = lock_unpoisoned(&inner.offering);
        inner.tally.accepted(records, Place::Buffered);
        let deadline = match inner.when_full {
            WhenFull::Wait(wait) => crate::clock::deadline_after(wait),
            WhenFull::Drop => Instant::now(),
        };
        let mut refused = 0;
        let mut refusal: Option<Error> = None;
        let mut sent = 0;
        for envelope in batch {
            let envelope = match envelope {
                Envelope::Record { message, waiter } => Envelope::Record {
                    message: self.truncated(message),
                    waiter,
                },
                Envelope::Mark(mut mark) => {
                    if mark.refused.is_none() {
                        mark.refused = refusal.clone();
                    }
                    // Every record pushed so far goes before it.
                    mark.after = inner.pushed.load(Ordering::SeqCst);
                    Envelope::Mark(mark)
                }
            };
            let pushed = if inner.door.is_closed() {
                Err(envelope)
            } else if let Envelope::Mark(mark) = envelope {
                inner.marks.send(mark).map_err(|e| Envelope::Mark(e.0))
            } else {
                self.push(envelope, deadline)
                    .inspect(|()| _ = inner.pushed.fetch_add(1, Ordering::SeqCst))
            };
            match pushed {
                Ok(()) => sent += 1,
                Err(envelope) => {
                    let error = refusal.get_or_insert_with(|| self.full_error()).clone();
                    refused += self.refuse(envelope, error);
                }
            }
        }
        if sent > 0 {
            inner.wake.notify_one();
            // The task may have ended between the look above and the push:
            // then what was pushed is given up here (see `door`).
            if inner.door.is_closed() {
                self.give_up_leftovers();
            }
        }
        refused
    }

    fn push(&self, envelope: Envelope, deadline: Instant) -> std::result::Result<(), Envelope> {
        match self.inner.intake.try_send(envelope) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(envelope)) if Instant::now() < deadline => {
                self.inner.wake.notify_one();
                self.inner
                    .intake
                    .send_deadline(envelope, deadline)
                    .map_err(|e| match e {
                        SendTimeoutError::Timeout(e) | SendTimeoutError::Disconnected(e) => e,
                    })
            }
            Err(TrySendError::Full(e) | TrySendError::Disconnected(e)) => Err(e),
        }
    }

    /// Refuses one envelope with `error`; returns 1 for a record.
    fn refuse(&self, envelope: Envelope, error: Error) -> u64 {
        match envelope {
            Envelope::Record { message, waiter } => {
                self.inner.tally.moved(1, Place::Buffered, Place::Dropped);
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                crate::buffers::recycle(&mut vec![message]);
                if let Some(waiter) = waiter {
                    waiter.send(Err(error));
                }
                1
            }
            Envelope::Mark(mark) => {
                mark.waiter.send(Err(mark.refused.unwrap_or(error)));
                0
            }
        }
    }

    fn full_error(&self) -> Error {
        if self.inner.door.is_closed() {
            return Error::closed();
        }
        Error::net(
            ErrorKind::SinkFull,
            self.inner.address.clone(),
            std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!(
                    "{} records wait to be delivered",
                    self.inner.tally.undelivered()
                ),
            ),
        )
    }

    fn give_up_leftovers(&self) {
        self.inner
            .leftovers
            .give_up(&self.inner.tally, &self.inner.failures, &Error::closed());
    }

    /// `message`, cut at a character boundary and marked if it is longer
    /// than the limit (counted in `SinkStats::truncated`).
    fn truncated(&self, message: Vec<u8>) -> Vec<u8> {
        let (message, cut) = truncate(message, self.inner.max_message_size);
        if cut {
            self.inner.tally.bump(|s| s.truncated += 1);
        }
        message
    }

    /// Delivers what it holds until `deadline`, then gives up the rest
    /// (counted as dropped, reported) and ends its thread. Returns by the
    /// deadline (plus the moment the thread needs to end). Calling it again
    /// returns the same; a later deadline never extends an earlier one.
    #[must_use = "what the sink could not deliver is in Closed"]
    pub(crate) fn close(&self, deadline: Instant) -> Closed {
        let inner = &*self.inner;
        inner
            .closing
            .send_modify(|at| *at = Some(at.map_or(deadline, |at| at.min(deadline))));
        inner.wake.notify_one();
        let (lock, ended) = &*inner.closed;
        let give_up_at = deadline.checked_add(WAKE_MARGIN).unwrap_or(deadline);
        let mut closed = lock_unpoisoned(lock);
        while closed.is_none() {
            let now = Instant::now();
            if now >= give_up_at {
                break;
            }
            closed = ended
                .wait_timeout(closed, give_up_at - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        let outcome = closed.clone();
        drop(closed);
        match outcome {
            Some(mut outcome) => {
                if let Some(thread) = lock_unpoisoned(&inner.thread).take() {
                    // It has ended (it said so as its last act): this returns at once.
                    let _ = thread.join();
                }
                outcome.first = !inner.told.swap(true, Ordering::SeqCst);
                outcome
            }
            None => Closed {
                undelivered: inner.tally.undelivered(),
                address: inner.address.clone(),
                first: !inner.told.swap(true, Ordering::SeqCst),
            },
        }
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> SinkStats {
        self.inner.tally.snapshot()
    }
}

impl Drop for Inner {
    /// A sink dropped without [`close`](SinkHandle::close) (its handler
    /// was never stopped) gives up what it holds at once, counting and
    /// reporting it; dropping never blocks.
    fn drop(&mut self) {
        self.closing.send_modify(|at| {
            at.get_or_insert_with(Instant::now);
        });
        self.wake.notify_one();
    }
}

/// `message` cut to at most `max` bytes, at a UTF-8 character boundary,
/// ending in [`TRUNCATION_MARK`]; whether it was cut.
fn truncate(mut message: Vec<u8>, max: usize) -> (Vec<u8>, bool) {
    if message.len() <= max {
        return (message, false);
    }
    let mut keep = max.saturating_sub(TRUNCATION_MARK.len());
    // Back to the start of a character: never more than three steps.
    while keep > 0 && message.get(keep).is_some_and(|&b| b & 0xC0 == 0x80) {
        keep -= 1;
    }
    message.truncate(keep);
    message.extend_from_slice(TRUNCATION_MARK);
    (message, true)
}

fn target_of(config: &SinkConfig) -> Result<Target> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters_and_marks_the_cut() {
        let (same, cut) = truncate(b"short".to_vec(), 480);
        assert_eq!((same.as_slice(), cut), (&b"short"[..], false));
        let long = "é".repeat(400); // 800 bytes, two per character
        let (cut_message, cut) = truncate(long.into_bytes(), 481);
        assert!(cut);
        assert!(cut_message.len() <= 481, "{}", cut_message.len());
        let text = String::from_utf8(cut_message).expect("still UTF-8");
        assert!(text.ends_with(" [truncated]"), "{text}");
        assert_eq!(text.trim_end_matches(" [truncated]").chars().count(), 234);
    }
}
