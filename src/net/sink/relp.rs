//! A RELP session (librelp's `doc/relp.md`): `open`, a window of `syslog`
//! frames each acknowledged by its `rsp`, `close`.

use std::io;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

use super::ledger::Wire;
use super::stream::write_all_flush;
use super::task::{End, Task};
use crate::error::{Error, ErrorKind, Result};
use crate::net::config::MAX_MESSAGE_SIZE;
use crate::net::framing::{MAX_TXNR, RELP_MAX_DATA, RelpCodec, RelpFrame, RelpOut};
use crate::net::transport::Io;

/// The RELP `open` offers (librelp speaks `relp_version=0`).
const RELP_OFFERS: &[u8] = concat!(
    "relp_version=0\nrelp_software=concurrent-log-handler,",
    env!("CARGO_PKG_VERSION"),
    "\ncommands=syslog"
)
.as_bytes();

/// What a RELP session reads and writes with.
struct Codecs {
    /// Frames we send: as long as a message may be.
    out: RelpCodec,
    /// Frames the collector sends: `rsp` and hints, short; a longer one is
    /// a broken peer, not a reason to allocate.
    inbound: RelpCodec,
    rbuf: BytesMut,
    wbuf: BytesMut,
}

impl Task {
    /// RELP: `open`, then `syslog` frames in a window, each retired by its
    /// `rsp`; `close` once the sink is closing and everything settled.
    pub(super) async fn relp_session(&mut self, mut io: Box<dyn Io>) -> End {
        let mut codecs = Codecs {
            out: RelpCodec {
                max_data: MAX_MESSAGE_SIZE,
            },
            inbound: RelpCodec {
                max_data: RELP_MAX_DATA,
            },
            rbuf: BytesMut::with_capacity(8 * 1024),
            wbuf: BytesMut::new(),
        };
        let limit = self.connect_timeout;
        let open = self.relp_open(&mut io, &mut codecs);
        let opened = match tokio::time::timeout(limit, open).await {
            Ok(opened) => opened,
            Err(_) => Err(self.open_error(format!("no answer to RELP open within {limit:?}"))),
        };
        match opened {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::Timeout => return End::Deadline,
            Err(error) => return End::OpenFailed(error),
        }
        self.connected();
        let mut next_txnr: u32 = 2;
        loop {
            let room = self.window.saturating_sub(self.ledger.on_wire());
            self.fill(room);
            let batch = self.ledger.waiting().min(room);
            if batch > 0 {
                codecs.wbuf.clear();
                let now = Instant::now();
                for entry in self.ledger.next_to_send(batch) {
                    let frame = RelpOut {
                        txnr: next_txnr,
                        command: "syslog",
                        data: &entry.message,
                    };
                    // Messages were cut to max_message_size on the way in,
                    // so the codec's limit (the largest possible) holds.
                    let _ = codecs.out.encode(frame, &mut codecs.wbuf);
                    entry.wire = Wire::Relp {
                        txnr: next_txnr,
                        sent: now,
                    };
                    next_txnr = if next_txnr >= MAX_TXNR {
                        1
                    } else {
                        next_txnr + 1
                    };
                }
                self.ledger.put_on_wire(batch);
                let start = io.tcp().written();
                let write = write_all_flush(&mut io, &codecs.wbuf, self.ack_timeout);
                let result = self.closing.run(write).await;
                let left = io.tcp().written() > start;
                self.ledger
                    .transmitted(|entry| matches!(entry.wire, Wire::Relp { .. }) && left);
                match result {
                    Some(Ok(())) => continue,
                    Some(Err(e)) => {
                        let error = self.send_error(e);
                        self.ledger.rewind(None, &error);
                        return End::Broken(error);
                    }
                    None => return End::Deadline,
                }
            }
            if self.ledger.on_wire() == 0 && self.closing.draining() && self.drained() {
                self.relp_close(&mut io, &mut codecs, next_txnr).await;
                return End::Drained;
            }
            let ack_due = self
                .ledger
                .first_unacked()
                .map(|(_, sent)| sent + self.ack_timeout);
            let wake = std::sync::Arc::clone(&self.intake.wake);
            let ack_timeout = self.ack_timeout;
            let wait = async {
                tokio::select! {
                    read = io.read_buf(&mut codecs.rbuf) => Some(read),
                    () = wake.notified(), if room > 0 => None,
                    () = sleep_until(ack_due), if ack_due.is_some() => {
                        Some(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("no RELP rsp within {ack_timeout:?}"),
                        )))
                    }
                }
            };
            let read = match self.closing.run(wait).await {
                None => return End::Deadline,
                Some(None) => continue,
                Some(Some(read)) => read,
            };
            let broken = match read {
                Ok(0) => Some(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the collector closed the connection",
                )),
                Ok(_) => self.relp_responses(&mut codecs).err(),
                Err(e) => Some(e),
            };
            if let Some(e) = broken {
                let error = self.send_error(e);
                self.ledger.rewind(None, &error);
                return End::Broken(error);
            }
        }
    }

    /// Retires the frames the responses in `rbuf` answer, in order.
    fn relp_responses(&mut self, codecs: &mut Codecs) -> io::Result<()> {
        while let Some(frame) = codecs.inbound.decode(&mut codecs.rbuf)? {
            if frame.is_serverclose() {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the collector closed the session (serverclose)",
                ));
            }
            let response = match frame.response() {
                Some(response) => response?,
                // Another hint: nothing to do with it.
                None if frame.txnr == 0 => continue,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unexpected RELP command {:?}", frame.command),
                    ));
                }
            };
            if self.ledger.first_unacked().map(|(txnr, _)| txnr) != Some(frame.txnr) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("RELP rsp for txnr {} out of order", frame.txnr),
                ));
            }
            let outcome = match response.code {
                Some(200) => Ok(()),
                code => Err(Error::rejected(
                    self.address.clone(),
                    code.unwrap_or(0),
                    response.text,
                )),
            };
            self.ledger.retire_front(outcome);
        }
        Ok(())
    }

    fn open_error(&self, why: String) -> Error {
        Error::net(
            ErrorKind::Connect,
            self.address.clone(),
            io::Error::new(io::ErrorKind::ConnectionRefused, why),
        )
    }

    /// The `open` handshake: our offers, the collector's `rsp 200` with
    /// `commands=syslog` among its offers. Raced with the sink's deadline
    /// (`Timeout` when it passed).
    async fn relp_open(&mut self, io: &mut Box<dyn Io>, codecs: &mut Codecs) -> Result<()> {
        let connect_error = |e: io::Error| Error::net(ErrorKind::Connect, self.address.clone(), e);
        codecs.wbuf.clear();
        let open = RelpOut {
            txnr: 1,
            command: "open",
            data: RELP_OFFERS,
        };
        codecs
            .out
            .encode(open, &mut codecs.wbuf)
            .map_err(connect_error)?;
        let limit = self.connect_timeout;
        let exchange = async {
            write_all_flush(io, &codecs.wbuf, limit).await?;
            read_frame(io, &mut codecs.inbound, &mut codecs.rbuf).await
        };
        let frame = match self.closing.run(exchange).await {
            None => return Err(Error::timeout(limit)),
            Some(frame) => frame.map_err(connect_error)?,
        };
        let response = match frame.response() {
            Some(Ok(r)) if frame.txnr == 1 => r,
            _ => {
                return Err(self.open_error(format!(
                    "unexpected answer to RELP open: {:?}",
                    frame.command
                )));
            }
        };
        if response.code != Some(200) {
            return Err(self.open_error(format!(
                "RELP open refused: {} {}",
                response.code.unwrap_or(0),
                response.text
            )));
        }
        let offers = String::from_utf8_lossy(&response.data);
        let syslog = offers.lines().any(|line| {
            line.strip_prefix("commands=")
                .is_some_and(|cmds| cmds.split(',').any(|c| c == "syslog"))
        });
        if !syslog {
            return Err(self.open_error("the RELP server does not offer the syslog command".into()));
        }
        Ok(())
    }

    /// The `close` handshake, best effort before the sink's deadline (what
    /// it closes was all acknowledged already).
    async fn relp_close(&mut self, io: &mut Box<dyn Io>, codecs: &mut Codecs, txnr: u32) {
        codecs.wbuf.clear();
        let close = RelpOut {
            txnr,
            command: "close",
            data: b"",
        };
        if codecs.out.encode(close, &mut codecs.wbuf).is_err() {
            return;
        }
        let limit = self.ack_timeout;
        let handshake = async {
            write_all_flush(io, &codecs.wbuf, limit).await?;
            // librelp answers `rsp 0` (or a serverclose hint); either ends it.
            read_frame(io, &mut codecs.inbound, &mut codecs.rbuf).await?;
            io.shutdown().await
        };
        let _ = self
            .closing
            .run(tokio::time::timeout(limit, handshake))
            .await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Reads until one whole frame arrived.
async fn read_frame(
    io: &mut Box<dyn Io>,
    codec: &mut RelpCodec,
    rbuf: &mut BytesMut,
) -> io::Result<RelpFrame> {
    loop {
        if let Some(frame) = codec.decode(rbuf)? {
            return Ok(frame);
        }
        if io.read_buf(rbuf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the collector closed the connection",
            ));
        }
    }
}
