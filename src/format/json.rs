//! The JSON-lines format: one JSON object per line.

use std::io;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::Formatter;
use super::switches::{Switches, switch_setters};
#[cfg(doc)]
use super::timestamp::TimestampFormat;
use crate::record::{Record, Value};

/// One JSON object per line, for log shippers and `jq`.
///
/// ```text
/// {"timestamp":"2026-11-23T08:07:37.042Z","level":"INFO","pid":4242,"target":"app::auth","message":"user logged in","fields":{"user":42},"span":{"request_id":"r-7"}}
/// ```
///
/// - `timestamp`: RFC 3339 with milliseconds, local time with its offset, or
///   UTC with [`utc(true)`](Self::utc) (as [`TextFormatter`](super::TextFormatter)).
/// - `level`: Python's names (`WARNING`, `CRITICAL`, …); `pid`: a number.
/// - `target` and `message`: strings (`target` is `""` when none was set).
/// - `fields`: the record's fields, `span`: the fields of its `tracing` spans,
///   each an object (always present, maybe `{}`) whose values keep their
///   type: numbers and booleans as JSON numbers and booleans, text as
///   strings. When a key occurs twice the last value wins (an inner span's
///   field hides an outer one's).
/// - `spans`: the spans themselves, outermost first, each
///   `{"name": …, "fields": {…}}` (always present, maybe `[]`).
/// - [`pid(false)`](Self::pid), [`target(false)`](Self::target),
///   [`span(false)`](Self::span), [`spans(false)`](Self::spans) and
///   [`TimestampFormat::None`] leave their keys out;
///   [`timestamp`](Self::timestamp) takes a strftime pattern too.
///
/// Strings are escaped by `serde_json`, so every line parses as JSON whatever
/// the input; in addition, the characters some line splitters treat as line
/// breaks (DEL, the C1 controls such as NEL U+0085, U+2028 and U+2029; Python's
/// `str.splitlines` splits on the last three) are written as `\uXXXX`, so a line
/// is one line for every reader.
///
/// ```
/// use concurrent_log_handler::format::{Formatter, JsonFormatter};
/// use concurrent_log_handler::{Level, Record};
///
/// let record = Record::new(Level::Warn, "disk \"full\"\nreally")
///     .with_target("app::disk")
///     .with_field("free", 0)
///     .with_span("request", [("request_id", 7)]);
/// let mut out = Vec::new();
/// JsonFormatter::new().utc(true).format(&record, &mut out);
/// assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
///
/// let line: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(line["level"], "WARNING");
/// assert_eq!(line["message"], "disk \"full\"\nreally");
/// assert_eq!(line["pid"], std::process::id());
/// assert_eq!(line["fields"]["free"], 0); // a number stays a number
/// assert_eq!(line["span"]["request_id"], 7);
/// assert_eq!(line["spans"][0]["name"], "request");
/// assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
///
/// // Only what a shipper needs: no pid, no timestamp, the span list alone.
/// let lean = JsonFormatter::new()
///     .pid(false)
///     .span(false)
///     .timestamp(concurrent_log_handler::format::TimestampFormat::None);
/// let mut out = Vec::new();
/// lean.format(&record, &mut out);
/// let line: serde_json::Value = serde_json::from_slice(&out)?;
/// let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
/// assert_eq!(keys, ["fields", "level", "message", "spans", "target"]); // `Value` sorts keys
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonFormatter {
    switches: Switches,
    span: bool,
    spans: bool,
}

impl Default for JsonFormatter {
    fn default() -> Self {
        JsonFormatter::new()
    }
}

impl JsonFormatter {
    /// Local time with UTC offset, RFC 3339 with milliseconds, with pid and
    /// target.
    pub const fn new() -> Self {
        JsonFormatter {
            switches: Switches::DEFAULT,
            span: true,
            spans: true,
        }
    }

    switch_setters!(
        pid: "Write `\"pid\"` (the default), or not.",
        target: "Write `\"target\"` (the default), or not.",
        timestamp: "How `\"timestamp\"` is written: RFC 3339 with milliseconds (the \
            default), a strftime pattern, or [`TimestampFormat::None`], which leaves the key out."
    );

    /// Write `"span"`, the fields of every span merged into one object (the
    /// default), or not. `tracing-subscriber`'s JSON calls it the current
    /// span.
    #[must_use]
    pub fn span(mut self, span: bool) -> Self {
        self.span = span;
        self
    }

    /// Write `"spans"`, the list of spans with their names (the default),
    /// or not. `tracing-subscriber`'s JSON calls it the span list.
    #[must_use]
    pub fn spans(mut self, spans: bool) -> Self {
        self.spans = spans;
        self
    }
}

