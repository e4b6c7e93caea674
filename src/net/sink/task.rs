//! The sink's delivery task: connect, run a session on the connection, and
//! after a failure back off and reconnect, until the sink is closed.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use tokio::sync::Notify;

use super::closing::Closing;
use super::ledger::{Envelope, Ledger, Mark};
use super::tally::Tally;
use crate::error::{Error, ErrorKind};
use crate::net::transport::{self, Conn, Target};
use crate::report::ErrorReporter;

/// The first wait before reconnecting, in a new outage.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How a session ended.
#[derive(Debug)]
pub(super) enum End {
    /// The sink is closing and everything was delivered.
    Drained,
    /// The sink's deadline passed.
    Deadline,
    /// The connection broke (or stalled); what it did not deliver waits in
    /// the ledger for the next one.
    Broken(Error),
    /// The connection was made but the RELP `open` failed.
    OpenFailed(Error),
}

/// The time between the loss of a connection and the next one that works:
/// exponential backoff with jitter. Made when a connection is lost or
/// cannot be made, dropped when one is made (RELP: when its `open`
/// succeeded), so a new outage starts from the first step again.
#[derive(Debug)]
struct Outage {
    next: Duration,
    max: Duration,
}

impl Outage {
    fn new(max: Duration) -> Outage {
        Outage {
            next: FIRST_BACKOFF,
            max: max.max(FIRST_BACKOFF),
        }
    }

    /// The next wait: drawn from the upper half of the current step, so
    /// that many clients losing one collector do not come back in step.
    fn next_wait(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(self.max);
        let half = step / 2;
        half + Duration::from_nanos(fastrand::u64(0..=half.as_nanos() as u64))
    }
}

/// The task's end of the intake.
#[derive(Debug)]
pub(super) struct Intake {
    pub(super) rx: Receiver<Envelope>,
    pub(super) marks: Receiver<Mark>,
    /// A mark taken from `marks` that waits for records before it.
    pub(super) next_mark: Option<Mark>,
    /// Records taken from `rx` so far.
    pub(super) taken: u64,
    /// Notified by every offer.
    pub(super) wake: Arc<Notify>,
}

/// The sink's delivery task, on its private runtime.
#[derive(Debug)]
pub(super) struct Task {
    pub(super) target: Target,
    /// The collector's URL, for errors.
    pub(super) address: String,
    pub(super) window: usize,
    pub(super) connect_timeout: Duration,
    pub(super) ack_timeout: Duration,
    pub(super) max_backoff: Duration,
    pub(super) intake: Intake,
    pub(super) ledger: Ledger,
    pub(super) closing: Closing,
    pub(super) tally: Arc<Tally>,
    pub(super) errors: Arc<ErrorReporter>,
    /// Connections made so far (the first is no reconnect).
    pub(super) connections: u64,
    /// Attempts to connect so far: a datagram socket tries the collector's
    /// addresses in turn, one per attempt.
    pub(super) attempts: usize,
}

impl Task {
    /// Delivers until closed; returns how many records it gave up at the end.
    pub(super) async fn run(mut self) -> u64 {
        let mut outage: Option<Outage> = None;
        loop {
            if self.drained() {
                if self.closing.draining() {
                    break;
                }
                let wake = Arc::clone(&self.intake.wake);
                if self.closing.run(wake.notified()).await.is_none() {
                    break;
                }
                continue;
            }
            if self.closing.passed() {
                break;
            }
            if let Some(outage) = &mut outage {
                let wait = outage.next_wait();
                if self.closing.run(tokio::time::sleep(wait)).await.is_none() {
                    break;
                }
            }
            let attempt = self.attempts;
            self.attempts = self.attempts.wrapping_add(1);
            let connect = transport::connect(&self.target, self.connect_timeout, attempt);
            let conn = match self.closing.run(connect).await {
                None => break,
                Some(Ok(conn)) => conn,
                Some(Err(e)) => {
                    self.connect_failed(Error::net(ErrorKind::Connect, self.address.clone(), e));
                    outage.get_or_insert_with(|| Outage::new(self.max_backoff));
                    continue;
                }
            };
            let end = match conn {
                Conn::Stream(io) if self.target.transport.is_relp() => self.relp_session(io).await,
                Conn::Stream(io) => self.stream_session(io).await,
                Conn::Datagram(socket) => self.datagram_session(socket).await,
            };
            match end {
                End::Drained | End::Deadline => break,
                End::OpenFailed(error) => {
                    self.connect_failed(error);
                    outage.get_or_insert_with(|| Outage::new(self.max_backoff));
                }
                End::Broken(error) => {
                    self.errors.report(&error);
                    // A new outage: the backoff starts over.
                    outage = Some(Outage::new(self.max_backoff));
                }
            }
        }
        let error = Error::delivery_timeout(self.address.clone(), self.tally.undelivered());
        if let Some(mark) = self.intake.next_mark.take() {
            mark.waiter.send(Err(error.clone()));
        }
        self.ledger.give_up(&error)
    }

    /// Takes records from the intake until `want` wait in the ledger or
    /// the intake is empty, each mark after the records it follows.
    pub(super) fn fill(&mut self, want: usize) {
        loop {
            self.admit_marks();
            if self.ledger.waiting() >= want {
                break;
            }
            match self.intake.rx.try_recv() {
                Ok(envelope) => {
                    self.intake.taken += 1;
                    self.ledger.push(envelope);
                }
                Err(_) => break,
            }
        }
    }

    /// Puts into the ledger the marks whose records are all in it (or
    /// retired already).
    fn admit_marks(&mut self) {
        loop {
            let Some(mark) = self
                .intake
                .next_mark
                .take()
                .or_else(|| self.intake.marks.try_recv().ok())
            else {
                return;
            };
            if mark.after > self.intake.taken {
                self.intake.next_mark = Some(mark);
                return;
            }
            self.ledger.push(Envelope::Mark(mark));
        }
    }

    /// Nothing left to deliver: the ledger and the intake are empty.
    pub(super) fn drained(&mut self) -> bool {
        self.fill(1);
        self.ledger.is_empty()
            && self.intake.rx.is_empty()
            && self.intake.next_mark.is_none()
            && self.intake.marks.is_empty()
    }

    /// A connection was made (RELP: its `open` succeeded).
    pub(super) fn connected(&mut self) {
        if self.connections > 0 {
            self.tally.bump(|s| s.reconnects += 1);
        }
        self.connections += 1;
    }

    fn connect_failed(&self, error: Error) {
        self.tally.bump(|s| s.connect_errors += 1);
        self.errors.report(&error);
    }

    pub(super) fn send_error(&self, source: std::io::Error) -> Error {
        Error::net(ErrorKind::Send, self.address.clone(), source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_backs_off_with_jitter_up_to_the_maximum() {
        let mut outage = Outage::new(Duration::from_millis(800));
        let waits: Vec<Duration> = (0..6).map(|_| outage.next_wait()).collect();
        for (wait, step) in waits.iter().zip([100, 200, 400, 800, 800, 800]) {
            let step = Duration::from_millis(step);
            assert!(
                *wait >= step / 2 && *wait <= step,
                "{wait:?} for a step of {step:?}"
            );
        }
        // A new outage starts over.
        let wait = Outage::new(Duration::from_millis(800)).next_wait();
        assert!(wait <= FIRST_BACKOFF, "{wait:?}");
    }
}
