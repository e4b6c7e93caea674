//! A strict checker of RFC 5424 messages (§6, ABNF), for what
//! `SyslogFormatter` writes: the integration tests run it on hostile
//! records, and the fuzz target `syslog_formatter` on arbitrary ones (it
//! includes this file).
//!
//! Beyond the ABNF it holds the crate's own promises: the message is valid
//! UTF-8 with no control character or line separator anywhere, MSG does
//! not begin with a byte order mark, and a backslash in a PARAM-VALUE
//! always escapes `"`, `\` or `]` (the RFC lets a lone one stand; the
//! formatter never writes one).

/// A message taken apart; PARAM-VALUEs with RFC 5424's escaping undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub pri: u8,
    pub timestamp: String,
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
    pub msgid: String,
    pub sd: Vec<Element>,
    pub msg: Option<String>,
}

/// One SD-ELEMENT: `(SD-ID, [(PARAM-NAME, PARAM-VALUE)])`.
pub type Element = (String, Vec<(String, String)>);

/// The longest HOSTNAME, APP-NAME, PROCID, MSGID and SD-NAME (§6).
const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;
const MAX_PROCID: usize = 128;
const MAX_MSGID: usize = 32;
const MAX_SD_NAME: usize = 32;

/// Checks `bytes` as one RFC 5424 message (without transport framing) and
/// takes it apart; `Err` says what is wrong and where.
pub fn check(bytes: &[u8]) -> Result<Message, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(format!("raw {c:?} in the message"));
    }
    let mut rest = text;
    let pri = pri(&mut rest)?;
    expect(&mut rest, "1 ", "VERSION 1 and SP")?;
    let timestamp = field(&mut rest, usize::MAX, "TIMESTAMP")?;
    if timestamp != "-" {
        check_timestamp(&timestamp)?;
    }
    let hostname = field(&mut rest, MAX_HOSTNAME, "HOSTNAME")?;
    let app_name = field(&mut rest, MAX_APP_NAME, "APP-NAME")?;
    let procid = field(&mut rest, MAX_PROCID, "PROCID")?;
    let msgid = field(&mut rest, MAX_MSGID, "MSGID")?;
    let sd = structured_data(&mut rest)?;
    let msg = match rest {
        "" => None,
        _ => {
            let msg = rest
                .strip_prefix(' ')
                .ok_or_else(|| format!("no SP before MSG: {rest:?}"))?;
            if msg.starts_with('\u{feff}') {
                return Err("MSG begins with a byte order mark".into());
            }
            Some(msg.to_owned())
        }
    };
    Ok(Message {
        pri,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        sd,
        msg,
    })
}

fn expect(rest: &mut &str, want: &str, what: &str) -> Result<(), String> {
    *rest = rest
        .strip_prefix(want)
        .ok_or_else(|| format!("expected {what} at {rest:?}"))?;
    Ok(())
}

/// `<PRIVAL>`: 1 to 3 digits, 0 to 191, no leading zero but `<0>`.
fn pri(rest: &mut &str) -> Result<u8, String> {
    expect(rest, "<", "<")?;
    let (digits, after) = rest
        .split_once('>')
        .ok_or_else(|| format!("no > after PRI in {rest:?}"))?;
    let ok = (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let value: u16 = digits.parse().map_err(|_| format!("PRI {digits:?}"))?;
    if !ok || value > 191 {
        return Err(format!("PRI {digits:?}"));
    }
    *rest = after;
    Ok(value as u8)
}

/// A header field: NILVALUE or 1 to `max` PRINTUSASCII, then SP.
fn field(rest: &mut &str, max: usize, what: &str) -> Result<String, String> {
    let (value, after) = rest
        .split_once(' ')
        .ok_or_else(|| format!("{what}: no SP after it in {rest:?}"))?;
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(format!("{what} {value:?}: 1 to {max} printable US-ASCII"));
    }
    *rest = after;
    Ok(value.to_owned())
}

