//! Input that tries to forge lines, break the format or exhaust memory: no
//! panic, one record is one line.

use std::fs;

use concurrent_log_handler::format::{Formatter, TextFormatter};
use concurrent_log_handler::{ConcurrentRotatingFileHandler, Level, Record};

use crate::util::{TempLog, log_files};

fn handler(log: &TempLog, max_bytes: u64) -> ConcurrentRotatingFileHandler {
    ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(max_bytes)
        .backup_count(10)
        .build()
        .expect("build")
}

#[test]
fn control_characters_never_forge_a_line_or_reach_a_terminal() {
    let log = TempLog::new();
    let h = handler(&log, 0);
    let evil = "ok\nFAKE 2026-01-01 CRITICAL root: pwned\r\x1b[2J\x1b]0;title\x07\0\u{85}\u{2028}\u{2029}\\end";
    h.emit(
        Record::new(Level::Warn, evil)
            .with_target("t\ng")
            .with_field("k\r\n", evil)
            .with_field("quote", "a \"b\" = c"),
    )
    .expect("emit");
    let text = fs::read_to_string(&log.path).expect("read");
    assert_eq!(text.matches('\n').count(), 1, "{text:?}");
    assert!(
        !text.contains(['\r', '\x1b', '\x07', '\0', '\u{85}', '\u{2028}', '\u{2029}']),
        "{text:?}"
    );
    assert!(
        text.contains("ok\\nFAKE 2026-01-01 CRITICAL root: pwned\\r\\x1b[2J"),
        "{text:?}"
    );
    assert!(text.contains("quote=\"a \\\"b\\\" = c\""), "{text:?}");
}

#[test]
fn invalid_utf8_through_write_batch_is_written_byte_for_byte() {
    let log = TempLog::new();
    let h = handler(&log, 0);
    h.write_batch(b"bad \xff\xfe bytes\nnext\n").expect("write");
    assert_eq!(
        fs::read(&log.path).expect("read"),
        b"bad \xff\xfe bytes\nnext\n"
    );
}

#[test]
fn a_ten_megabyte_record_is_one_line_alone_in_its_file() {
    let log = TempLog::new();
    let h = handler(&log, 1 << 20);
    h.write_batch(b"small\n").expect("write");
    let big = "x".repeat(10 << 20) + "\ny";
    h.emit(Record::new(Level::Info, big)).expect("emit");
    h.write_batch(b"small again\n").expect("write");
    let files = log_files(&log.path);
    assert_eq!(files.len(), 3);
    let middle = fs::read_to_string(&files[1]).expect("read");
    assert_eq!(middle.matches('\n').count(), 1);
    assert!(middle.len() > 10 << 20 && middle.ends_with("\\ny\n"));
    assert_eq!(
        fs::read_to_string(&files[2]).expect("read"),
        "small again\n"
    );
}

#[test]
fn a_million_fields_make_one_line_of_the_expected_size() {
    let mut record = Record::new(Level::Info, "many");
    for i in 0..1_000_000u32 {
        record = record.with_field("k", i);
    }
    let mut out = Vec::new();
    TextFormatter::new().format(&record, &mut out);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    // " k=<digits>" per field: memory is what the fields need, nothing more.
    let digits: usize = (0..1_000_000u32).map(|i| i.to_string().len()).sum();
    let fields_len = 1_000_000 * 3 + digits;
    assert!(
        out.len() > fields_len && out.len() < fields_len + 200,
        "{}",
        out.len()
    );
    let log = TempLog::new();
    handler(&log, 0).emit(record.clone()).expect("emit");
    assert_eq!(fs::read(&log.path).expect("read").len(), out.len());
}

