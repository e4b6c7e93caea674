//! The text, JSON and RFC 5424 formatters on any record: each writes one
//! line of UTF-8 without a raw control character or line separator; the
//! JSON line parses back to the record's text and values; the syslog
//! message passes the strict RFC 5424 checker and its MSG and PARAM-VALUEs
//! unescape to the record's text; never a panic.
#![no_main]

use std::collections::BTreeMap;

use concurrent_log_handler::format::{
    Facility, Formatter, JsonFormatter, SyslogFormatter, TextFormatter, escape,
};
use concurrent_log_handler::{Record, Value};
use concurrent_log_handler_fuzz::{breaks_a_line, parts, record, rfc5424, unescape};
use libfuzzer_sys::fuzz_target;

/// The formatters' settings, from the first pieces of the input:
/// `flags facility 0xFF sd_name 0xFF app_name 0xFF hostname 0xFF msgid
/// 0xFF enterprise_id 0xFF millis 0xFF` and then the record (see
/// `concurrent_log_handler_fuzz::record`).
struct Settings {
    pid: bool,
    target: bool,
    facility: u8,
    sd_name: String,
    app_name: String,
    hostname: String,
    msgid: Option<String>,
    enterprise_id: u32,
}

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let get = |i: usize| parts.get(i).cloned().unwrap_or_default();
    let options = get(0).into_bytes();
    let flags = options.first().copied().unwrap_or(0);
    let settings = Settings {
        pid: flags & 1 != 0,
        target: flags & 2 != 0,
        facility: options.get(1).copied().unwrap_or(0),
        sd_name: get(1),
        app_name: get(2),
        hostname: get(3),
        msgid: (flags & 4 != 0).then(|| get(4)),
        enterprise_id: get(5).parse().unwrap_or(32473),
    };
    let millis = get(6).parse().unwrap_or(1_795_421_257_042);
    let record = record(parts.get(7..).unwrap_or_default(), millis);
    text(&record, &settings);
    json(&record);
    syslog(&record, &settings);
});

/// One line: UTF-8, a single `\n` at its end, nothing that breaks a line.
fn one_line(bytes: Vec<u8>) -> String {
    let line = String::from_utf8(bytes).expect("UTF-8");
    let body = line.strip_suffix('\n').expect("ends its line");
    assert!(!body.contains(breaks_a_line), "{line:?}");
    body.to_owned()
}

fn text(record: &Record, input: &Settings) {
    let mut out = Vec::new();
    TextFormatter::new()
        .utc(true)
        .pid(input.pid)
        .target(input.target)
        .format(record, &mut out);
    let line = one_line(out);
    let mut message = Vec::new();
    escape(record.message(), &mut message);
    let message = String::from_utf8(message).expect("UTF-8");
    assert!(line.contains(&message), "{line:?} lacks {message:?}");
}

/// The value a JSON line holds for `value`.
fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::I64(n) => (*n).into(),
        Value::U64(n) => (*n).into(),
        Value::F64(x) if x.is_finite() => (*x).into(),
        Value::F64(x) => x.to_string().into(),
        Value::Bool(b) => (*b).into(),
        other => other.as_str().unwrap_or_default().into(),
    }
}

/// Fields as a JSON object: the last value of a repeated key.
fn json_object<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> serde_json::Value {
    let map: BTreeMap<&str, serde_json::Value> = fields.map(|(k, v)| (k, json_value(v))).collect();
    serde_json::to_value(map).expect("a map")
}

fn json(record: &Record) {
    let mut out = Vec::new();
    JsonFormatter::new().utc(true).format(record, &mut out);
    let line = one_line(out);
    let parsed: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(parsed["message"], record.message(), "{line}");
    assert_eq!(parsed["target"], record.target(), "{line}");
    assert_eq!(parsed["level"], record.level().as_str(), "{line}");
    assert_eq!(parsed["fields"], json_object(record.fields()), "{line}");
    assert_eq!(parsed["span"], json_object(record.span_fields()), "{line}");
    let spans = parsed["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), record.spans().len(), "{line}");
    for (parsed, span) in spans.iter().zip(record.spans()) {
        assert_eq!(parsed["name"], span.name(), "{line}");
    }
}

fn syslog(record: &Record, input: &Settings) {
    let facilities = [
        Facility::Kern,
        Facility::User,
        Facility::Daemon,
        Facility::Local7,
    ];
    let mut formatter = SyslogFormatter::new()
        .facility(facilities[usize::from(input.facility) % facilities.len()])
        .app_name(&input.app_name)
        .hostname(&input.hostname)
        .sd_name(&input.sd_name)
        .enterprise_id(input.enterprise_id);
    if let Some(msgid) = &input.msgid {
        formatter = formatter.msgid(msgid);
    }
    let mut out = Vec::new();
    formatter.format(record, &mut out);
    let message =
        rfc5424::check(&out).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&out)));
    match &message.msg {
        None => assert!(record.message().is_empty()),
        Some(msg) => assert_eq!(unescape(msg).as_deref(), Some(record.message()), "{msg:?}"),
    }
    let params: Vec<(&str, &Value)> = record.fields().chain(record.span_fields()).collect();
    if params.is_empty() {
        assert!(message.sd.is_empty());
        return;
    }
    let [(_, written)] = &message.sd[..] else {
        panic!("one SD-ELEMENT: {:?}", message.sd);
    };
    assert_eq!(written.len(), params.len());
    for ((_, value), (_, original)) in written.iter().zip(params) {
        if let Some(text) = original.as_str() {
            assert_eq!(unescape(value).as_deref(), Some(text), "{value:?}");
        }
    }
}
