//! Timestamps: RFC 3339 with millisecond precision by default, formatted
//! once per second; any strftime pattern; or none.
//!
//! Calendar and time-zone work is jiff's (it reads the local offset safely in a
//! process with threads, which `time` refuses to do). The date, time and offset
//! of the current second are cached per thread, so a record pays only for a
//! clock read, a comparison and three digits of milliseconds. A strftime
//! pattern without sub-second fields is cached per second too.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// One second, rendered whole: `2026-11-23T10:34:21.000+01:00`, whose three
/// millisecond digits are patched per record.
struct CachedSecond {
    unix_second: i64,
    utc: bool,
    stamp: Vec<u8>,
}

/// Where the milliseconds sit in a stamp: after `YYYY-MM-DDTHH:MM:SS.`.
const MILLIS_AT: usize = 20;

impl CachedSecond {
    fn new(unix_second: i64, utc: bool) -> CachedSecond {
        CachedSecond {
            unix_second,
            utc,
            stamp: stamp_of_second(Timestamp::from_second(unix_second).ok(), utc),
        }
    }

    fn write(&self, millis: u32, out: &mut Vec<u8>) {
        let at = out.len() + MILLIS_AT;
        out.extend_from_slice(&self.stamp);
        if let Some(digits) = out.get_mut(at..at + 3) {
            digits.copy_from_slice(&[
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
            ]);
        }
    }
}

thread_local! {
    static CACHE: RefCell<Option<CachedSecond>> = const { RefCell::new(None) };
}

/// Appends `time` as `2026-11-23T10:34:21.123+01:00` (local time with its
/// offset) or `2026-11-23T10:34:21.123Z` (`utc`): the crate's own timestamp,
/// for formatters of your own. Each thread renders a second once and only
/// patches the milliseconds after that.
///
/// ```
/// use concurrent_log_handler::format::write_timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let mut out = Vec::new();
/// write_timestamp(UNIX_EPOCH + Duration::from_millis(1_795_421_257_042), true, &mut out);
/// assert_eq!(out, b"2026-11-23T08:07:37.042Z");
/// ```
pub fn write_timestamp(time: SystemTime, utc: bool, out: &mut Vec<u8>) {
    let Ok(since_epoch) = time.duration_since(UNIX_EPOCH) else {
        // Before 1970: rare enough to skip the cache.
        out.extend_from_slice(&stamp_of_second(Timestamp::try_from(time).ok(), utc));
        return;
    };
    let unix_second = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let millis = since_epoch.subsec_millis();
    let cached = CACHE.try_with(|cache| match cache.try_borrow_mut() {
        Ok(mut slot) => {
            let cached = match &mut *slot {
                Some(c) if c.unix_second == unix_second && c.utc == utc => c,
                other => other.insert(CachedSecond::new(unix_second, utc)),
            };
            cached.write(millis, out);
            true
        }
        // Re-entered (a formatter logging while formatting).
        Err(_) => false,
    });
    if cached != Ok(true) {
        // Re-entered, or logging from a thread-local's destructor after the
        // cache itself was destroyed (`with` would abort the process there):
        // render this one without the cache.
        CachedSecond::new(unix_second, utc).write(millis, out);
    }
}

/// How a formatter writes a record's time.
///
/// ```
/// use concurrent_log_handler::format::{Formatter, TextFormatter, TimestampFormat};
/// use concurrent_log_handler::{Level, Record};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let record = Record::new(Level::Info, "hi")
///     .with_timestamp(UNIX_EPOCH + Duration::from_secs(1_795_421_257));
/// let formatter = TextFormatter::new()
///     .utc(true)
///     .timestamp(TimestampFormat::strftime("%Y-%m-%d %H:%M:%S")?)
///     .pid(false);
/// let mut out = Vec::new();
/// formatter.format(&record, &mut out);
/// assert_eq!(out, b"2026-11-23 08:07:37 INFO hi\n");
/// assert!(TimestampFormat::strftime("%E").is_err()); // no such directive
/// # Ok::<(), concurrent_log_handler::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimestampFormat {
    /// RFC 3339 with milliseconds: `2026-11-23T10:34:21.123+01:00`, or
    /// `…Z` in UTC (the default).
    #[default]
    Rfc3339,
    /// A strftime pattern in jiff's syntax (`%Y-%m-%d %H:%M:%S%.3f %Z`);
    /// build it with [`TimestampFormat::strftime`], which checks it.
    Strftime(String),
    /// No timestamp (a journal or a supervisor adds its own).
    None,
}

