//! The RELP session of the sink's task: `open`, a window of `syslog`
//! frames acknowledged by `rsp`, `close` (librelp's `doc/relp.md`).

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::sleep_until;
use tokio_util::codec::{Decoder, Encoder};

use super::stream::write_all_flush;
use super::{Pending, RELP_OFFERS, SessionEnd, Task, bump};
use crate::error::{Error, ErrorKind, Result};
use crate::net::framing::{MAX_TXNR, RELP_MAX_DATA, RelpCodec, RelpFrame, RelpOut};
use crate::net::transport::Io;

impl Task {
    /// RELP: `open`, then `syslog` frames in a window, acknowledged by `rsp`.
    pub(super) async fn relp_session(
        &mut self,
        io: &mut Box<dyn Io>,
        connected_before: &mut bool,
    ) -> SessionEnd {
        let mut codec = RelpCodec {
            max_data: RELP_MAX_DATA,
        };
        let mut rbuf = BytesMut::with_capacity(8 * 1024);
        let mut wbuf = BytesMut::new();
        if let Err(error) = self.relp_open(io, &mut codec, &mut rbuf, &mut wbuf).await {
            return SessionEnd::OpenFailed(error);
        }
        self.count_connection(connected_before);
        let mut next_txnr: u32 = 2;
        // Sent and not yet acknowledged, in order; `None` for a record that
        // was refused before sending (too large) and settles in its turn.
        let mut unacked: VecDeque<(Option<u32>, Instant, Pending)> = VecDeque::new();
        let mut batch = Vec::new();
        let mut acked = Vec::new();
        let end = 'session: loop {
            let room = self.window.saturating_sub(unacked.len());
            let closing = if room > 0 {
                self.take(room, &mut batch)
            } else {
                self.shared.closing()
            };
            if !batch.is_empty() {
                wbuf.clear();
                let now = Instant::now();
                let mut sent = Vec::with_capacity(batch.len());
                for p in batch.drain(..) {
                    let frame = RelpOut {
                        txnr: next_txnr,
                        command: "syslog",
                        data: &p.message,
                    };
                    if codec.encode(frame, &mut wbuf).is_err() {
                        unacked.push_back((None, now, p));
                        continue;
                    }
                    unacked.push_back((Some(next_txnr), now, p));
                    sent.push(unacked.len() - 1);
                    next_txnr = if next_txnr >= MAX_TXNR {
                        1
                    } else {
                        next_txnr + 1
                    };
                }
                let budget = self.budget(self.ack_timeout, closing);
                if let Err(e) = write_all_flush(io, &wbuf, budget).await {
                    break SessionEnd::Broken(self.shared.send_error(e));
                }
                let resent = sent.iter().filter(|&&i| unacked[i].2.broken > 0).count();
                bump(&self.shared.counters.sent, sent.len() as u64);
                bump(&self.shared.counters.resent, resent as u64);
                self.settle_refused_front(&mut unacked, &mut acked);
                continue;
            }
            if unacked.is_empty() && closing.is_some() {
                self.relp_close(io, &mut codec, &mut rbuf, next_txnr, closing)
                    .await;
                break SessionEnd::Drained;
            }
            let ack_deadline = unacked.front().map(|(_, sent, _)| *sent + self.ack_timeout);
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                read = io.read_buf(&mut rbuf) => {
                    match read {
                        Ok(0) => break SessionEnd::Broken(self.shared.send_error(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the collector closed the connection",
                        ))),
                        Err(e) => break SessionEnd::Broken(self.shared.send_error(e)),
                        Ok(_) => {}
                    }
                    loop {
                        let frame = match codec.decode(&mut rbuf) {
                            Ok(Some(frame)) => frame,
                            Ok(None) => break,
                            Err(e) => break 'session SessionEnd::Broken(self.shared.send_error(e)),
                        };
                        if frame.is_serverclose() {
                            break 'session SessionEnd::Broken(self.shared.send_error(io::Error::new(
                                io::ErrorKind::ConnectionAborted,
                                "the collector closed the session (serverclose)",
                            )));
                        }
                        let response = match frame.response() {
                            Some(Ok(response)) => response,
                            Some(Err(e)) => break 'session SessionEnd::Broken(self.shared.send_error(e)),
                            // Another hint: nothing to do with it.
                            None if frame.txnr == 0 => continue,
                            None => break 'session SessionEnd::Broken(self.shared.send_error(
                                io::Error::new(io::ErrorKind::InvalidData, format!("unexpected RELP command {:?}", frame.command)),
                            )),
                        };
                        if unacked.front().and_then(|(txnr, _, _)| *txnr) != Some(frame.txnr) {
                            break 'session SessionEnd::Broken(self.shared.send_error(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("RELP rsp for txnr {} out of order", frame.txnr),
                            )));
                        }
                        let Some((_, _, p)) = unacked.pop_front() else { break };
                        if response.code == Some(200) {
                            bump(&self.shared.counters.acknowledged, 1);
                            acked.push(p);
                        } else {
                            self.settle(&mut acked, None);
                            acked.clear();
                            self.fail(p, Error::rejected(self.shared.address.clone(), response.code.unwrap_or(0), response.text));
                        }
                        self.settle_refused_front(&mut unacked, &mut acked);
                    }
                    self.settle(&mut acked, None);
                    acked.clear();
                }
                _ = self.shared.wake.notified(), if room > 0 => {}
                _ = self.shared.closing.notified() => {}
                _ = sleep_until(ack_deadline.unwrap_or(far).into()), if ack_deadline.is_some() => {
                    break SessionEnd::Broken(self.shared.send_error(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no RELP rsp within {:?}", self.ack_timeout),
                    )));
                }
                _ = sleep_until(closing.unwrap_or(far).into()), if closing.is_some() => {
                    break SessionEnd::Deadline;
                }
            }
        };
        self.settle(&mut acked, None);
        // Whatever is unacknowledged goes again, in order, on the next connection.
        let records: Vec<Pending> = unacked.drain(..).map(|(_, _, p)| p).collect();
        self.resend_first(records.into_iter());
        end
    }

    /// Settles the records at the front of `unacked` that were refused
    /// before sending (their turn came: everything before them settled).
    fn settle_refused_front(
        &self,
        unacked: &mut VecDeque<(Option<u32>, Instant, Pending)>,
        acked: &mut Vec<Pending>,
    ) {
        while unacked.front().is_some_and(|(txnr, _, _)| txnr.is_none()) {
            if let Some((_, _, p)) = unacked.pop_front() {
                self.settle(acked, None);
                acked.clear();
                let len = p.message.len();
                self.fail(
                    p,
                    Error::message_too_large(self.shared.address.clone(), len, RELP_MAX_DATA),
                );
            }
        }
    }

    async fn relp_open(
        &self,
        io: &mut Box<dyn Io>,
        codec: &mut RelpCodec,
        rbuf: &mut BytesMut,
        wbuf: &mut BytesMut,
    ) -> Result<()> {
        let refused = |why: String| {
            Error::net(
                ErrorKind::Connect,
                self.shared.address.clone(),
                io::Error::new(io::ErrorKind::ConnectionRefused, why),
            )
        };
        let connect_error =
            |e: io::Error| Error::net(ErrorKind::Connect, self.shared.address.clone(), e);
        wbuf.clear();
        let open = RelpOut {
            txnr: 1,
            command: "open",
            data: RELP_OFFERS,
        };
        codec.encode(open, wbuf).map_err(connect_error)?;
        let budget = self.budget(self.connect_timeout, self.shared.closing());
        let deadline = Instant::now() + budget;
        write_all_flush(io, wbuf, budget)
            .await
            .map_err(connect_error)?;
        let frame = read_frame(io, codec, rbuf, deadline)
            .await
            .map_err(connect_error)?;
        let response = match frame.response() {
            Some(Ok(r)) if frame.txnr == 1 => r,
            _ => {
                return Err(refused(format!(
                    "unexpected answer to RELP open: {:?}",
                    frame.command
                )));
            }
        };
        if response.code != Some(200) {
            return Err(refused(format!(
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
            return Err(refused(
                "the RELP server does not offer the syslog command".into(),
            ));
        }
        Ok(())
    }

    /// The `close` handshake, best effort within the shutdown budget.
    async fn relp_close(
        &self,
        io: &mut Box<dyn Io>,
        codec: &mut RelpCodec,
        rbuf: &mut BytesMut,
        txnr: u32,
        closing: Option<Instant>,
    ) {
        let budget = self.budget(Duration::from_secs(2), closing);
        let deadline = Instant::now() + budget;
        let mut wbuf = BytesMut::new();
        let close = RelpOut {
            txnr,
            command: "close",
            data: b"",
        };
        if codec.encode(close, &mut wbuf).is_ok()
            && write_all_flush(io, &wbuf, budget).await.is_ok()
        {
            // librelp answers `rsp 0` (or a serverclose hint); either ends it.
            let _ = read_frame(io, codec, rbuf, deadline).await;
        }
        let _ = tokio::time::timeout(
            self.budget(Duration::from_millis(500), closing),
            io.shutdown(),
        )
        .await;
    }
}

async fn read_frame(
    io: &mut Box<dyn Io>,
    codec: &mut RelpCodec,
    rbuf: &mut BytesMut,
    deadline: Instant,
) -> io::Result<RelpFrame> {
    loop {
        if let Some(frame) = codec.decode(rbuf)? {
            return Ok(frame);
        }
        let read = tokio::time::timeout_at(deadline.into(), io.read_buf(rbuf)).await;
        match read {
            Ok(Ok(0)) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the collector closed the connection",
                ));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no RELP answer in time",
                ));
            }
        }
    }
}
