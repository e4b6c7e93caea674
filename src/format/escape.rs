//! Escaping text so that one record stays one line.

/// Appends `text` to `out`, escaping every character that could break a line or
/// hijack a terminal, so the result never contains a line break.
///
/// | input | written as |
/// |---|---|
/// | `\n`, `\r`, `\t` | `\n`, `\r`, `\t` (two characters) |
/// | `\` | `\\` (so the escaping can be undone unambiguously) |
/// | other ASCII controls and DEL (e.g. ESC, NUL) | `\x1b`, `\x00`, `\x7f` |
/// | C1 controls (e.g. NEL U+0085), U+2028, U+2029 | `\u{85}`, `\u{2028}`, `\u{2029}` |
///
/// Everything else, including all other non-ASCII text, is copied unchanged.
///
/// ```
/// use concurrent_log_handler::format::escape;
///
/// let mut out = Vec::new();
/// escape("ok\nFAKE LINE\x1b[31m\u{2028}é\\", &mut out);
/// assert_eq!(out, "ok\\nFAKE LINE\\x1b[31m\\u{2028}é\\\\".as_bytes());
/// ```
#[inline]
pub fn escape(text: &str, out: &mut Vec<u8>) {
    // Nearly all text has nothing to escape: check it fast, copy it whole.
    // (Inlined, so a record's half-dozen calls skip the slow path's prologue.)
    if is_plain(text.as_bytes()) {
        out.extend_from_slice(text.as_bytes());
    } else {
        escape_special(text, out);
    }
}

/// [`escape`] for text with at least one byte that may need escaping.
#[cold]
#[inline(never)]
fn escape_special(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut copied_up_to = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Fast path: skip bytes that can never need escaping (one table load
        // per byte; escaping was 11 % of a record's cost in the profile).
        if !MAYBE_SPECIAL[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        let special = if b < 0x80 {
            needs_escape_ascii(b).then_some((b as char, 1))
        } else if b == 0xC2 || b == 0xE2 {
            // Only these lead bytes start C1 controls (U+0080..U+009F) and
            // U+2028/U+2029; `i` is a char boundary because `b` is a lead byte.
            text[i..]
                .chars()
                .next()
                .filter(|&c| needs_escape_unicode(c))
                .map(|c| (c, c.len_utf8()))
        } else {
            None
        };
        match special {
            Some((c, len)) => {
                out.extend_from_slice(&bytes[copied_up_to..i]);
                write_escape(c, out);
                i += len;
                copied_up_to = i;
            }
            None => i += 1,
        }
    }
    out.extend_from_slice(&bytes[copied_up_to..]);
}

/// Whether no byte of `bytes` may start something to escape. Text of 8 bytes
/// or more is checked a word (8 bytes) at a time with bit arithmetic, the last
/// word overlapping the one before; shorter text byte by byte. Measured on
/// the fields of a typical record, this beats both the byte loop and 16-byte
/// SIMD steps (whose padded tail costs more than it saves on short strings).
#[inline]
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().all(|&b| !MAYBE_SPECIAL[usize::from(b)]);
    };
    let mut found = special_in_word(word_at(bytes, last));
    let mut at = 0;
    while at < last {
        found |= special_in_word(word_at(bytes, at));
        at += 8;
    }
    found == 0
}

#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Non-zero when a byte of `word` is one of [`MAYBE_SPECIAL`].
#[inline(always)]
fn special_in_word(word: u64) -> u64 {
    // A byte below 0x20 (the high bit test keeps bytes >= 0x80 out).
    let controls = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    controls
        | byte_equal(word, 0x7f)
        | byte_equal(word, b'\\')
        | byte_equal(word, 0xC2)
        | byte_equal(word, 0xE2)
}

/// Non-zero when a byte of `word` equals `b`.
#[inline(always)]
fn byte_equal(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Bytes that may start something to escape: ASCII controls, DEL, `\\`, and
/// the UTF-8 lead bytes of C1 controls (0xC2) and U+2028/U+2029 (0xE2).
static MAYBE_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = needs_escape_ascii(b as u8) || b == 0xC2 || b == 0xE2;
        b += 1;
    }
    table
};

const fn needs_escape_ascii(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'\\'
}

fn needs_escape_unicode(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// `b` as `\xNN` (two lowercase hex digits).
pub(super) fn push_hex_escape(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]);
}

