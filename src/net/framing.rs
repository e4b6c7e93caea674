//! How messages are cut out of a byte stream: RFC 6587 octet counting for
//! plain syslog over TCP and TLS, and RELP frames.
//!
//! Both are tokio-util [`Encoder`]/[`Decoder`]s over a [`BytesMut`]. The
//! sink encodes a whole batch into one buffer and writes it with one call;
//! the decoders read what the collector sends back (RELP) and serve the
//! tests. A decoder never trusts a length it read: a frame longer than its
//! limit, or bytes that are not a frame, are an error, and the connection
//! is dropped (RELP's own rule for framing errors).

use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The most digits of a length or RELP transaction number (both protocols
/// allow 9: at most 999,999,999).
const MAX_DIGITS: usize = 9;
/// The largest RELP transaction number; the next one after it is 1.
pub(crate) const MAX_TXNR: u32 = 999_999_999;
/// The longest RELP command name.
const MAX_COMMAND: usize = 32;

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, with no
/// trailer, so a message may hold any byte (the framing never depends on
/// what is inside it, unlike the LF-terminated "non-transparent" framing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OctetCounting {
    /// The longest message the decoder accepts.
    pub(crate) max_len: usize,
}

impl Encoder<&[u8]> for OctetCounting {
    type Error = io::Error;

    fn encode(&mut self, message: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        dst.reserve(message.len() + 11);
        push_decimal(message.len(), dst);
        dst.put_u8(b' ');
        dst.extend_from_slice(message);
        Ok(())
    }
}

impl Decoder for OctetCounting {
    type Item = Bytes;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        let Some((len, header)) = number(src, 0, "MSG-LEN")? else {
            return Ok(None);
        };
        match src.get(header) {
            None => return Ok(None),
            Some(b' ') => {}
            Some(_) => return Err(invalid("octet-counted frame: no space after MSG-LEN")),
        }
        if len == 0 || len > self.max_len {
            return Err(invalid(format!(
                "octet-counted frame of {len} bytes (1 to {} allowed)",
                self.max_len
            )));
        }
        if src.len() < header + 1 + len {
            src.reserve(header + 1 + len - src.len());
            return Ok(None);
        }
        src.advance(header + 1);
        Ok(Some(src.split_to(len).freeze()))
    }
}

/// One RELP frame to send: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelpOut<'a> {
    pub(crate) txnr: u32,
    pub(crate) command: &'a str,
    pub(crate) data: &'a [u8],
}

/// A RELP frame as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelpFrame {
    pub(crate) txnr: u32,
    pub(crate) command: String,
    pub(crate) data: Bytes,
}

/// What a `rsp` frame says: `STATUS [SP TEXT] [LF DATA]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelpResponse {
    /// `200` is success; anything else an error. `None` for a `rsp` with no
    /// data at all, which is how librelp answers `close`.
    pub(crate) code: Option<u16>,
    /// The human-readable text after the code.
    pub(crate) text: String,
    /// What follows the first LF (the server's offers, for `open`).
    pub(crate) data: Bytes,
}

impl RelpFrame {
    /// The response, if this is a well-formed `rsp`; `Err` for a `rsp` whose
    /// data does not start with a three-digit code.
    pub(crate) fn response(&self) -> Option<io::Result<RelpResponse>> {
        if self.command != "rsp" {
            return None;
        }
        let data = &self.data;
        if data.is_empty() {
            return Some(Ok(RelpResponse {
                code: None,
                text: String::new(),
                data: Bytes::new(),
            }));
        }
        let digits = data.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit));
        let Some(digits) = digits else {
            return Some(Err(invalid("RELP rsp without a status code")));
        };
        let code = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        let rest = &data[3..];
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => (&rest[..lf], data.slice(3 + lf + 1..)),
            None => (rest, Bytes::new()),
        };
        let text = String::from_utf8_lossy(line.strip_prefix(b" ").unwrap_or(line)).into_owned();
        Some(Ok(RelpResponse {
            code: Some(code),
            text,
            data: after,
        }))
    }

    /// Whether this is the server's hint that it closes the session.
    pub(crate) fn is_serverclose(&self) -> bool {
        self.txnr == 0 && self.command == "serverclose"
    }
}

/// RELP frames (librelp's `doc/relp.md`): encodes commands, decodes what
/// the server sends (`rsp`, the `serverclose` hint).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelpCodec {
    /// The longest DATA the decoder accepts (and the encoder sends).
    pub(crate) max_data: usize,
}

