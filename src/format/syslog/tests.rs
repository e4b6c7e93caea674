//! The syslog formatter's messages: PRI, the header fields and their
//! limits, structured data and the message, whatever text they hold.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::identity::system_hostname;
use super::sanitise::header_field;
use super::*;
use crate::record::Level;

fn fixed() -> SyslogFormatter {
    SyslogFormatter::new().hostname("host").app_name("app")
}

fn render(formatter: &SyslogFormatter, record: &Record) -> String {
    let mut out = Vec::new();
    formatter.format(record, &mut out);
    String::from_utf8(out).expect("messages are UTF-8")
}

fn at(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros)
}

/// Undoes RFC 5424's PARAM-VALUE escaping.
fn unescape_sd(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn pri_is_facility_times_eight_plus_severity() {
    let cases = [
        (Facility::Kern, Level::Critical, 2),
        (Facility::User, Level::Error, 11),
        (Facility::Daemon, Level::Warn, 28),
        (Facility::Local0, Level::Info, 134),
        (Facility::Local7, Level::Debug, 191),
        (Facility::Local7, Level::Trace, 191),
    ];
    for (facility, level, pri) in cases {
        let line = render(&fixed().facility(facility), &Record::new(level, "m"));
        assert!(
            line.starts_with(&format!("<{pri}>1 ")),
            "{facility} {level}: {line}"
        );
    }
}

#[test]
fn whole_message_layout() {
    let record = Record::new(Level::Info, "hello")
        .with_target("app::db")
        .with_timestamp(at(1_795_421_257_000_007));
    let pid = std::process::id();
    assert_eq!(
        render(&fixed(), &record),
        format!("<14>1 2026-11-23T08:07:37.000007Z host app {pid} app::db - hello")
    );
    // No target, no fields, no message: every optional part is NIL or absent.
    let bare = Record::new(Level::Info, "").with_timestamp(at(0));
    assert_eq!(
        render(&fixed().msgid("").hostname(""), &bare),
        format!("<14>1 1970-01-01T00:00:00.000000Z - app {pid} - -")
    );
}

#[test]
fn header_fields_are_printable_ascii_and_cut_to_their_limits() {
    let cases: [(&str, usize, &str); 6] = [
        ("web-3.example.org", 255, "web-3.example.org"),
        ("has space", 48, "has_space"),
        ("tab\tnl\nnul\0", 48, "tab_nl_nul_"),
        ("café", 48, "caf_"),
        ("", 32, "-"),
        (&"x".repeat(40), 32, &"x".repeat(32)),
    ];
    for (input, max, want) in cases {
        assert_eq!(header_field(input, max), want, "{input:?}");
    }
    let long = "a".repeat(300);
    let f = fixed().hostname(&long).app_name(&long).msgid(&long);
    let line = render(&f, &Record::new(Level::Info, "m"));
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts[2].len(), 255);
    assert_eq!(parts[3].len(), 48);
    assert_eq!(parts[5].len(), 32);
    let target = render(
        &fixed(),
        &Record::new(Level::Info, "m").with_target("a b::ç"),
    );
    assert_eq!(target.split(' ').nth(5), Some("a_b::_"));
}

#[test]
fn structured_data_escapes_hostile_values() {
    let cases = [
        ("plain", "plain"),
        ("quote\"d", "quote\\\"d"),
        ("close]bracket", "close\\]bracket"),
        ("back\\slash", "back\\\\\\\\slash"),
        ("new\nline", "new\\\\nline"),
        ("ünïcödé ✓", "ünïcödé ✓"),
        ("", ""),
        ("\"]\\", "\\\"\\]\\\\\\\\"),
    ];
    for (value, want) in cases {
        let line = render(
            &fixed(),
            &Record::new(Level::Info, "m").with_field("k", value),
        );
        assert!(
            line.contains(&format!("[fields@32473 k=\"{want}\"] m")),
            "{value:?}: {line}"
        );
        // RFC unescaping then the crate's escaping gives the value back.
        let mut expect = Vec::new();
        escape(value, &mut expect);
        assert_eq!(unescape_sd(want).as_bytes(), expect, "{value:?}");
    }
}

#[test]
fn param_names_are_sanitised() {
    let cases = [
        ("user", "user"),
        ("a=b", "a_b"),
        ("sp ace", "sp_ace"),
        ("q\"]", "q__"),
        ("", "_"),
        ("ключ", "____"),
        (&*"n".repeat(40), &*"n".repeat(32)),
    ];
    for (name, want) in cases {
        let line = render(
            &fixed(),
            &Record::new(Level::Info, "m").with_field(name.to_owned(), 1),
        );
        assert!(
            line.contains(&format!(" {want}=\"1\"]")),
            "{name:?}: {line}"
        );
    }
}

#[test]
fn fields_then_span_fields_in_one_element() {
    let record = Record::new(Level::Info, "m")
        .with_field("a", 1)
        .with_span("request", [("req", 7)])
        .with_field("b", 2);
    let f = fixed().enterprise_id(99).sd_name("my@ctx");
    assert!(
        render(&f, &record).contains(" [my_ctx@99 a=\"1\" b=\"2\" req=\"7\"] m"),
        "{}",
        render(&f, &record)
    );
}

#[test]
fn message_is_one_line_and_keeps_utf8() {
    let hostile = "line1\nline2\r\n\u{2028}\u{85}\x1b[31m ]\"\\ 日本語";
    let line = render(&fixed(), &Record::new(Level::Info, hostile));
    assert!(
        !line.contains(['\n', '\r', '\u{2028}', '\u{85}', '\x1b']),
        "{line}"
    );
    assert!(
        line.ends_with(" - line1\\nline2\\r\\n\\u{2028}\\u{85}\\x1b[31m ]\"\\\\ 日本語"),
        "{line}"
    );
    assert!(!line.starts_with('\u{feff}') && !line.contains('\u{feff}'));
}

#[test]
fn gethostname_gives_this_machines_name() {
    let name = system_hostname().expect("the test machine has a hostname");
    let proc = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| name.clone());
    assert_eq!(name, proc);
    assert!(
        SyslogFormatter::new()
            .app_name
            .starts_with("concurrent_log_handler")
    );
}
