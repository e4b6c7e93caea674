//! The default text line.

use super::escape::escape;
use super::timestamp::write_timestamp;
use super::{Formatter, write_plain_value};
use crate::record::Record;

/// The default format: one human-readable line per record.
///
/// ```text
/// 2026-11-23T10:34:21.123+01:00 INFO 4242 app::auth: user logged in user=42 ip="10.0.0.1 (vpn)"
/// ```
///
/// Timestamp (local time with its UTC offset, millisecond precision; or UTC with
/// [`utc(true)`](Self::utc)), level (Python's names), process id, target (left
/// out when empty), message, then `key=value` fields (the record's own, then
/// its [span fields](Record::span_fields)). A value that is empty or
/// contains a space, `"` or `=` is quoted, with `"` written as `\"`. Message,
/// target, keys and values are [escaped](super::escape), so the line never
/// breaks.
///
/// ```
/// use concurrent_log_handler::format::{Formatter, TextFormatter};
/// use concurrent_log_handler::{Level, Record};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let record = Record::new(Level::Info, "user logged in")
///     .with_target("app::auth")
///     .with_field("user", 42)
///     .with_field("ip", "10.0.0.1 (vpn)")
///     .with_timestamp(UNIX_EPOCH + Duration::from_millis(1_795_421_257_042));
/// let mut out = Vec::new();
/// TextFormatter::new().utc(true).format(&record, &mut out);
/// let pid = std::process::id();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     format!("2026-11-23T08:07:37.042Z INFO {pid} app::auth: user logged in user=42 ip=\"10.0.0.1 (vpn)\"\n"),
/// );
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TextFormatter {
    utc: bool,
}

impl TextFormatter {
    /// Local time with UTC offset.
    pub const fn new() -> Self {
        TextFormatter { utc: false }
    }

    /// Write timestamps in UTC (`...Z`) instead of local time.
    #[must_use]
    pub const fn utc(mut self, utc: bool) -> Self {
        self.utc = utc;
        self
    }
}

impl Formatter for TextFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        write_timestamp(record.timestamp(), self.utc, out);
        out.push(b' ');
        out.extend_from_slice(record.level().as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(itoa::Buffer::new().format(record.pid()).as_bytes());
        out.push(b' ');
        if !record.target().is_empty() {
            escape(record.target(), out);
            out.extend_from_slice(b": ");
        }
        escape(record.message(), out);
        // The event's own fields, then those of its spans (outermost first).
        for (key, value) in record.fields().chain(record.span_fields()) {
            out.push(b' ');
            escape(key, out);
            out.push(b'=');
            let Some(value) = value.as_str() else {
                write_plain_value(value, out);
                continue;
            };
            // A byte scan: these are ASCII, so they never sit inside a UTF-8
            // sequence (and `contains` with a char set decodes every char).
            if value.is_empty() || value.bytes().any(|b| matches!(b, b' ' | b'"' | b'=')) {
                out.push(b'"');
                let start = out.len();
                escape(value, out);
                quote_inner(out, start);
                out.push(b'"');
            } else {
                escape(value, out);
            }
        }
        out.push(b'\n');
    }
}

/// Replaces every `"` written since `start` with `\"`.
fn quote_inner(out: &mut Vec<u8>, start: usize) {
    let quotes = out[start..].iter().filter(|&&b| b == b'"').count();
    if quotes == 0 {
        return;
    }
    let tail: Vec<u8> = out.drain(start..).collect();
    out.reserve(tail.len() + quotes);
    for b in tail {
        if b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Level;

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        TextFormatter::new().utc(true).format(record, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    /// The part after the timestamp, level and pid.
    fn body(record: &Record) -> String {
        let l = line(record);
        l.splitn(4, ' ').nth(3).expect("four parts").to_owned()
    }

    #[test]
    fn layout_table() {
        let cases = [
            (Record::new(Level::Info, "hello"), "hello\n"),
            (
                Record::new(Level::Info, "hello").with_target("app"),
                "app: hello\n",
            ),
            (
                Record::new(Level::Info, "m").with_field("k", "v"),
                "m k=v\n",
            ),
            (
                Record::new(Level::Info, "m").with_field("k", ""),
                "m k=\"\"\n",
            ),
            (
                Record::new(Level::Info, "m").with_field("k", "say \"hi\" a=b"),
                "m k=\"say \\\"hi\\\" a=b\"\n",
            ),
            (
                Record::new(Level::Info, "two\nlines").with_field("k\n", "v\r\nw"),
                "two\\nlines k\\n=v\\r\\nw\n",
            ),
            (
                Record::new(Level::Info, "m")
                    .with_span_field("req", 7)
                    .with_field("k", "v"),
                "m k=v req=7\n",
            ),
            (
                Record::new(Level::Info, "m").with_target("evil\ntarget"),
                "evil\\ntarget: m\n",
            ),
        ];
        for (record, want) in cases {
            assert_eq!(body(&record), want);
        }
    }

    #[test]
    fn level_and_pid_follow_the_timestamp() {
        let record = Record::new(Level::Critical, "x");
        let l = line(&record);
        let parts: Vec<&str> = l.splitn(4, ' ').collect();
        assert!(parts[0].ends_with('Z'));
        assert_eq!(parts[1], "CRITICAL");
        assert_eq!(parts[2], std::process::id().to_string());
    }

    #[test]
    fn numbers_and_booleans_are_written_bare() {
        let record = Record::new(Level::Info, "m")
            .with_field("n", -7)
            .with_field("u", u64::MAX)
            .with_field("x", 0.25)
            .with_field("ok", true)
            .with_field("s", "7");
        assert_eq!(
            body(&record),
            format!("m n=-7 u={} x=0.25 ok=true s=7\n", u64::MAX)
        );
    }
}