/// FULL-DATE "T" FULL-TIME, with the digits' ranges checked.
fn check_timestamp(ts: &str) -> Result<(), String> {
    let bad = || format!("TIMESTAMP {ts:?}");
    let b = ts.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = ts.get(range).ok_or_else(bad)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    digits(0..4)?;
    let (month, day) = (digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut at = 19;
    if b[at] == b'.' {
        let end = (at + 1..b.len())
            .find(|&i| !b[i].is_ascii_digit())
            .ok_or_else(bad)?;
        if !(1..=6).contains(&(end - at - 1)) {
            return Err(bad());
        }
        at = end;
    }
    match &ts[at..] {
        "Z" => Ok(()),
        offset if offset.len() == 6 && matches!(b[at], b'+' | b'-') && b[at + 3] == b':' => {
            let (h, m) = (digits(at + 1..at + 3)?, digits(at + 4..at + 6)?);
            if h > 23 || m > 59 { Err(bad()) } else { Ok(()) }
        }
        _ => Err(bad()),
    }
}

/// An SD-NAME: 1 to 32 PRINTUSASCII except `=`, SP, `]` and `"`.
fn sd_name(rest: &mut &str, what: &str) -> Result<String, String> {
    let end = rest
        .find(|c: char| !c.is_ascii_graphic() || matches!(c, '=' | ']' | '"'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() || name.len() > MAX_SD_NAME {
        return Err(format!(
            "{what} {name:?}: 1 to {MAX_SD_NAME} characters, at {rest:?}"
        ));
    }
    *rest = &rest[end..];
    Ok(name.to_owned())
}

/// NILVALUE or 1*SD-ELEMENT.
fn structured_data(rest: &mut &str) -> Result<Vec<Element>, String> {
    if let Some(after) = rest.strip_prefix('-') {
        *rest = after;
        return Ok(Vec::new());
    }
    let mut elements = Vec::new();
    while let Some(after) = rest.strip_prefix('[') {
        *rest = after;
        let id = sd_name(rest, "SD-ID")?;
        // A private SD-ID is name@<private enterprise number> (§7.2.2).
        if let Some((name, number)) = id.split_once('@') {
            let number_ok = !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && (number == "0" || !number.starts_with('0'));
            if name.is_empty() || name.contains('@') || !number_ok {
                return Err(format!("SD-ID {id:?}: name@number"));
            }
        }
        let mut params = Vec::new();
        while let Some(after) = rest.strip_prefix(' ') {
            *rest = after;
            let name = sd_name(rest, "PARAM-NAME")?;
            expect(rest, "=\"", "=\" after a PARAM-NAME")?;
            params.push((name, param_value(rest)?));
        }
        expect(rest, "]", "] closing an SD-ELEMENT")?;
        elements.push((id, params));
    }
    if elements.is_empty() {
        return Err(format!("STRUCTURED-DATA: neither - nor [ at {rest:?}"));
    }
    Ok(elements)
}

/// A PARAM-VALUE up to its closing `"`, unescaped; a raw `]` or a
/// backslash before anything but `"`, `\` and `]` is an error.
fn param_value(rest: &mut &str) -> Result<String, String> {
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                *rest = &rest[i + 1..];
                return Ok(value);
            }
            ']' => return Err(format!("unescaped ] in PARAM-VALUE at {rest:?}")),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\' | ']'))) => value.push(e),
                other => return Err(format!("\\ before {other:?} in PARAM-VALUE at {rest:?}")),
            },
            c => value.push(c),
        }
    }
    Err(format!("unterminated PARAM-VALUE at {rest:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfcs_examples_pass_and_broken_messages_do_not() {
        let good = [
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time",
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event",
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"][examplePriority@32473 class=\"high\"]",
            "<0>1 - - - - - -",
            "<191>1 2026-11-23T08:07:37Z h a 1 m [a@1 k=\"q\\\" b\\\\ s\\]\"] msg",
        ];
        for message in good {
            check(message.as_bytes()).unwrap_or_else(|e| panic!("{message}: {e}"));
        }
        let parsed = check(good[5].as_bytes()).expect("valid");
        assert_eq!(parsed.sd[0].1[0].1, "q\" b\\ s]");
        let bad = [
            "<192>1 - - - - - -",
            "<01>1 - - - - - -",
            "<1>2 - - - - - -",
            "<1>1 - - - - -",
            "<1>1 2026-13-01T00:00:00Z - - - - -",
            "<1>1 2026-01-01T00:00:00.1234567Z - - - - -",
            "<1>1 2026-01-01 - - - - -",
            "<1>1 - h\u{e9} - - - -",
            "<1>1 - - - - - [a@1 k=\"v]\"]",
            "<1>1 - - - - - [a@1 k=\"v\\n\"]",
            "<1>1 - - - - - [a@1 k=\"v\"",
            "<1>1 - - - - - [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@32473]",
            "<1>1 - - - - - [a@ k=\"v\"]",
            "<1>1 - - - - - [a@01 k=\"v\"]",
            "<1>1 - - - - - [a@1 k\"=\"v\"]",
            "<1>1 - - - - - [] m",
            "<1>1 - - - - - - \u{feff}bom",
            "<1>1 - - - - - - two\nlines",
            "<1>1 - - - - - -m",
        ];
        for message in bad {
            assert!(check(message.as_bytes()).is_err(), "{message:?}");
        }
        assert!(check(b"<1>1 - - - - - - \xff").is_err());
    }
}