impl TimestampFormat {
    /// A strftime pattern, checked now by formatting a sample time.
    ///
    /// A pattern that writes a line break or another control character (a
    /// raw `\n` or tab in it, or jiff's `%n` and `%t`) is refused: one
    /// record is one line. Should a time written later hold one anyway (a
    /// [`Strftime`](Self::Strftime) made without this check), it is
    /// written [escaped](super::escape()); a pattern that fails for a later
    /// time (`%Z` in a zone without an abbreviation) writes the RFC 3339
    /// timestamp instead.
    ///
    /// ```
    /// use concurrent_log_handler::format::TimestampFormat;
    ///
    /// assert!(TimestampFormat::strftime("%Y-%m-%d %H:%M:%S%.3f").is_ok());
    /// assert!(TimestampFormat::strftime("%Y-%m-%d\n%H:%M:%S").is_err());
    /// assert!(TimestampFormat::strftime("%Y-%m-%d%n%H:%M:%S").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) with
    /// jiff's explanation when the pattern cannot be formatted, or naming
    /// the control character it writes.
    pub fn strftime(pattern: impl Into<String>) -> crate::Result<TimestampFormat> {
        let pattern = pattern.into();
        let sample = Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC);
        let probe = jiff::fmt::strtime::format(pattern.as_bytes(), &sample).map_err(|e| {
            crate::error::Error::invalid_config(format!("timestamp pattern {pattern:?}: {e}"))
        })?;
        if let Some(c) = probe.chars().find(|&c| breaks_a_line(c)) {
            return Err(crate::error::Error::invalid_config(format!(
                "timestamp pattern {pattern:?} writes {c:?}: a log line holds no line break \
                 or other control character (%n is a newline, %t a tab)"
            )));
        }
        Ok(TimestampFormat::Strftime(pattern))
    }

    /// Appends `time` in this format (nothing for `None`); returns whether
    /// anything was written.
    pub fn write(&self, time: SystemTime, utc: bool, out: &mut Vec<u8>) -> bool {
        match self {
            TimestampFormat::Rfc3339 => write_timestamp(time, utc, out),
            TimestampFormat::Strftime(pattern) => write_strftime(pattern, time, utc, out),
            TimestampFormat::None => return false,
        }
        true
    }
}

/// A pattern's rendering of one second, cached per thread when the pattern
/// has no sub-second field.
struct CachedPattern {
    unix_second: i64,
    utc: bool,
    pattern: String,
    text: Vec<u8>,
}

thread_local! {
    static PATTERN_CACHE: RefCell<Option<CachedPattern>> = const { RefCell::new(None) };
}

/// Whether `pattern` writes anything finer than seconds (`%f`, `%.f`,
/// `%3f`, `%N`), so that a second's text cannot be reused.
fn has_subsecond(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && bytes[i + 1..]
                .iter()
                .find(|c| !matches!(c, b'.' | b'0'..=b'9' | b'-' | b'_' | b'^' | b'#' | b':'))
                .is_some_and(|&c| c == b'f' || c == b'N')
    })
}

