//! `JsonFormatter`: every line parses back to exactly what was logged, whatever
//! the input.

use std::collections::BTreeMap;

use concurrent_log_handler::format::{Formatter, JsonFormatter};
use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};

use crate::util::{TempLog, all_lines};

/// Strings that break naive JSON or line-oriented readers.
fn hostile() -> Vec<String> {
    let all_ascii: String = (0u8..128).map(char::from).collect();
    vec![
        String::new(),
        "plain".into(),
        "two\nlines".into(),
        "carriage\rreturn\r\n".into(),
        "nul\0byte".into(),
        "\x1b[31mred\x1b[0m ansi".into(),
        "\"quoted\" and 'single'".into(),
        "back\\slash \\n not a newline \\u0000".into(),
        "line\u{2028}separator\u{2029}paragraph\u{85}nel\u{7f}del\u{9f}".into(),
        "unicode é 中文 🦀 \u{feff}bom".into(),
        "}{\"level\":\"CRITICAL\",\"message\":\"forged\"}\n{".into(),
        "tab\tvertical\u{b}feed\u{c}".into(),
        all_ascii,
        "x".repeat(1 << 20),
    ]
}

fn fields_of(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| {
            // Numbers stay numbers: compare them as their text.
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (k.clone(), text)
        })
        .collect()
}

#[test]
fn every_hostile_string_round_trips_through_one_json_line() {
    let formatter = JsonFormatter::new().utc(true);
    for (i, text) in hostile().iter().enumerate() {
        let record = Record::new(Level::Warn, text.clone())
            .with_target(text.clone())
            .with_field(format!("key{i}{text}"), text)
            .with_span("job", [("span", text.clone())]);
        let mut out = Vec::new();
        formatter.format(&record, &mut out);
        let line = String::from_utf8(out).expect("UTF-8");
        // One line for Rust, for `\r`-splitting readers and for Python's
        // `str.splitlines` (which also splits on U+2028, U+2029, NEL, …).
        assert!(line.ends_with('\n'));
        let body = &line[..line.len() - 1];
        assert!(
            !body.contains(|c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
            "case {i}: a raw control or separator in {body:.200}"
        );
        let parsed: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("case {i}: not JSON ({e}): {body:.200}"));
        assert_eq!(parsed["message"], text.as_str(), "case {i}");
        assert_eq!(parsed["target"], text.as_str(), "case {i}");
        assert_eq!(parsed["level"], "WARNING");
        assert_eq!(parsed["pid"], std::process::id());
        let fields = fields_of(&parsed["fields"]);
        assert_eq!(fields.get(&format!("key{i}{text}")), Some(text), "case {i}");
        assert_eq!(fields_of(&parsed["span"])["span"], *text, "case {i}");
    }
}

#[test]
fn a_json_log_written_by_a_handler_parses_line_by_line() {
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .formatter(JsonFormatter::new())
        .build()
        .expect("build");
    let inputs = hostile();
    for (seq, text) in inputs.iter().enumerate() {
        handler.emit(
            Record::new(Level::Info, text.clone())
                .with_target("it::json")
                .with_field("seq", seq)
                .with_field("text", text),
        )
    }
    drop(guard);
    let lines = all_lines(&log.path);
    assert_eq!(lines.len(), inputs.len());
    for (seq, (line, text)) in lines.iter().zip(&inputs).enumerate() {
        let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(parsed["message"], text.as_str());
        let fields = fields_of(&parsed["fields"]);
        assert_eq!(fields["seq"], seq.to_string());
        assert!(parsed["fields"]["seq"].is_u64(), "a number stays a number");
        assert_eq!(fields["text"], *text);
        // Local time carries its offset: RFC 3339 either way.
        let ts = parsed["timestamp"].as_str().expect("timestamp");
        assert!(ts.len() >= 24 && ts.as_bytes()[10] == b'T', "{ts}");
        assert!(
            ts.ends_with('Z') || ts[23..].starts_with(['+', '-']),
            "{ts}"
        );
    }
}

#[test]
fn fields_and_span_are_always_objects() {
    let mut out = Vec::new();
    JsonFormatter::new()
        .utc(true)
        .format(&Record::new(Level::Critical, "bare"), &mut out);
    let parsed: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(parsed["fields"], serde_json::json!({}));
    assert_eq!(parsed["span"], serde_json::json!({}));
    assert_eq!(parsed["target"], "");
    assert_eq!(parsed["level"], "CRITICAL");
    assert!(parsed["timestamp"].as_str().expect("ts").ends_with('Z'));
}
