//! Format strings taken apart once, when a formatter is set: literal text
//! and fields, for `%`-style (`%(name)-8s`) and `{`-style (`{name:<8}`).
//! A string this module cannot take apart exactly as Python reads it gives
//! `None`, and the handler calls the formatter in Python instead.

use super::spec::{PercentSpec, parse_percent};

/// One piece of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text copied as it is.
    Text(String),
    /// A field: the record attribute `name`, and how to render it.
    Field { name: String, how: How },
}

/// How a field's value becomes text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum How {
    /// A `%` conversion; `native` is `None` when only Python can do it
    /// (`%x`, `%e`, `%#o`, …), and `text` is the conversion itself
    /// (`%-8s`), for Python.
    Percent {
        native: Option<PercentSpec>,
        text: String,
    },
    /// A `{}` field: `!r`/`!s`/`!a`, then `format(value, spec)`.
    Brace {
        conversion: Option<char>,
        spec: String,
    },
}

/// `%`-style: `%(name)spec` fields and `%%`; `None` for a positional
/// conversion (`%s` without a name) or a spec this module does not parse.
pub(crate) fn parse_percent_style(fmt: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = fmt;
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            text.push('%');
            rest = after;
            continue;
        }
        let inner = rest.strip_prefix('(')?;
        // Python allows nested parentheses in the key.
        let mut depth = 1;
        let mut end = None;
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end?;
        let name = &inner[..end];
        let after = &inner[end + 1..];
        let (spec, used, conversion) = parse_percent(after)?;
        let native = match spec.conversion {
            's' | 'r' | 'a' | 'd' | 'i' | 'u' | 'f' | 'F' => Some(spec),
            'x' | 'X' | 'o' | 'e' | 'E' | 'g' | 'G' | 'c' | '#' => None,
            _ => return None,
        };
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(Part::Field {
            name: name.to_owned(),
            how: How::Percent {
                native,
                text: conversion,
            },
        });
        rest = &after[used..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Some(parts)
}

/// `{`-style: `{name}`, `{name!r}`, `{name:spec}` and the `{{` `}}`
/// escapes; `None` for positional or dotted fields, nested fields in a
/// spec, or an unmatched brace.
pub(crate) fn parse_brace_style(fmt: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '}' => return None,
            '{' => {
                let body_start = i + 1;
                let close = fmt[body_start..].find('}')? + body_start;
                let body = &fmt[body_start..close];
                if body.contains('{') {
                    return None;
                }
                let (head, spec) = match body.find(':') {
                    Some(colon) => (&body[..colon], &body[colon + 1..]),
                    None => (body, ""),
                };
                let (name, conversion) = match head.find('!') {
                    Some(bang) => {
                        let conv = &head[bang + 1..];
                        let mut conv_chars = conv.chars();
                        let c = conv_chars.next()?;
                        if conv_chars.next().is_some() || !matches!(c, 'r' | 's' | 'a') {
                            return None;
                        }
                        (&head[..bang], Some(c))
                    }
                    None => (head, None),
                };
                if !is_identifier(name) {
                    return None;
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Field {
                    name: name.to_owned(),
                    how: How::Brace {
                        conversion,
                        spec: spec.to_owned(),
                    },
                });
                while chars.peek().is_some_and(|&(j, _)| j <= close) {
                    chars.next();
                }
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Some(parts)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, how: How) -> Part {
        Part::Field {
            name: name.into(),
            how,
        }
    }

    #[test]
    fn percent_style_takes_fields_escapes_and_refuses_positionals() {
        let parts = parse_percent_style("%(asctime)s %% %(levelname)-8s").expect("parsed");
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], Part::Text(" % ".into()));
        assert!(matches!(&parts[2], Part::Field { name, .. } if name == "levelname"));
        assert_eq!(parse_percent_style("%s"), None);
        assert_eq!(parse_percent_style("%(a)*d"), None);
    }

    #[test]
    fn brace_style_takes_conversions_and_specs() {
        let parts = parse_brace_style("{{x}} {name!r:>10}").expect("parsed");
        assert_eq!(parts[0], Part::Text("{x} ".into()));
        assert_eq!(
            parts[1],
            field(
                "name",
                How::Brace {
                    conversion: Some('r'),
                    spec: ">10".into()
                }
            )
        );
        assert_eq!(parse_brace_style("{0}"), None);
        assert_eq!(parse_brace_style("{a.b}"), None);
        assert_eq!(parse_brace_style("x}"), None);
    }
}