/// A timestamp pattern is user input too: one that writes a line break or
/// another control character is refused when it is made, and one made
/// without that check (the variant is public) is written escaped; a
/// pattern jiff cannot format at all writes the RFC 3339 time instead.
/// No pattern panics or breaks a line, whatever the time.
#[test]
fn timestamp_patterns_never_break_a_line_or_panic() {
    use concurrent_log_handler::ErrorKind;
    use concurrent_log_handler::format::{JsonFormatter, TimestampFormat};
    use std::time::{Duration, UNIX_EPOCH};

    for pattern in [
        "%Y-%m-%d\n%H:%M:%S",
        "%Y%n%H",
        "%t%Y",
        "%Y\r",
        "\x1b[2J%Y",
        "%Y\0",
        "%Y\u{85}",
        "%Y\u{2028}",
        "%Y\u{2029}",
    ] {
        let err = TimestampFormat::strftime(pattern).expect_err(pattern);
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{pattern:?}");
        assert!(err.to_string().contains(&format!("{pattern:?}")), "{err}");
    }

    let at = UNIX_EPOCH + Duration::from_millis(1_795_421_257_042);
    let record = Record::new(Level::Info, "m").with_timestamp(at);
    let unchecked = TimestampFormat::Strftime("%Y%n%H\r%M\u{2028}%S%t%.3f\\ \u{85}".to_owned());
    let mut out = Vec::new();
    TextFormatter::new()
        .utc(true)
        .pid(false)
        .timestamp(unchecked.clone())
        .format(&record, &mut out);
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "2026\\n08\\r07\\u{2028}37\\t.042\\ \\u{85} INFO m\n"
    );
    let mut out = Vec::new();
    JsonFormatter::new()
        .utc(true)
        .timestamp(unchecked)
        .format(&record, &mut out);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    let line: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        line["timestamp"],
        "2026\\n08\\r07\\u{2028}37\\t.042\\ \\u{85}"
    );

    // Patterns at the edges of jiff's syntax, checked or not, at times
    // from before 1970 to the year 9999.
    let times = [
        UNIX_EPOCH - Duration::from_secs(86_400 * 365 * 100),
        UNIX_EPOCH,
        at,
        UNIX_EPOCH + Duration::from_secs(253_402_300_799),
        UNIX_EPOCH + Duration::from_secs(253_402_300_800 * 4),
    ];
    for pattern in [
        "%",
        "%E",
        "%Q",
        "%:Q",
        "%Z",
        "%z",
        "%:z",
        "%::z",
        "%:::z",
        "%::::z",
        "%s",
        "%.f",
        "%.9f",
        "%9f",
        "%N",
        "%3N",
        "%f",
        "%.f%.f",
        "%999Y",
        "%99999999999Y",
        "%-_^#0Y",
        "%_Y",
        "%^a",
        "%#b",
        "%c",
        "%x",
        "%X",
        "%r",
        "%j",
        "%U",
        "%V",
        "%G",
        "%g",
        "%w",
        "%u",
        "%C",
        "%y",
        "%l",
        "%k",
        "%p",
        "%P",
        "%D",
        "%F",
        "%T",
        "%R",
        "%%",
        "%%%",
        "é€%Y🦀",
        "",
        "plain",
    ] {
        let checked = TimestampFormat::strftime(pattern);
        let direct = TimestampFormat::Strftime(pattern.to_owned());
        for format in checked.into_iter().chain([direct]) {
            for time in times {
                for utc in [true, false] {
                    let mut out = Vec::new();
                    format.write(time, utc, &mut out);
                    let text = String::from_utf8(out).expect("UTF-8");
                    assert!(
                        !text.contains(|c: char| c.is_control()),
                        "{pattern:?}: {text:?}"
                    );
                }
            }
        }
    }
}

/// A key holding `=` would make the first `=` of its field a lie
/// (`==436266752`); a space would end the field early. Both, and the
/// quote and braces, are written as hex escapes in a key.
#[test]
fn a_text_field_key_never_holds_what_would_end_it() {
    use concurrent_log_handler::format::TimestampFormat;

    let record = Record::new(Level::Info, "m")
        .with_field("=", 436266752)
        .with_field("a b", "c")
        .with_field("k=\"{}\\", "v")
        .with_span("s", [("x=y", 1)]);
    let mut out = Vec::new();
    TextFormatter::new()
        .pid(false)
        .target(false)
        .timestamp(TimestampFormat::None)
        .format(&record, &mut out);
    let line = String::from_utf8(out).expect("UTF-8");
    assert_eq!(
        line,
        "INFO s{x\\x3dy=1}: m \\x3d=436266752 a\\x20b=c k\\x3d\\x22\\x7b\\x7d\\\\=v\n"
    );
    // Each field splits at its first `=` into the key (escaped) and value.
    let fields: Vec<(&str, &str)> = line
        .trim_end()
        .split(' ')
        .skip(3)
        .map(|field| field.split_once('=').expect("key=value"))
        .collect();
    assert_eq!(
        fields,
        [
            ("\\x3d", "436266752"),
            ("a\\x20b", "c"),
            ("k\\x3d\\x22\\x7b\\x7d\\\\", "v")
        ]
    );
}

/// RFC 5424 §6.3.2: an SD-ID is an SD-NAME, at most 32 characters, so a
/// long custom name is cut to leave room for `@` and the enterprise number;
/// §6.4: MSG starting with the bytes of U+FEFF is read as a BOM, so a
/// message that starts with that character gets it escaped.
#[cfg(feature = "syslog")]
#[test]
fn syslog_sd_ids_fit_32_characters_and_a_leading_bom_is_escaped() {
    use concurrent_log_handler::format::SyslogFormatter;

    let text = "\u{feff}starts with U+FEFF \u{feff}";
    let record = Record::new(Level::Info, text).with_field("k", "v");
    let long = "n".repeat(40);
    let cases = [
        ("fields", 32473, "fields@32473".to_owned()),
        (long.as_str(), 32473, format!("{}@32473", "n".repeat(26))),
        (
            long.as_str(),
            u32::MAX,
            format!("{}@4294967295", "n".repeat(21)),
        ),
        (long.as_str(), 1, format!("{}@1", "n".repeat(30))),
        ("a@b c]d=e\"f", 7, "a_b_c_d_e_f@7".to_owned()),
    ];
    for (name, number, want) in cases {
        for formatter in [
            SyslogFormatter::new().sd_name(name).enterprise_id(number),
            SyslogFormatter::new().enterprise_id(number).sd_name(name),
        ] {
            let mut out = Vec::new();
            formatter.format(&record, &mut out);
            let message = crate::rfc5424::check(&out)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            assert_eq!(message.sd[0].0, want);
            let msg = message.msg.expect("MSG");
            assert_eq!(msg, "\\u{feff}starts with U+FEFF \u{feff}");
            assert_eq!(crate::rsyslog::unescape(&msg), text);
        }
    }
}