/// librelp's default largest DATALEN (`maxDataSize`, 128 KiB); a larger
/// frame makes rsyslog drop the connection.
pub(crate) const RELP_MAX_DATA: usize = 128 * 1024;

impl Encoder<RelpOut<'_>> for RelpCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: RelpOut<'_>, dst: &mut BytesMut) -> io::Result<()> {
        if frame.data.len() > self.max_data {
            return Err(invalid(format!(
                "RELP frame of {} bytes (at most {})",
                frame.data.len(),
                self.max_data
            )));
        }
        dst.reserve(frame.data.len() + frame.command.len() + 23);
        push_decimal(frame.txnr as usize, dst);
        dst.put_u8(b' ');
        dst.extend_from_slice(frame.command.as_bytes());
        dst.put_u8(b' ');
        push_decimal(frame.data.len(), dst);
        if !frame.data.is_empty() {
            dst.put_u8(b' ');
            dst.extend_from_slice(frame.data);
        }
        dst.put_u8(b'\n');
        Ok(())
    }
}

impl Decoder for RelpCodec {
    type Item = RelpFrame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<RelpFrame>> {
        let Some((txnr, mut at)) = number(src, 0, "TXNR")? else {
            return Ok(None);
        };
        match src.get(at) {
            None => return Ok(None),
            Some(b' ') => at += 1,
            Some(_) => return Err(invalid("RELP frame: no space after TXNR")),
        }
        let command_start = at;
        loop {
            match src.get(at) {
                None if at - command_start <= MAX_COMMAND => return Ok(None),
                Some(b) if b.is_ascii_alphabetic() && at - command_start < MAX_COMMAND => at += 1,
                Some(b' ') if at > command_start => break,
                _ => return Err(invalid("RELP frame: bad command")),
            }
        }
        let command_end = at;
        at += 1;
        let Some((datalen, end)) = number(src, at, "DATALEN")? else {
            return Ok(None);
        };
        at = end;
        if datalen > self.max_data {
            return Err(invalid(format!(
                "RELP frame of {datalen} bytes (at most {})",
                self.max_data
            )));
        }
        let data_start = if datalen == 0 {
            at
        } else {
            match src.get(at) {
                None => return Ok(None),
                Some(b' ') => at + 1,
                Some(_) => return Err(invalid("RELP frame: no space after DATALEN")),
            }
        };
        let trailer = data_start + datalen;
        match src.get(trailer) {
            None => {
                src.reserve(trailer + 1 - src.len());
                return Ok(None);
            }
            Some(b'\n') => {}
            Some(_) => return Err(invalid("RELP frame: no LF trailer")),
        }
        let txnr = u32::try_from(txnr).map_err(|_| invalid("RELP TXNR out of range"))?;
        let command = String::from_utf8_lossy(&src[command_start..command_end]).into_owned();
        let mut frame = src.split_to(trailer + 1);
        frame.advance(data_start);
        frame.truncate(datalen);
        Ok(Some(RelpFrame {
            txnr,
            command,
            data: frame.freeze(),
        }))
    }
}

