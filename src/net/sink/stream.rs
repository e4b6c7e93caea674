//! A session on a TCP or TLS stream: octet-counted messages (RFC 6587),
//! each record kept in the ledger until the collector's kernel
//! acknowledged its bytes.
//!
//! Each frame's end in the TCP byte stream is set before the write, so
//! after a write that fails part-way, the frames whose bytes the
//! collector's kernel acknowledged retire as delivered and only the rest
//! are sent again. Over TLS a frame's bytes cannot be told apart inside the
//! encrypted stream: a batch retires whole once the kernel acknowledged the
//! end of its last TLS record, and a batch whose write failed goes again
//! whole.

use std::io;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Encoder;

use super::ledger::Wire;
use super::task::{End, Task};
use crate::net::framing::OctetCounting;
use crate::net::transport::Io;

/// Most records written with one `write`.
const STREAM_BATCH: usize = 1_024;
/// Records kept on the wire (written, their bytes not acknowledged by the
/// collector's kernel yet), at most; beyond this the session waits for
/// acknowledgements before it writes more.
pub(super) const MAX_ON_WIRE: usize = 100_000;
/// How often the kernel's count of acknowledged bytes is read while
/// records wait for it and nothing else happens.
const ACK_POLL: Duration = Duration::from_millis(5);

/// What woke an idle stream session.
enum Idle {
    Records,
    Poll,
    Read(io::Result<usize>),
}

impl Task {
    /// Octet-counted messages over TCP or TLS, until the connection breaks
    /// or the sink is closed.
    pub(super) async fn stream_session(&mut self, mut io: Box<dyn Io>) -> End {
        self.connected();
        let tls = self.target.transport.is_tls();
        let mut codec = OctetCounting {
            max_len: usize::MAX,
        };
        let mut wbuf = BytesMut::new();
        let mut rbuf = [0u8; 256];
        // When the collector last took something: a write went through, or
        // its kernel acknowledged more.
        let mut progress = Instant::now();
        loop {
            if self.ledger.retire_acked(io.tcp().acknowledged()) > 0 {
                progress = Instant::now();
            }
            let room = MAX_ON_WIRE.saturating_sub(self.ledger.on_wire());
            let want = STREAM_BATCH.min(room);
            self.fill(want);
            let batch = self.ledger.waiting().min(want);
            if batch > 0 {
                wbuf.clear();
                let start = io.tcp().written();
                for entry in self.ledger.next_to_send(batch) {
                    // Infallible for a Vec-backed buffer with no length limit.
                    let _ = codec.encode(entry.message.as_slice(), &mut wbuf);
                    let end = (!tls).then(|| start + wbuf.len() as u64);
                    entry.wire = Wire::Stream { end };
                }
                self.ledger.put_on_wire(batch);
                let write = write_all_flush(&mut io, &wbuf, self.ack_timeout);
                let result = self.closing.run(write).await;
                let written = io.tcp().written();
                if tls && result.as_ref().is_some_and(Result::is_ok) {
                    self.ledger.end_unended(written);
                }
                self.ledger.transmitted(|entry| match entry.wire {
                    Wire::Stream { end: Some(end) } => end <= written,
                    // Part of a TLS batch that failed: if any of it left,
                    // any of its records may have.
                    Wire::Stream { end: None } => written > start,
                    Wire::Relp { .. } | Wire::Waiting => false,
                });
                match result {
                    Some(Ok(())) => progress = Instant::now(),
                    Some(Err(e)) => {
                        let error = self.send_error(e);
                        self.ledger.rewind(io.tcp().acknowledged(), &error);
                        return End::Broken(error);
                    }
                    None => {
                        self.ledger.retire_acked(io.tcp().acknowledged());
                        return End::Deadline;
                    }
                }
                continue;
            }
            if self.ledger.on_wire() == 0 && self.closing.draining() && self.drained() {
                // Everything delivered: close our side; the collector's
                // kernel has acknowledged every byte already.
                let _ = self.closing.run(io.shutdown()).await;
                return End::Drained;
            }
            if self.ledger.on_wire() > 0 && progress.elapsed() > self.ack_timeout {
                let error = self.send_error(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the collector's kernel acknowledged nothing within {:?}",
                        self.ack_timeout
                    ),
                ));
                self.ledger.rewind(io.tcp().acknowledged(), &error);
                return End::Broken(error);
            }
            let poll = self.ledger.on_wire() > 0;
            let wake = std::sync::Arc::clone(&self.intake.wake);
            // Idle: wait for records (if there is room for them), for
            // acknowledgements, or notice the collector hanging up (syslog
            // collectors send nothing on these connections).
            let idle = async {
                tokio::select! {
                    () = wake.notified(), if room > 0 => Idle::Records,
                    () = tokio::time::sleep(ACK_POLL), if poll => Idle::Poll,
                    read = io.read(&mut rbuf) => Idle::Read(read),
                }
            };
            match self.closing.run(idle).await {
                None => {
                    self.ledger.retire_acked(io.tcp().acknowledged());
                    return End::Deadline;
                }
                Some(Idle::Records | Idle::Poll | Idle::Read(Ok(1..))) => {}
                Some(Idle::Read(read)) => {
                    let e = read.err().unwrap_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the collector closed the connection",
                        )
                    });
                    let error = self.send_error(e);
                    self.ledger.rewind(io.tcp().acknowledged(), &error);
                    return End::Broken(error);
                }
            }
        }
    }
}

/// Writes and flushes `bytes`, failing with `TimedOut` if that takes longer
/// than `limit` (the collector stopped reading).
pub(super) async fn write_all_flush(
    io: &mut Box<dyn Io>,
    bytes: &[u8],
    limit: Duration,
) -> io::Result<()> {
    let write = async {
        io.write_all(bytes).await?;
        io.flush().await
    };
    match tokio::time::timeout(limit, write).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the write did not finish within {limit:?}"),
        )),
    }
}
