//! The default text line.

use super::escape::{escape, push_hex_escape};
use super::switches::{Switches, switch_setters};
#[cfg(doc)]
use super::timestamp::TimestampFormat;
use super::{Formatter, write_plain_value};
use crate::record::{Record, Value};

/// The default format: one human-readable line per record.
///
/// ```text
/// 2026-11-23T10:34:21.123+01:00 INFO 4242 request{id=7}: app::auth: user logged in user=42 ip="10.0.0.1 (vpn)"
/// ```
///
/// Timestamp (local time with its UTC offset, millisecond precision; UTC
/// with [`utc(true)`](Self::utc); another [`timestamp`](Self::timestamp)
/// format or none), level (Python's names), process id
/// ([`pid(false)`](Self::pid) leaves it out), the [spans](Record::spans) the
/// event happened in as `tracing_subscriber::fmt()` writes them
/// (`outer{a=1}:inner{b=2}: `), target ([`target(false)`](Self::target)
/// leaves it out; so does an empty one), message, then the record's
/// `key=value` fields. A text value that is empty or contains a space, `"`,
/// `=`, `{` or `}` is quoted, with `"` written as `\"`; numbers and
/// booleans are written bare. Message, target, names, keys and values are
/// [escaped](super::escape()), so the line never breaks; in a key, `=`,
/// space, `"`, `{` and `}` are also written as `\x3d`, `\x20`, `\x22`,
/// `\x7b` and `\x7d`, so the first `=` after a key always starts its value.
///
/// ```
/// use concurrent_log_handler::format::{Formatter, TextFormatter};
/// use concurrent_log_handler::{Level, Record};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let record = Record::new(Level::Info, "user logged in")
///     .with_target("app::auth")
///     .with_span("request", [("id", 7)])
///     .with_field("user", 42)
///     .with_field("ip", "10.0.0.1 (vpn)")
///     .with_timestamp(UNIX_EPOCH + Duration::from_millis(1_795_421_257_042));
/// let mut out = Vec::new();
/// TextFormatter::new().utc(true).format(&record, &mut out);
/// let pid = std::process::id();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     format!("2026-11-23T08:07:37.042Z INFO {pid} request{{id=7}}: app::auth: user logged in user=42 ip=\"10.0.0.1 (vpn)\"\n"),
/// );
///
/// let mut out = Vec::new();
/// TextFormatter::new().pid(false).target(false).timestamp(Default::default()).utc(true)
///     .format(&Record::new(Level::Warn, "lean"), &mut out);
/// assert!(String::from_utf8(out).unwrap().ends_with("Z WARNING lean\n"));
/// ```
#[derive(Debug, Clone)]
pub struct TextFormatter {
    switches: Switches,
}

impl Default for TextFormatter {
    fn default() -> Self {
        TextFormatter::new()
    }
}

impl TextFormatter {
    /// Local time with UTC offset, RFC 3339 with milliseconds, with pid and
    /// target.
    pub const fn new() -> Self {
        TextFormatter {
            switches: Switches::DEFAULT,
        }
    }

    switch_setters!(
        pid: "Write the process id after the level (the default), or not.",
        target: "Write the target before the message (the default), or not.",
        timestamp: "How the time is written: RFC 3339 with milliseconds (the default), a \
            strftime pattern ([`TimestampFormat::strftime`]), or not at all."
    );
}

impl Formatter for TextFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let switches = &self.switches;
        if switches
            .timestamp
            .write(record.timestamp(), switches.utc, out)
        {
            out.push(b' ');
        }
        out.extend_from_slice(record.level().as_str().as_bytes());
        out.push(b' ');
        if switches.pid {
            out.extend_from_slice(itoa::Buffer::new().format(record.pid()).as_bytes());
            out.push(b' ');
        }
        // The spans, as fmt() writes them: `outer{a=1}:inner: `.
        let mut spans = record.spans().peekable();
        if spans.peek().is_some() {
            for (i, span) in spans.enumerate() {
                if i > 0 {
                    out.push(b':');
                }
                escape(span.name(), out);
                let mut fields = span.fields().peekable();
                if fields.peek().is_some() {
                    out.push(b'{');
                    for (j, (key, value)) in fields.enumerate() {
                        if j > 0 {
                            out.push(b' ');
                        }
                        write_field(key, value, out);
                    }
                    out.push(b'}');
                }
            }
            out.extend_from_slice(b": ");
        }
        if switches.target && !record.target().is_empty() {
            escape(record.target(), out);
            out.extend_from_slice(b": ");
        }
        escape(record.message(), out);
        for (key, value) in record.fields() {
            out.push(b' ');
            write_field(key, value, out);
        }
        out.push(b'\n');
    }
}

/// `key=value`, the value quoted when it needs to be.
fn write_field(key: &str, value: &Value, out: &mut Vec<u8>) {
    write_key(key, out);
    out.push(b'=');
    let Some(value) = value.as_str() else {
        write_plain_value(value, out);
        return;
    };
    // A byte scan: these are ASCII, so they never sit inside a UTF-8
    // sequence (and `contains` with a char set decodes every char).
    if value.is_empty()
        || value
            .bytes()
            .any(|b| matches!(b, b' ' | b'"' | b'=' | b'{' | b'}'))
    {
        out.push(b'"');
        let start = out.len();
        escape(value, out);
        quote_inner(out, start);
        out.push(b'"');
    } else {
        escape(value, out);
    }
}

/// A field's key, [escaped](escape), with the characters that would end a
/// key or a field early (`=`, space, `"`, `{`, `}`) written as `\x3d`,
/// `\x20`, `\x22`, `\x7b`, `\x7d`: the first `=` after a key is always the
/// one before its value.
fn write_key(key: &str, out: &mut Vec<u8>) {
    let start = out.len();
    escape(key, out);
    if !out[start..].iter().any(|&b| ends_a_key(b)) {
        return;
    }
    let escaped = out.split_off(start);
    for b in escaped {
        if ends_a_key(b) {
            push_hex_escape(b, out);
        } else {
            out.push(b);
        }
    }
}

fn ends_a_key(b: u8) -> bool {
    matches!(b, b'=' | b' ' | b'"' | b'{' | b'}')
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
                    .with_span("req", [("id", 7)])
                    .with_span("db", [("table", "a b")])
                    .with_span("bare", Vec::<(&str, i64)>::new())
                    .with_field("k", "v"),
                "req{id=7}:db{table=\"a b\"}:bare: m k=v\n",
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
