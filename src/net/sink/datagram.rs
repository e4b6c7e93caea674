//! A session on a datagram socket (UDP, or a Unix socket such as
//! `/dev/log`): one message per datagram, delivered once sent.

use std::io;

use super::task::{End, Task};
use crate::error::Error;
use crate::net::transport::Datagram;

/// Most datagrams sent before the intake is looked at again.
const DATAGRAM_BATCH: usize = 64;

impl Task {
    /// One message per datagram, until sending fails or the sink is closed.
    pub(super) async fn datagram_session(&mut self, socket: Datagram) -> End {
        self.connected();
        let max = socket.max_payload();
        loop {
            self.fill(DATAGRAM_BATCH);
            if self.ledger.waiting() == 0 {
                if self.closing.draining() && self.drained() {
                    return End::Drained;
                }
                let wake = std::sync::Arc::clone(&self.intake.wake);
                if self.closing.run(wake.notified()).await.is_none() {
                    return End::Deadline;
                }
                continue;
            }
            for _ in 0..self.ledger.waiting().min(DATAGRAM_BATCH) {
                let Some(entry) = self.ledger.next_to_send(1).next() else {
                    break;
                };
                if let Some(max) = max
                    && entry.message.len() > max
                {
                    let message = std::mem::take(&mut entry.message);
                    entry.message = super::truncate(message, max).0;
                    self.tally.bump(|s| s.truncated += 1);
                }
                let len = entry.message.len();
                let send = tokio::time::timeout(self.ack_timeout, socket.send(&entry.message));
                match self.closing.run(send).await {
                    None => return End::Deadline,
                    Some(Ok(Ok(_))) => self.ledger.deliver_next(),
                    Some(Ok(Err(e))) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                        // This one can never be sent; the ones after it can.
                        self.ledger.retire_front(Err(Error::message_too_large(
                            self.address.clone(),
                            len,
                            max.unwrap_or(len.saturating_sub(1)),
                        )));
                    }
                    Some(Ok(Err(e))) => return End::Broken(self.send_error(e)),
                    Some(Err(_)) => {
                        return End::Broken(self.send_error(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the socket took no datagram within {:?}", self.ack_timeout),
                        )));
                    }
                }
            }
        }
    }
}