/// A decimal number of 1 to 9 digits starting at `at`: `Ok(None)` if the
/// buffer ends inside it, else the number and the index after it.
fn number(src: &[u8], at: usize, what: &str) -> io::Result<Option<(usize, usize)>> {
    let digits = src[at.min(src.len())..]
        .iter()
        .take(MAX_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > MAX_DIGITS {
        return Err(invalid(format!("{what} longer than {MAX_DIGITS} digits")));
    }
    if at + digits == src.len() {
        return Ok(None);
    }
    if digits == 0 {
        return Err(invalid(format!("{what} expected")));
    }
    let n = src[at..at + digits]
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
    Ok(Some((n, at + digits)))
}

fn push_decimal(n: usize, dst: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn octets() -> OctetCounting {
        OctetCounting { max_len: 64 }
    }

    fn relp() -> RelpCodec {
        RelpCodec { max_data: 64 }
    }

    #[test]
    fn octet_counting_encodes_length_space_message() {
        let mut buf = BytesMut::new();
        octets()
            .encode(b"<14>1 - - - - - hi".as_slice(), &mut buf)
            .unwrap();
        octets().encode("é\n".as_bytes(), &mut buf).unwrap();
        assert_eq!(&buf[..], "18 <14>1 - - - - - hi3 é\n".as_bytes());
    }

    #[test]
    fn octet_counting_decodes_byte_by_byte() {
        let mut wire = BytesMut::new();
        for msg in [&b"a"[..], b"hello world", b"with\nnewline"] {
            octets().encode(msg, &mut wire).unwrap();
        }
        // Fed one byte at a time, every partial frame waits for more.
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(frame) = octets().decode(&mut buf).unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(got, [&b"a"[..], b"hello world", b"with\nnewline"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn octet_counting_refuses_garbage() {
        let cases: [&[u8]; 6] = [
            b"x12 abc",
            b"12xabc",
            b" 3 abc",
            b"0 ",
            b"65 aaaa",
            b"1234567890 a",
        ];
        for wire in cases {
            let mut buf = BytesMut::from(wire);
            assert!(
                octets().decode(&mut buf).is_err(),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        for partial in [&b""[..], b"1", b"12", b"12 abc"] {
            let mut buf = BytesMut::from(partial);
            assert_eq!(octets().decode(&mut buf).unwrap(), None, "{partial:?}");
        }
    }

    #[test]
    fn relp_encodes_commands() {
        let cases: [(RelpOut<'_>, &[u8]); 3] = [
            (
                RelpOut {
                    txnr: 1,
                    command: "open",
                    data: b"relp_version=0\ncommands=syslog",
                },
                b"1 open 30 relp_version=0\ncommands=syslog\n",
            ),
            (
                RelpOut {
                    txnr: 2,
                    command: "syslog",
                    data: b"<14>1 x",
                },
                b"2 syslog 7 <14>1 x\n",
            ),
            (
                RelpOut {
                    txnr: 3,
                    command: "close",
                    data: b"",
                },
                b"3 close 0\n",
            ),
        ];
        for (frame, want) in cases {
            let mut buf = BytesMut::new();
            relp().encode(frame, &mut buf).unwrap();
            assert_eq!(&buf[..], want);
        }
        let mut buf = BytesMut::new();
        let big = [b'a'; 65];
        assert!(
            relp()
                .encode(
                    RelpOut {
                        txnr: 4,
                        command: "syslog",
                        data: &big
                    },
                    &mut buf
                )
                .is_err()
        );
    }

    #[test]
    fn relp_decodes_responses_and_serverclose_in_pieces() {
        let wire: &[u8] =
            b"1 rsp 37 200 OK\nrelp_version=0\ncommands=syslog\n2 rsp 6 200 OK\n3 rsp 21 500 queue full, sorry\n4 rsp 0\n0 serverclose 0\n";
        for chunk in [1, 2, 5, 7, 64, wire.len()] {
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(frame) = relp().decode(&mut buf).unwrap() {
                    frames.push(frame);
                }
            }
            assert!(buf.is_empty());
            let responses: Vec<_> = frames
                .iter()
                .filter_map(|f| f.response().map(|r| (f.txnr, r.unwrap())))
                .collect();
            assert_eq!(responses.len(), 4, "chunk {chunk}");
            assert_eq!(responses[0].1.code, Some(200));
            assert_eq!(&responses[0].1.data[..], b"relp_version=0\ncommands=syslog");
            assert_eq!((responses[1].0, responses[1].1.code), (2, Some(200)));
            assert_eq!(responses[2].1.code, Some(500));
            assert_eq!(responses[2].1.text, "queue full, sorry");
            assert_eq!(responses[3].1.code, None);
            assert!(frames[4].is_serverclose());
        }
    }

    #[test]
    fn relp_refuses_garbage() {
        let cases: [&[u8]; 8] = [
            b"x rsp 0\n",
            b"1rsp 0\n",
            b"1 r5p 0\n",
            b"1  0\n",
            b"1 rsp 3 abcX",
            b"1 rsp 3abc\n",
            b"1 rsp 65 ",
            b"1234567890 rsp 0\n",
        ];
        for wire in cases {
            let mut buf = BytesMut::from(wire);
            assert!(
                relp().decode(&mut buf).is_err(),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        let long_command = format!("1 {} 0\n", "a".repeat(33));
        assert!(
            relp()
                .decode(&mut BytesMut::from(long_command.as_bytes()))
                .is_err()
        );
        let frame = RelpFrame {
            txnr: 1,
            command: "rsp".into(),
            data: Bytes::from_static(b"OK"),
        };
        assert!(frame.response().is_some_and(|r| r.is_err()));
    }
}
