//! The stream and datagram sessions of the sink's task: octet-counted
//! messages over TCP or TLS (with the records kept until the collector's
//! kernel acknowledged their bytes), one message per datagram.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Encoder;

use super::{DATAGRAM_BATCH, MAX_RETAINED, MAX_UDP, Pending, STREAM_BATCH, SessionEnd, Task};
use crate::error::{Error, ErrorKind};
use crate::net::framing::OctetCounting;
use crate::net::transport::{Datagram, Io};

impl Task {
    /// Octet-counted messages over TCP or TLS.
    pub(super) async fn stream_session(&mut self, io: &mut Box<dyn Io>) -> SessionEnd {
        let tls = self.target.transport.is_tls();
        let mut codec = OctetCounting {
            max_len: usize::MAX,
        };
        // Written records, with the byte offset their frame ends at, until
        // the collector's kernel acknowledged those bytes.
        let mut retained: VecDeque<(u64, Pending)> = VecDeque::new();
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        let mut ends = Vec::with_capacity(STREAM_BATCH);
        let mut wbuf = BytesMut::new();
        let mut rbuf = [0u8; 256];
        let end = loop {
            let closing = self.take(STREAM_BATCH, &mut batch);
            if batch.is_empty() {
                if closing.is_some() {
                    let budget = self.budget(self.ack_timeout, closing);
                    let _ = tokio::time::timeout(budget, io.shutdown()).await;
                    break SessionEnd::Drained;
                }
                // Idle: wait for records, or notice the collector hanging up
                // (syslog collectors send nothing on these connections).
                tokio::select! {
                    _ = self.shared.wake.notified() => continue,
                    _ = self.shared.closing.notified() => continue,
                    read = io.read(&mut rbuf) => match read {
                        Ok(0) => break SessionEnd::Broken(self.shared.send_error(
                            io::Error::new(io::ErrorKind::UnexpectedEof, "the collector closed the connection"),
                        )),
                        Ok(_) => continue,
                        Err(e) => break SessionEnd::Broken(self.shared.send_error(e)),
                    },
                }
            }
            wbuf.clear();
            ends.clear();
            let start = io.tcp().written();
            for p in &batch {
                // Infallible for a Vec-backed buffer with no length limit.
                let _ = codec.encode(p.message.as_slice(), &mut wbuf);
                ends.push(start + wbuf.len() as u64);
            }
            let budget = self.budget(self.ack_timeout, closing);
            if let Err(e) = write_all_flush(io, &wbuf, budget).await {
                prune(&mut retained, io.tcp().acknowledged());
                self.resend_first(
                    retained
                        .drain(..)
                        .map(|(_, p)| p)
                        .chain(batch.drain(..))
                        .collect::<Vec<_>>()
                        .into_iter(),
                );
                break SessionEnd::Broken(self.shared.send_error(e));
            }
            self.count_sent(&batch);
            self.settle(&mut batch, None);
            // Plain TCP: each frame's own end. TLS: the batch's records are
            // all in the kernel once the flush returned; its TLS records'
            // end is the stream's count now.
            let batch_end = io.tcp().written();
            for (p, end) in batch.drain(..).zip(&ends) {
                retained.push_back((if tls { batch_end } else { *end }, p));
            }
            let mut acked = io.tcp().acknowledged();
            if acked.is_none() {
                // The kernel cannot tell: nothing can be resent by it.
                retained.clear();
            }
            prune(&mut retained, acked);
            // A collector that acknowledges nothing: wait for it, not forever.
            let stalled_since = Instant::now();
            while retained.len() > MAX_RETAINED {
                if stalled_since.elapsed() > self.ack_timeout {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                acked = io.tcp().acknowledged();
                prune(&mut retained, acked);
            }
            if retained.len() > MAX_RETAINED {
                self.resend_first(
                    retained
                        .drain(..)
                        .map(|(_, p)| p)
                        .collect::<Vec<_>>()
                        .into_iter(),
                );
                break SessionEnd::Broken(self.shared.send_error(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the collector's kernel acknowledged nothing within ack_timeout",
                )));
            }
        };
        if let SessionEnd::Broken(_) = end
            && !retained.is_empty()
        {
            prune(&mut retained, io.tcp().acknowledged());
            self.resend_first(
                retained
                    .drain(..)
                    .map(|(_, p)| p)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        end
    }

    /// One message per datagram.
    pub(super) async fn datagram_session(&mut self, socket: &Datagram) -> SessionEnd {
        let max = match socket {
            Datagram::Udp(_) => Some(MAX_UDP),
            // The local socket's limit is its buffer size: EMSGSIZE tells.
            Datagram::Unix(_) => None,
        };
        let mut batch = Vec::with_capacity(DATAGRAM_BATCH);
        loop {
            let closing = self.take(DATAGRAM_BATCH, &mut batch);
            if batch.is_empty() {
                if closing.is_some() {
                    return SessionEnd::Drained;
                }
                tokio::select! {
                    _ = self.shared.wake.notified() => {}
                    _ = self.shared.closing.notified() => {}
                }
                continue;
            }
            let budget = self.budget(self.ack_timeout, closing);
            let mut sent = 0;
            let mut failure = None;
            for p in &batch {
                let len = p.message.len();
                if max.is_some_and(|max| len > max) {
                    failure = Some(Error::message_too_large(
                        self.shared.address.clone(),
                        len,
                        max.unwrap_or(0),
                    ));
                    break;
                }
                match tokio::time::timeout(budget, socket.send(&p.message)).await {
                    Ok(Ok(_)) => sent += 1,
                    Ok(Err(e)) => {
                        failure = Some(self.shared.send_error(e));
                        break;
                    }
                    Err(_) => {
                        failure = Some(self.shared.send_error(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the local socket took no datagram within ack_timeout",
                        )));
                        break;
                    }
                }
            }
            let rest = batch.split_off(sent);
            self.count_sent(&batch);
            self.settle(&mut batch, None);
            batch.clear();
            let Some(error) = failure else { continue };
            let mut rest = rest.into_iter();
            let refused = error.kind() == ErrorKind::MessageTooLarge
                || error.io_error().and_then(io::Error::raw_os_error) == Some(libc::EMSGSIZE);
            if refused {
                // This record can never be sent; the ones after it can.
                if let Some(p) = rest.next() {
                    self.fail(p, error);
                }
                self.put_back(rest.collect());
                continue;
            }
            // Not sent at all (the socket is gone): no broken connection in
            // RELP's sense, so they are put back as they were.
            self.put_back(rest.collect());
            return SessionEnd::Broken(error);
        }
    }
}

/// Drops retained records whose bytes the peer's kernel acknowledged.
fn prune(retained: &mut VecDeque<(u64, Pending)>, acked: Option<u64>) {
    let Some(acked) = acked else { return };
    while retained.front().is_some_and(|(end, _)| *end <= acked) {
        retained.pop_front();
    }
}

pub(super) async fn write_all_flush(
    io: &mut Box<dyn Io>,
    bytes: &[u8],
    budget: Duration,
) -> io::Result<()> {
    let write = async {
        io.write_all(bytes).await?;
        io.flush().await
    };
    match tokio::time::timeout(budget, write).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the write did not finish within {budget:?}"),
        )),
    }
}
