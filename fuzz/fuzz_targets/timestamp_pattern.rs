//! Timestamp patterns: `TimestampFormat::strftime` accepts a pattern or
//! refuses it typed, and no pattern, checked or not, writes anything but
//! one line of UTF-8 text without control characters, at any time, in UTC
//! or local time; never a panic. Input: `pattern 0xFF seconds 0xFF utc`.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use concurrent_log_handler::format::{Formatter, TextFormatter, TimestampFormat};
use concurrent_log_handler::{ErrorKind, Level, Record};
use concurrent_log_handler_fuzz::{breaks_a_line, parts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let pattern = parts[0].as_str();
    let secs: i64 = parts
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_795_421_257);
    let utc = parts.get(2).is_none_or(|u| u.is_empty());
    // Any time from 10,000 years before the epoch to as long after.
    let span = Duration::from_secs(secs.unsigned_abs() % 315_569_520_000);
    let time = if secs < 0 {
        UNIX_EPOCH.checked_sub(span)
    } else {
        UNIX_EPOCH.checked_add(span)
    };
    let Some(time) = time else {
        return;
    };
    let checked = TimestampFormat::strftime(pattern);
    if let Err(e) = &checked {
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    }
    for format in checked
        .into_iter()
        .chain([TimestampFormat::Strftime(pattern.to_owned())])
    {
        let mut out = Vec::new();
        format.write(time, utc, &mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(!text.contains(breaks_a_line), "{pattern:?}: {text:?}");
        let mut line = Vec::new();
        TextFormatter::new().utc(utc).timestamp(format).format(
            &Record::new(Level::Info, "m").with_timestamp(time),
            &mut line,
        );
        let line = String::from_utf8(line).expect("UTF-8");
        let body = line.strip_suffix('\n').expect("ends its line");
        assert!(!body.contains(breaks_a_line), "{pattern:?}: {line:?}");
    }
});
