//! The sink's one task: connect, run a session on the connection, and
//! after a failure back off and reconnect, until shutdown.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shared::{Pending, Shared, bump};
use crate::error::{Error, ErrorKind};
use crate::net::transport::{self, Conn, Target};

/// The first wait before reconnecting.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How a connection ended.
#[derive(Debug)]
pub(super) enum SessionEnd {
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
pub(super) struct Task {
    pub(super) shared: Arc<Shared>,
    pub(super) target: Target,
    pub(super) window: usize,
    pub(super) connect_timeout: Duration,
    pub(super) ack_timeout: Duration,
    pub(super) max_backoff: Duration,
    /// Records taken from the buffer to be sent again on the next
    /// connection, oldest first; they go before anything in the buffer.
    pub(super) resend: VecDeque<Pending>,
}

impl Task {
    pub(super) async fn run(mut self) {
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

    pub(super) fn count_connection(&self, connected_before: &mut bool) {
        if std::mem::replace(connected_before, true) {
            bump(&self.shared.counters.reconnects, 1);
        }
    }

    fn connect_failed(&self, error: Error) {
        bump(&self.shared.counters.connect_errors, 1);
        self.shared.errors.report(&error);
    }

    /// `limit`, cut short by the shutdown deadline.
    pub(super) fn budget(&self, limit: Duration, closing: Option<Instant>) -> Duration {
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
}
