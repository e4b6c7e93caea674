//! One `%`-style conversion (`%-8s`, `%03d`, `%.3f`) rendered natively, as
//! CPython's `str % mapping` renders it, for the values it can take without
//! Python: `str`, `int` and `float`. Anything else is left to Python.

/// The parts of a `%` conversion this module renders: flags, width,
/// precision and one of `s r a d i u f F`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PercentSpec {
    pub(crate) left: bool,
    pub(crate) zero: bool,
    pub(crate) plus: bool,
    pub(crate) space: bool,
    pub(crate) width: usize,
    pub(crate) precision: Option<usize>,
    pub(crate) conversion: char,
}

impl PercentSpec {
    /// Whether the conversion writes its value as plain text with nothing
    /// around it (`%s`, `%d`).
    pub(crate) fn is_plain(&self) -> bool {
        !(self.left || self.zero || self.plus || self.space)
            && self.width == 0
            && self.precision.is_none()
    }

    /// Appends `text` (already `str()`, `repr()` or `ascii()` of the value)
    /// truncated to the precision and padded to the width, in code points.
    pub(crate) fn push_text(&self, text: &str, out: &mut String) {
        let text = match self.precision {
            Some(p) => match text.char_indices().nth(p) {
                Some((end, _)) => &text[..end],
                None => text,
            },
            None => text,
        };
        let len = text.chars().count();
        let pad = self.width.saturating_sub(len);
        if !self.left {
            push_repeated(out, ' ', pad);
        }
        out.push_str(text);
        if self.left {
            push_repeated(out, ' ', pad);
        }
    }

    /// Appends an integer under `%d`.
    pub(crate) fn push_int(&self, value: i64, out: &mut String) {
        let mut digits = itoa_buffer(value.unsigned_abs());
        if let Some(p) = self.precision {
            while digits.len() < p {
                digits.insert(0, '0');
            }
        }
        self.push_number(value < 0, &digits, out);
    }

    /// Appends a finite float under `%f` (`false` for a value it leaves to
    /// Python: infinities and NaN).
    pub(crate) fn push_float(&self, value: f64, out: &mut String) -> bool {
        if !value.is_finite() {
            return false;
        }
        let precision = self.precision.unwrap_or(6);
        let digits = format!("{:.*}", precision, value.abs());
        self.push_number(value.is_sign_negative(), &digits, out);
        true
    }

    /// Sign, padding and digits, as `printf` places them.
    fn push_number(&self, negative: bool, digits: &str, out: &mut String) {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let len = sign.len() + digits.len();
        let pad = self.width.saturating_sub(len);
        if self.left {
            out.push_str(sign);
            out.push_str(digits);
            push_repeated(out, ' ', pad);
        } else if self.zero {
            out.push_str(sign);
            push_repeated(out, '0', pad);
            out.push_str(digits);
        } else {
            push_repeated(out, ' ', pad);
            out.push_str(sign);
            out.push_str(digits);
        }
    }
}

fn push_repeated(out: &mut String, c: char, n: usize) {
    out.extend(std::iter::repeat_n(c, n));
}

fn itoa_buffer(n: u64) -> String {
    n.to_string()
}

/// Parses the part of a `%` conversion after `%(key)`: flags, width,
/// precision, an ignored length modifier, and the conversion character.
/// Returns the spec and the bytes consumed; `None` for what this module
/// does not take (`*` widths, a missing conversion).
pub(crate) fn parse_percent(rest: &str) -> Option<(PercentSpec, usize, String)> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut spec = PercentSpec {
        left: false,
        zero: false,
        plus: false,
        space: false,
        width: 0,
        precision: None,
        conversion: 's',
    };
    let mut alternate = false;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => spec.left = true,
            b'0' => spec.zero = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => alternate = true,
            _ => break,
        }
        i += 1;
    }
    let start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i > start {
        spec.width = rest[start..i].parse().ok()?;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        spec.precision = Some(if i > start {
            rest[start..i].parse().ok()?
        } else {
            0
        });
    }
    while matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
        i += 1;
    }
    let conversion = *bytes.get(i)?;
    if !conversion.is_ascii_alphabetic() {
        return None;
    }
    i += 1;
    spec.conversion = conversion as char;
    let text = format!("%{}", &rest[..i]);
    // `#` changes only what this module leaves to Python (`%#x`, `%#o`,
    // `%#.0f`): keep the spec, but mark it as not native.
    if alternate {
        spec.conversion = '#';
    }
    Some((spec, i, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_int(spec: &str, value: i64) -> String {
        let (spec, _, _) = parse_percent(spec).expect("spec");
        let mut out = String::new();
        spec.push_int(value, &mut out);
        out
    }

    #[test]
    fn integers_pad_like_printf() {
        assert_eq!(render_int("03d", 7), "007");
        assert_eq!(render_int("-5d", -7), "-7   ");
        assert_eq!(render_int("+05d", 7), "+0007");
        assert_eq!(render_int(" d", 7), " 7");
        assert_eq!(render_int(".3d", -7), "-007");
    }
}
