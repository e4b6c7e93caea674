//! What each part of a message may hold: header fields, SD-NAMEs and
//! PARAM-VALUEs brought to RFC 5424's rules (printable US-ASCII, length
//! limits, the NILVALUE, backslash escapes).

use crate::format::escape::escape;

/// RFC 5424 §6.1: the longest HOSTNAME, APP-NAME, PROCID and MSGID.
pub(super) const MAX_HOSTNAME: usize = 255;
pub(super) const MAX_APP_NAME: usize = 48;
pub(super) const MAX_MSGID: usize = 32;
/// RFC 5424 §6.3.2/§6.3.3: SD-NAME is 1 to 32 characters.
const MAX_SD_NAME: usize = 32;
/// What a header field is when it has no value (RFC 5424 §6: NILVALUE).
pub(super) const NIL: &[u8] = b"-";

/// `text` as a header field: printable US-ASCII, at most `max` bytes, `-` if empty.
pub(super) fn header_field(text: &str, max: usize) -> String {
    let mut out = Vec::new();
    push_header_field(text, max, &mut out);
    // Only printable ASCII was written.
    String::from_utf8(out).unwrap_or_else(|_| "-".to_owned())
}

pub(super) fn push_header_field(text: &str, max: usize, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.extend_from_slice(NIL);
        return;
    }
    // One byte per char: a non-ASCII char becomes one `_`, so the length
    // limit counts characters the reader sees.
    out.extend(text.chars().take(max).map(|c| match c {
        '!'..='~' => c as u8,
        _ => b'_',
    }));
}

/// An SD-NAME (RFC 5424 §6.3.3): 1 to 32 printable US-ASCII characters but
/// `=`, space, `]` and `"`; anything else becomes `_`, and an empty name `_`.
pub(super) fn sd_name(text: &str, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.push(b'_');
        return;
    }
    out.extend(text.chars().take(MAX_SD_NAME).map(|c| match c {
        '=' | ']' | '"' => b'_',
        '!'..='~' => c as u8,
        _ => b'_',
    }));
}

/// A PARAM-VALUE: [`escape`]d for one-line safety, then `"`, `\` and `]`
/// escaped with a backslash as RFC 5424 §6.3.3 requires.
pub(super) fn param_value(value: &str, out: &mut Vec<u8>) {
    let start = out.len();
    escape(value, out);
    if !out[start..]
        .iter()
        .any(|b| matches!(b, b'"' | b'\\' | b']'))
    {
        return;
    }
    let escaped = out.split_off(start);
    for b in escaped {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
}
