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

/// The SD-ID `name@enterprise_id` (RFC 5424 §7.2.2), where `name` is an
/// [`sd_name`] without `@`: the whole SD-ID is an SD-NAME, so `name` is cut
/// to leave room for `@` and the number within 32 characters.
pub(super) fn push_sd_id(name: &str, enterprise_id: u32, out: &mut Vec<u8>) {
    let mut number = itoa::Buffer::new();
    let number = number.format(enterprise_id);
    // At least 21 characters remain for the name: a u32 has at most 10 digits.
    let room = MAX_SD_NAME - 1 - number.len();
    // `name` is ASCII (an SD-NAME), so any byte index is a char boundary.
    out.extend_from_slice(&name.as_bytes()[..name.len().min(room)]);
    out.push(b'@');
    out.extend_from_slice(number.as_bytes());
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