fn render(pattern: &str, time: SystemTime, utc: bool) -> Vec<u8> {
    let ts = Timestamp::try_from(time).unwrap_or(Timestamp::UNIX_EPOCH);
    let tz = if utc {
        TimeZone::UTC
    } else {
        TimeZone::system()
    };
    // Checked when the format was made; a failure now (a time zone without
    // a name for `%Z`, say) falls back to RFC 3339 rather than lose the time.
    match jiff::fmt::strtime::format(pattern.as_bytes(), &ts.to_zoned(tz)) {
        Ok(text) if !text.contains(breaks_a_line) => text.into_bytes(),
        // A pattern not checked by `strftime`: one line all the same. Only
        // the control characters are escaped: the rest is the pattern's.
        Ok(text) => {
            let mut out = Vec::with_capacity(text.len() + 8);
            for c in text.chars() {
                if breaks_a_line(c) {
                    super::escape(c.encode_utf8(&mut [0; 4]), &mut out);
                } else {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
            }
            out
        }
        Err(_) => {
            let mut out = Vec::new();
            write_timestamp(time, utc, &mut out);
            out
        }
    }
}

/// Whether a timestamp may not hold `c`: a control character (C0, DEL and
/// C1, NEL among them) or a line or paragraph separator (U+2028, U+2029).
fn breaks_a_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn write_strftime(pattern: &str, time: SystemTime, utc: bool, out: &mut Vec<u8>) {
    let Ok(since_epoch) = time.duration_since(UNIX_EPOCH) else {
        out.extend_from_slice(&render(pattern, time, utc));
        return;
    };
    if has_subsecond(pattern) {
        out.extend_from_slice(&render(pattern, time, utc));
        return;
    }
    let unix_second = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let cached = PATTERN_CACHE.try_with(|cache| match cache.try_borrow_mut() {
        Ok(mut slot) => {
            let fresh = match &*slot {
                Some(c) => c.unix_second != unix_second || c.utc != utc || c.pattern != pattern,
                None => true,
            };
            if fresh {
                *slot = Some(CachedPattern {
                    unix_second,
                    utc,
                    pattern: pattern.to_owned(),
                    text: render(pattern, time, utc),
                });
            }
            if let Some(c) = &*slot {
                out.extend_from_slice(&c.text);
            }
            true
        }
        Err(_) => false,
    });
    if cached != Ok(true) {
        out.extend_from_slice(&render(pattern, time, utc));
    }
}

/// Loads the system time zone now, in the calling thread: call before a
/// handler starts its threads. jiff loads it lazily, once per process,
/// under a one-time lock; were a writer thread the first to need it and
/// the process forked while it was loading, every thread of the child that
/// needs a local time would wait forever for a load that no thread of the
/// child is doing.
pub(crate) fn load_local_time_zone() {
    let _ = TimeZone::system();
}

/// The stamp of a whole second (`.000` for its milliseconds).
fn stamp_of_second(ts: Option<Timestamp>, utc: bool) -> Vec<u8> {
    let ts = ts.unwrap_or(Timestamp::UNIX_EPOCH);
    let stamp = if utc {
        let dt = jiff::tz::Offset::UTC.to_datetime(ts);
        dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
    } else {
        ts.to_zoned(TimeZone::system())
            .strftime("%Y-%m-%dT%H:%M:%S.000%:z")
            .to_string()
    };
    stamp.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn render(t: SystemTime, utc: bool) -> String {
        let mut out = Vec::new();
        write_timestamp(t, utc, &mut out);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn utc_with_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_421_257_042);
        assert_eq!(render(t, true), "2026-11-23T08:07:37.042Z");
        // Same second, other millisecond: the cached second is reused correctly.
        let t2 = UNIX_EPOCH + Duration::from_millis(1_795_421_257_999);
        assert_eq!(render(t2, true), "2026-11-23T08:07:37.999Z");
        let t3 = UNIX_EPOCH + Duration::from_millis(1_795_421_258_000);
        assert_eq!(render(t3, true), "2026-11-23T08:07:38.000Z");
    }

    #[test]
    fn local_time_carries_the_offset_jiff_reports() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_421_257_042);
        let want = Timestamp::try_from(t)
            .expect("in range")
            .to_zoned(TimeZone::system())
            .strftime("%Y-%m-%dT%H:%M:%S.%3f%:z")
            .to_string();
        assert_eq!(render(t, false), want);
        // Switching between UTC and local on one thread does not reuse the wrong cache.
        assert!(render(t, true).ends_with('Z'));
        assert_eq!(render(t, false), want);
    }

    #[test]
    fn strftime_patterns_render_and_cache_by_second() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_421_257_042);
        let format = TimestampFormat::strftime("%Y-%m-%d %H:%M:%S").expect("pattern");
        for _ in 0..2 {
            let mut out = Vec::new();
            format.write(t, true, &mut out);
            assert_eq!(out, b"2026-11-23 08:07:37");
        }
        let millis = TimestampFormat::strftime("%H:%M:%S%.3f").expect("pattern");
        let mut out = Vec::new();
        millis.write(t, true, &mut out);
        assert_eq!(out, b"08:07:37.042");
        let t2 = UNIX_EPOCH + Duration::from_millis(1_795_421_257_999);
        out.clear();
        millis.write(t2, true, &mut out);
        assert_eq!(out, b"08:07:37.999", "sub-second patterns are not cached");
        assert!(has_subsecond("%6f") && has_subsecond("%N") && !has_subsecond("%Y %% %H"));
        let mut none = Vec::new();
        assert!(!TimestampFormat::None.write(t, true, &mut none));
        assert!(none.is_empty());
    }

    #[test]
    fn before_the_epoch_does_not_panic() {
        let t = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(render(t, true), "1969-12-31T00:00:00.000Z");
    }
}