fn write_escape(c: char, out: &mut Vec<u8>) {
    match c {
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\\' => out.extend_from_slice(b"\\\\"),
        c if (c as u32) < 0x80 => push_hex_escape(c as u8, out),
        c => {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Makes `line`, text another formatter wrote (`tracing_subscriber::fmt`),
/// one valid UTF-8 line of the log while leaving everything else as that
/// formatter wrote it: its own escapes, quotes, backslashes and colours are
/// kept byte for byte.
///
/// - Bytes that are not UTF-8 become U+FFFD, as `String::from_utf8_lossy`
///   replaces them (the log's lines are always valid UTF-8).
/// - Each raw line break, as Python's `str.splitlines` counts them (`\n`,
///   `\r`, VT, FF, FS, GS, RS, NEL, U+2028, U+2029), becomes a JSON escape
///   (`\n`, `\r`, `\u000b`, …, `\u2028`): readable in a text line, and
///   decoded back to the original character inside a JSON string, so a
///   `fmt().json()` line stays valid JSON.
///
/// Backslashes are not escaped: that would rewrite the escapes fmt wrote
/// (its `\"` in JSON, its `\x1b` for an ESC in a message).
#[cfg(feature = "tracing")]
pub(crate) fn one_line(line: Vec<u8>) -> Vec<u8> {
    if std::str::from_utf8(&line).is_ok_and(|text| !text.bytes().any(may_start_line_break)) {
        return line; // nearly every line: nothing to change, no copy
    }
    let text = String::from_utf8_lossy(&line);
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut copied_up_to = 0;
    for (at, c) in text.char_indices() {
        let escaped: &[u8] = match c {
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\u{b}' => b"\\u000b",
            '\u{c}' => b"\\u000c",
            '\u{1c}' => b"\\u001c",
            '\u{1d}' => b"\\u001d",
            '\u{1e}' => b"\\u001e",
            '\u{85}' => b"\\u0085",
            '\u{2028}' => b"\\u2028",
            '\u{2029}' => b"\\u2029",
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[copied_up_to..at]);
        out.extend_from_slice(escaped);
        copied_up_to = at + c.len_utf8();
    }
    out.extend_from_slice(&text.as_bytes()[copied_up_to..]);
    out
}

/// Whether `b` may start a line break of [`one_line`]: an ASCII one, or the
/// lead byte of NEL (0xC2) or of U+2028/U+2029 (0xE2).
#[cfg(feature = "tracing")]
fn may_start_line_break(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e | 0xC2 | 0xE2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        escape(s, &mut out);
        String::from_utf8(out).expect("escape keeps UTF-8 valid")
    }

    #[test]
    fn escapes_table() {
        let cases = [
            ("plain text", "plain text"),
            ("", ""),
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("tab\there", "tab\\there"),
            ("back\\slash", "back\\\\slash"),
            ("nul\0", "nul\\x00"),
            ("\x1b[31mred", "\\x1b[31mred"),
            ("del\x7f", "del\\x7f"),
            ("nel\u{85}x", "nel\\u{85}x"),
            ("ls\u{2028}ps\u{2029}", "ls\\u{2028}ps\\u{2029}"),
            ("héllo wörld ✓ 日本", "héllo wörld ✓ 日本"),
            ("\u{a0}nbsp", "\u{a0}nbsp"),
            ("€ is e2 82 ac", "€ is e2 82 ac"),
        ];
        for (input, want) in cases {
            assert_eq!(esc(input), want, "input {input:?}");
        }
    }

    #[test]
    fn a_special_character_is_found_at_every_position() {
        // The fast check works in words of 8 bytes, the last one overlapping;
        // a character to escape must be caught wherever it falls.
        for len in [1, 7, 8, 9, 15, 16, 17, 24, 40] {
            for at in 0..len {
                for special in ["\n", "\\", "\x7f", "\u{85}", "\u{2028}"] {
                    let mut text = "a".repeat(len);
                    text.replace_range(at..=at, special);
                    let out = esc(&text);
                    assert_eq!(
                        out.len(),
                        text.len() - special.len() + esc(special).len(),
                        "{text:?}"
                    );
                    assert!(out.starts_with(&"a".repeat(at)), "{text:?}");
                }
            }
        }
        for len in [0, 5, 16, 20, 48] {
            let plain = "é".repeat(len) + &"z".repeat(len);
            assert_eq!(esc(&plain), plain);
        }
    }

    #[test]
    fn escaped_output_never_contains_a_line_break() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = esc(&all);
        assert!(!out.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']));
        assert!(!out.chars().any(|c| c.is_control()));
    }
}
