//! The door of the fuzz targets in `fuzz/` to the crate's private parsers
//! of outside input (feature `fuzzing`, which only `fuzz/Cargo.toml` turns
//! on; not part of the API, and hidden from its documentation).
//!
//! Each function runs one parser on the fuzzer's input and checks the
//! properties that parser promises; `Err` names the property that failed,
//! and the fuzz target panics with it. The parsers reachable through the
//! public API (config files, filters, timestamp patterns, the formatters)
//! are fuzzed through it, by the targets themselves.

pub use self::files::backup_names;
#[cfg(feature = "syslog")]
pub use self::net::{Endpoint, endpoint, octet_frames, relp_frames};

/// The tracing fmt writer's treatment of a line fmt (or any layer) wrote:
/// what [`crate::integrations::tracing::EventWriter`] sends as the line.
#[cfg(feature = "tracing")]
pub fn fmt_writer_line(line: Vec<u8>) -> Vec<u8> {
    crate::format::one_line(line)
}

#[cfg(feature = "syslog")]
mod net {
    use bytes::{BufMut, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use crate::net::fuzzing::{OctetCounting, RelpCodec, RelpFrame, RelpOut};

    /// The longest frame the fuzzed decoders accept: small, so that the
    /// fuzzer reaches the limit.
    const MAX_DATA: usize = 1024;

    /// What a decoder made of a whole input: the frames, then whether it
    /// stopped at an error (its message) or waits for more.
    type Decoded<T> = (Vec<T>, Option<String>);

    /// Decodes `wire` fed all at once, or in pieces of `piece` bytes (0:
    /// all at once), until an error or the end.
    fn decode_all<D: Decoder<Error = std::io::Error>>(
        decoder: &mut D,
        wire: &[u8],
        piece: usize,
    ) -> Decoded<D::Item> {
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        let piece = if piece == 0 { wire.len().max(1) } else { piece };
        for chunk in wire.chunks(piece) {
            buf.put_slice(chunk);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e.to_string())),
                }
            }
        }
        (frames, None)
    }

    /// The frames `codec` decodes from `wire` fed whole, which must be the
    /// frames (and the outcome: an error or not) of `wire` fed in pieces of
    /// `piece` bytes: where a frame is cut never changes what it is.
    fn same_in_pieces<D>(
        codec: impl Fn() -> D,
        wire: &[u8],
        piece: usize,
    ) -> Result<Vec<D::Item>, String>
    where
        D: Decoder<Error = std::io::Error>,
        D::Item: PartialEq + std::fmt::Debug,
    {
        let (whole, error) = decode_all(&mut codec(), wire, 0);
        let (pieces, piece_error) = decode_all(&mut codec(), wire, piece);
        if whole != pieces || error.is_some() != piece_error.is_some() {
            return Err(format!(
                "whole: {whole:?} {error:?}; in pieces of {piece}: {pieces:?} {piece_error:?}"
            ));
        }
        Ok(whole)
    }

    /// RELP frames as a collector sends them back: decoded whole or in
    /// pieces of `piece` bytes, the same frames and the same outcome; every
    /// frame within the limits; a frame encoded again decodes to itself,
    /// whole; the `rsp` reading of a frame never fails other than typed.
    pub fn relp_frames(wire: &[u8], piece: usize) -> Result<(), String> {
        let whole = same_in_pieces(|| RelpCodec { max_data: MAX_DATA }, wire, piece)?;
        for frame in &whole {
            check_relp_frame(frame)?;
        }
        Ok(())
    }

    fn check_relp_frame(frame: &RelpFrame) -> Result<(), String> {
        let command_ok = (1..=32).contains(&frame.command.len())
            && frame.command.bytes().all(|b| b.is_ascii_alphabetic());
        if !command_ok || frame.data.len() > MAX_DATA || frame.txnr > 999_999_999 {
            return Err(format!("RELP frame out of its limits: {frame:?}"));
        }
        let mut wire = BytesMut::new();
        RelpCodec { max_data: MAX_DATA }
            .encode(
                RelpOut {
                    txnr: frame.txnr,
                    command: &frame.command,
                    data: &frame.data,
                },
                &mut wire,
            )
            .map_err(|e| format!("RELP frame {frame:?} does not encode: {e}"))?;
        let again = RelpCodec { max_data: MAX_DATA }.decode(&mut wire);
        match again {
            Ok(Some(again)) if again == *frame && wire.is_empty() => {}
            other => return Err(format!("RELP frame {frame:?} encoded decodes as {other:?}")),
        }
        if let Some(Ok(response)) = frame.response()
            && response.code.is_some_and(|code| code > 999)
        {
            return Err(format!("RELP rsp code beyond 3 digits: {response:?}"));
        }
        Ok(())
    }

    /// RFC 6587 octet-counted frames: decoded whole or in pieces, the same;
    /// every frame 1 to the limit long; encoded again, decodes to itself.
    pub fn octet_frames(wire: &[u8], piece: usize) -> Result<(), String> {
        let codec = || OctetCounting { max_len: MAX_DATA };
        let whole = same_in_pieces(codec, wire, piece)?;
        for frame in &whole {
            if frame.is_empty() || frame.len() > MAX_DATA {
                return Err(format!("octet frame of {} bytes", frame.len()));
            }
            let mut wire = BytesMut::new();
            codec()
                .encode(&frame[..], &mut wire)
                .map_err(|e| format!("octet frame does not encode: {e}"))?;
            match codec().decode(&mut wire) {
                Ok(Some(again)) if again == *frame && wire.is_empty() => {}
                other => return Err(format!("octet frame {frame:?} decodes as {other:?}")),
            }
        }
        Ok(())
    }

    /// Where a syslog URL points, as `SyslogConfig::new` read it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Endpoint {
        /// A host (name or address, without brackets) and a port.
        Inet {
            /// The host.
            host: String,
            /// The port.
            port: u16,
        },
        /// A unix socket's path.
        Unix(std::path::PathBuf),
    }

    /// The endpoint of a syslog URL, or `SyslogConfig::new`'s error.
    pub fn endpoint(url: &str) -> crate::Result<Endpoint> {
        use crate::net::fuzzing::Endpoint as Parsed;
        Ok(match crate::SyslogConfig::new(url)?.sink.endpoint {
            Parsed::Inet { host, port } => Endpoint::Inet { host, port },
            Parsed::Unix(path) => Endpoint::Unix(path),
        })
    }
}

