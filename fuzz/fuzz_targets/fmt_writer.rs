//! The tracing fmt writer's treatment of a line (what `EventWriter` logs):
//! any bytes become one line of valid UTF-8; a line with nothing to change
//! is kept byte for byte; a JSON line as `fmt().json()` writes one (by
//! serde_json, which leaves NEL, U+2028 and U+2029 raw) still parses to
//! the same value; never a panic. Input: the bytes a layer writes, or `J`
//! then `name 0xFF text 0xFF …`, an event's fields as JSON.
#![no_main]

use concurrent_log_handler::fuzzing::fmt_writer_line;
use concurrent_log_handler_fuzz::parts;
use libfuzzer_sys::fuzz_target;

/// The line breaks of Python's `str.splitlines`, which the writer escapes.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

fuzz_target!(|data: &[u8]| match data.strip_prefix(b"J") {
    None => {
        let bytes = data.to_vec();
        let line = String::from_utf8(fmt_writer_line(bytes.clone())).expect("UTF-8");
        assert!(!line.contains(is_line_break), "{line:?}");
        if let Ok(original) = std::str::from_utf8(&bytes)
            && !original.contains(is_line_break)
        {
            assert_eq!(line, original, "a line with nothing to escape is kept");
        }
    }
    Some(fields) => {
        let parts = parts(fields);
        let object: serde_json::Map<String, serde_json::Value> = parts
            .chunks(2)
            .map(|pair| {
                let text = pair.get(1).cloned().unwrap_or_default();
                (pair[0].clone(), serde_json::Value::String(text))
            })
            .collect();
        let object = serde_json::Value::Object(object);
        let json = serde_json::to_vec(&object).expect("JSON");
        let line = String::from_utf8(fmt_writer_line(json)).expect("UTF-8");
        assert!(!line.contains(is_line_break), "{line:?}");
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(parsed, object);
    }
});
