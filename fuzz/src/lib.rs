//! What the fuzz targets share: inputs read from the fuzzer's bytes, the
//! inverse of the crate's `escape`, and the RFC 5424 checker of the
//! integration tests.

use std::time::{Duration, UNIX_EPOCH};

use concurrent_log_handler::config::HandlerConfig;
use concurrent_log_handler::{ErrorKind, Level, Record, Value};

/// The integration tests' strict RFC 5424 checker, the same file.
#[path = "../../tests/it/rfc5424.rs"]
pub mod rfc5424;

/// The fuzzer's bytes cut at every 0xFF (a byte UTF-8 never holds), each
/// piece as text (other bytes that are not UTF-8 become U+FFFD), so that
/// the seed files stay readable: `info\xffapp::db\xff\x02`.
pub fn parts(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == 0xff)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

/// A field value from one piece: `i`, `u`, `f` or `b` then the number or
/// `true`/`false` give that type (a float from the text, or `NaN`, `inf`);
/// anything else is text, the whole piece.
pub fn value(part: &str) -> Value {
    let typed = part.get(1..).and_then(|rest| match part.as_bytes()[0] {
        b'i' => rest.parse().ok().map(Value::I64),
        b'u' => rest.parse().ok().map(Value::U64),
        b'f' => rest.parse().ok().map(Value::F64),
        b'b' => rest.parse().ok().map(Value::Bool),
        _ => None,
    });
    typed.unwrap_or_else(|| Value::from(part.to_owned()))
}

/// A record from pieces: level (its first byte), message, target, then
/// `key`, `value` pairs; a piece `{name` opens a span, whose fields follow
/// until a piece `}`. The time is `millis` from the epoch.
pub fn record(pieces: &[String], millis: i64) -> Record {
    let get = |i: usize| pieces.get(i).cloned().unwrap_or_default();
    let level = get(0).bytes().next().unwrap_or(0);
    let level = Level::ALL[usize::from(level) % Level::ALL.len()];
    let span = Duration::from_millis(millis.unsigned_abs());
    let at = if millis < 0 {
        UNIX_EPOCH.checked_sub(span)
    } else {
        UNIX_EPOCH.checked_add(span)
    };
    let mut record = Record::new(level, get(1)).with_target(get(2));
    if let Some(at) = at {
        record = record.with_timestamp(at);
    }
    let mut span: Option<(String, Vec<(String, Value)>)> = None;
    let mut rest = pieces.iter().skip(3);
    while let Some(piece) = rest.next() {
        if let Some(name) = piece.strip_prefix('{') {
            if let Some((name, fields)) = span.take() {
                record = record.with_span(name, fields);
            }
            span = Some((name.to_owned(), Vec::new()));
        } else if piece == "}" {
            if let Some((name, fields)) = span.take() {
                record = record.with_span(name, fields);
            }
        } else {
            let value = value(rest.next().map_or("", String::as_str));
            match &mut span {
                Some((_, fields)) => fields.push((piece.clone(), value)),
                None => record = record.with_field(piece.clone(), value),
            }
        }
    }
    if let Some((name, fields)) = span {
        record = record.with_span(name, fields);
    }
    record
}

/// Whether `c` may not appear inside a line: a control character or a
/// line or paragraph separator.
pub fn breaks_a_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Undoes the crate's `escape` (`\n`, `\r`, `\t`, `\\`, `\xNN`, `\u{…}`);
/// `None` for a malformed escape, which `escape` never writes.
pub fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '\\' => out.push('\\'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A config read from a file: `InvalidConfig` if refused; if read, its
/// `Debug`, and the checks the builders make (which open nothing: building
/// would create files wherever the input says) give a builder or
/// `InvalidConfig`.
pub fn check_config(parsed: concurrent_log_handler::Result<HandlerConfig>) {
    let config = match parsed {
        Ok(config) => config,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
            return;
        }
    };
    let _ = format!("{config:?}");
    if let Err(e) = config.nonblocking_builder() {
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    }
    if let Err(e) = config.async_builder() {
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    }
}