mod files {
    use std::time::Duration;

    use crate::file::fuzzing::{TimedPolicy, parse_chain_number, parse_timed};
    use crate::file::{Rotation, Weekday};

    /// The rotations whose backup names retention parses: every label
    /// format (seconds, minutes, hours, days).
    fn policies() -> [TimedPolicy; 8] {
        [
            Rotation::Minutely,
            Rotation::Hourly,
            Rotation::Daily,
            Rotation::Days(3),
            Rotation::Weekly(Weekday::Sunday),
            Rotation::Every(Duration::from_secs(30)),
            Rotation::Every(Duration::from_secs(90)),
            Rotation::Every(Duration::from_secs(7_200)),
        ]
        .map(|rotation| TimedPolicy::new(rotation, true))
    }

    /// Backup names as retention reads them (`rest`: what follows
    /// `app.log.`): a name read as chain backup `N` is exactly `N`'s
    /// digits; a name read as a timed backup is exactly its label, or
    /// label `.k`; and the label written for the period ending at
    /// `rollover_at` (any time from 1970 to 9999), with or without a
    /// counter, is read back as that period and counter.
    pub fn backup_names(rest: &str, rollover_at: i64, counter: u32) -> Result<(), String> {
        if let Some(n) = parse_chain_number(rest)
            && (n == 0 || n.to_string() != rest)
        {
            return Err(format!("{rest:?} read as chain backup {n}"));
        }
        let rollover_at = rollover_at.rem_euclid(253_402_300_800);
        for policy in policies() {
            if let Some((when, k)) = parse_timed(rest, &policy) {
                let label = match k {
                    0 => rest,
                    k => match rest.rsplit_once('.') {
                        Some((label, digits)) if digits == k.to_string() => label,
                        _ => return Err(format!("{rest:?} read with counter {k}")),
                    },
                };
                if policy.parse_label(label) != Some(when) {
                    return Err(format!("{rest:?} read as {when} in {policy:?}"));
                }
            }
            let label = policy.period_label(rollover_at);
            let when = policy.parse_label(&label);
            if when.is_none() || parse_timed(&label, &policy) != when.map(|w| (w, 0)) {
                return Err(format!("label {label:?} of {rollover_at} not read back"));
            }
            if counter > 0 {
                let name = format!("{label}.{counter}");
                if parse_timed(&name, &policy) != when.map(|w| (w, counter)) {
                    return Err(format!("{name:?} not read back with its counter"));
                }
            }
        }
        Ok(())
    }
}