impl Formatter for JsonFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let mut timestamp = Vec::with_capacity(32);
        let switches = &self.switches;
        let stamped = switches
            .timestamp
            .write(record.timestamp(), switches.utc, &mut timestamp);
        let line = JsonLine {
            record,
            options: self,
            // jiff writes text; lossy only to be safe.
            timestamp: stamped.then(|| String::from_utf8_lossy(&timestamp).into_owned()),
        };
        let start = out.len();
        let mut serializer = serde_json::Serializer::with_formatter(&mut *out, LineSafe);
        if line.serialize(&mut serializer).is_err() {
            // Unreachable with string keys into a Vec, but never leave half an
            // object behind.
            out.truncate(start);
            out.extend_from_slice(br#"{"message":"record could not be serialized as JSON"}"#);
        }
        out.push(b'\n');
    }
}

/// The object written for one record.
struct JsonLine<'a> {
    record: &'a Record,
    options: &'a JsonFormatter,
    timestamp: Option<String>,
}

impl Serialize for JsonLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.record;
        let mut map = serializer.serialize_map(None)?;
        if let Some(timestamp) = &self.timestamp {
            map.serialize_entry("timestamp", timestamp)?;
        }
        map.serialize_entry("level", record.level().as_str())?;
        if self.options.switches.pid {
            map.serialize_entry("pid", &record.pid())?;
        }
        if self.options.switches.target {
            map.serialize_entry("target", record.target())?;
        }
        map.serialize_entry("message", record.message())?;
        map.serialize_entry("fields", &Fields(record.fields().collect()))?;
        if self.options.span {
            map.serialize_entry("span", &Fields(record.span_fields().collect()))?;
        }
        if self.options.spans {
            map.serialize_entry("spans", &SpanList(record))?;
        }
        map.end()
    }
}

/// The record's spans, outermost first: `[{"name":"request","fields":{…}}]`.
struct SpanList<'a>(&'a Record);

impl Serialize for SpanList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.0.spans().len()))?;
        for span in self.0.spans() {
            list.serialize_element(&SpanObject(span))?;
        }
        list.end()
    }
}

struct SpanObject<'a>(crate::record::Span<'a>);

impl Serialize for SpanObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", self.0.name())?;
        map.serialize_entry("fields", &Fields(self.0.fields().collect()))?;
        map.end()
    }
}

/// Key-value pairs as an object; of repeated keys only the last is written, so
/// that every reader sees the same value.
struct Fields<'a>(Vec<(&'a str, &'a Value)>);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = &self.0;
        let mut map = serializer.serialize_map(None)?;
        for (i, (key, value)) in fields.iter().enumerate() {
            // Quadratic, but records carry a handful of fields.
            if fields[i + 1..].iter().any(|(later, _)| later == key) {
                continue;
            }
            map.serialize_entry(key, &Typed(value))?;
        }
        map.end()
    }
}

/// A field's value as itself: a JSON number, boolean or string. A float
/// JSON cannot hold (NaN, infinities) is written as its text.
struct Typed<'a>(&'a Value);

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::I64(n) => serializer.serialize_i64(*n),
            Value::U64(n) => serializer.serialize_u64(*n),
            Value::F64(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Str(text) => serializer.serialize_str(text),
            other => serializer.collect_str(other),
        }
    }
}

/// serde_json's compact output, with the characters that some readers take for
/// line breaks (or that terminals act on) inside strings escaped as `\uXXXX`.
struct LineSafe;

impl serde_json::ser::Formatter for LineSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut copied_up_to = 0;
        for (i, c) in fragment.char_indices() {
            if matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}') {
                writer.write_all(&fragment.as_bytes()[copied_up_to..i])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                copied_up_to = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[copied_up_to..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Level;

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        JsonFormatter::new().utc(true).format(record, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn line_breaking_characters_are_escaped() {
        let l = line(&Record::new(Level::Info, "a\u{2028}b\u{85}c\u{7f}d\ne\x1b"));
        assert!(l.contains(r#""a\u2028b\u0085c\u007fd\ne\u001b""#), "{l}");
        assert_eq!(l.lines().count(), 1);
    }

    #[test]
    fn field_values_keep_their_type() {
        let l = line(
            &Record::new(Level::Info, "m")
                .with_field("i", -3)
                .with_field("u", u64::MAX)
                .with_field("x", 1.5)
                .with_field("nan", f64::NAN)
                .with_field("ok", true)
                .with_field("s", "42"),
        );
        let want = format!(
            r#""fields":{{"i":-3,"u":{},"x":1.5,"nan":"NaN","ok":true,"s":"42"}}"#,
            u64::MAX
        );
        assert!(l.contains(&want), "{l}");
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let l = line(
            &Record::new(Level::Info, "m")
                .with_span("outer", [("id", 1)])
                .with_span("inner", [("id", 2)]),
        );
        assert!(l.contains(r#""span":{"id":2}"#), "{l}");
    }
}
