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
