//! When to roll the log, and what the lock file and backups are called.
//!
//! Names follow Python CLH (PROTOCOL.md §1, §5) so both can share one log:
//! the lock file is `.__<stem>.lock` beside the log, backups are `app.log.1`
//! (newest) to `app.log.N` (oldest), and a rotation first moves the log to a
//! private `app.log.rotate.<random>` name.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{RoundMode, Timestamp, ToSpan, Unit, ZonedRound};

/// `app.log.<n>`: the n-th backup, 1 being the newest.
pub(crate) fn backup_path(log: &Path, n: usize) -> PathBuf {
    with_suffix(log, &format!(".{n}"))
}

/// `<path><suffix>`, appended to the file name (not an extension swap).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What follows `<log's file name>.` in `entry`, a name in the log's
/// directory: `Some("1")` for `app.log.1`, `None` for a name that does not
/// start with the log's name and a dot, compared byte for byte.
///
/// Names are never compared through a lossy conversion: two different names
/// that are not UTF-8 would both read as U+FFFD, and a foreign file could
/// pass for a backup. A suffix that is not UTF-8 is none we write, so it
/// gives `None` too: a name that cannot be compared exactly is never a
/// backup, and never deleted.
pub(crate) fn name_suffix<'a>(log: &Path, entry: &'a OsStr) -> Option<&'a str> {
    let name = log.file_name()?.as_bytes();
    let rest = entry.as_bytes().strip_prefix(name)?.strip_prefix(b".")?;
    std::str::from_utf8(rest).ok()
}

/// `app.log.rotate.<N>`: N is 64 random bits in decimal, at least 8 digits, as
/// Python CLH names it (PROTOCOL.md §5, step 3).
pub(crate) fn temp_rotation_path(log: &Path) -> PathBuf {
    with_suffix(log, &format!(".rotate.{:08}", fastrand::u64(..)))
}

/// How the size of the current file limits what goes into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeLimit {
    /// 0 = never rotate (Python CLH's convention).
    pub(crate) max_bytes: u64,
}

impl SizeLimit {
    /// Python CLH's rule (PROTOCOL.md §4): the file is full once it reached
    /// `max_bytes`, whatever comes next.
    pub(crate) fn is_full(self, size: u64) -> bool {
        self.max_bytes > 0 && size >= self.max_bytes
    }

    /// Whether a line of `len` bytes may still go into a file of `size` bytes.
    ///
    /// DIFFERENCE from Python CLH, which checks only [`is_full`](Self::is_full)
    /// and so overshoots by up to one record: we also roll when the line would
    /// push the file past `max_bytes`. A file exceeds the limit only when one
    /// line alone is larger, and then that line goes alone into an empty file.
    /// Both rules run under the same lock, so mixed writers stay consistent.
    pub(crate) fn fits(self, size: u64, len: u64) -> bool {
        self.max_bytes == 0 || size == 0 || size.saturating_add(len) <= self.max_bytes
    }
}

/// How often the log rolls over by time; see
/// [`rotate_every`](crate::ConcurrentRotatingFileHandlerBuilder::rotate_every).
///
/// `Minutely`, `Hourly`, `Daily` and `Weekly` roll at the clock's boundaries
/// (local time unless `rotate_in_utc`), like Python's `MIDNIGHT` and `W0`–`W6`.
/// `Every(d)` rolls `d` after the last rollover, like Python's `S`/`M`/`H`/`D`
/// with an interval. Backups are named after the period they hold:
///
/// | rotation | backup name |
/// |---|---|
/// | `Minutely` | `app.log.2026-11-23_10-34` |
/// | `Hourly` | `app.log.2026-11-23_10` |
/// | `Daily`, `Weekly(_)` | `app.log.2026-11-23` |
/// | `Every(d)` | by the unit of `d`: seconds `…_10-34-21`, minutes, hours or days |
///
/// A second backup of the same period (a size rollover) gets `.1`, `.2`, …
/// appended, as Python CLH does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// At the start of every minute.
    Minutely,
    /// At the start of every hour.
    Hourly,
    /// At midnight.
    Daily,
    /// At midnight, every `n` days (at least 1): Python's `MIDNIGHT` with
    /// `interval = n`. `Days(1)` is `Daily`.
    Days(u32),
    /// At midnight before the given weekday.
    Weekly(Weekday),
    /// This long after the previous rollover (at least one second).
    Every(Duration),
}

/// A day of the week, for [`Rotation::Weekly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Every day, Monday first: index `n` is Python's `W<n>` (`W0` is
    /// Monday), as `TimedRotatingFileHandler` numbers them.
    ///
    /// ```
    /// use concurrent_log_handler::Weekday;
    ///
    /// assert_eq!(Weekday::ALL[0], Weekday::Monday);
    /// assert_eq!(Weekday::ALL[6], Weekday::Sunday);
    /// ```
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    fn to_jiff(self) -> jiff::civil::Weekday {
        match self {
            Weekday::Monday => jiff::civil::Weekday::Monday,
            Weekday::Tuesday => jiff::civil::Weekday::Tuesday,
            Weekday::Wednesday => jiff::civil::Weekday::Wednesday,
            Weekday::Thursday => jiff::civil::Weekday::Thursday,
            Weekday::Friday => jiff::civil::Weekday::Friday,
            Weekday::Saturday => jiff::civil::Weekday::Saturday,
            Weekday::Sunday => jiff::civil::Weekday::Sunday,
        }
    }
}

/// Python's `suffix` formats (PROTOCOL.md §6).
const SECONDS: &str = "%Y-%m-%d_%H-%M-%S";
const MINUTES: &str = "%Y-%m-%d_%H-%M";
const HOURS: &str = "%Y-%m-%d_%H";
const DAYS: &str = "%Y-%m-%d";

/// The time rule of a log: when the next rollover is, and what a backup of a
/// period is called.
#[derive(Debug, Clone)]
pub(crate) struct TimedPolicy {
    rotation: Rotation,
    utc: bool,
}

impl TimedPolicy {
    pub(crate) fn new(rotation: Rotation, utc: bool) -> TimedPolicy {
        TimedPolicy { rotation, utc }
    }

    fn tz(&self) -> TimeZone {
        if self.utc {
            TimeZone::UTC
        } else {
            TimeZone::system()
        }
    }

    /// The length of a period, used where the boundaries are not needed.
    fn interval(&self) -> Duration {
        match self.rotation {
            Rotation::Minutely => Duration::from_secs(60),
            Rotation::Hourly => Duration::from_secs(3_600),
            Rotation::Daily => Duration::from_secs(86_400),
            Rotation::Days(n) => Duration::from_secs(86_400 * u64::from(n.max(1))),
            Rotation::Weekly(_) => Duration::from_secs(7 * 86_400),
            Rotation::Every(d) => d.max(Duration::from_secs(1)),
        }
    }

    /// [`interval`](Self::interval) in whole seconds; an interval too long
    /// for an `i64` of seconds (no rollover in this universe's lifetime)
    /// saturates instead of wrapping into the past.
    fn interval_secs(&self) -> i64 {
        i64::try_from(self.interval().as_secs()).unwrap_or(i64::MAX)
    }

    /// Python's `computeRollover(now)`, in whole epoch seconds as the lock file
    /// stores it (PROTOCOL.md §6).
    pub(crate) fn next_rollover(&self, now: SystemTime) -> i64 {
        let now_secs = epoch_seconds(now);
        let fallback = now_secs.saturating_add(self.interval_secs());
        let Ok(ts) = Timestamp::from_second(now_secs) else {
            return fallback;
        };
        let tz = self.tz();
        let zoned = ts.to_zoned(tz.clone());
        let next = match self.rotation {
            Rotation::Every(_) => return fallback,
            Rotation::Minutely => zoned
                .round(
                    ZonedRound::new()
                        .smallest(Unit::Minute)
                        .mode(RoundMode::Trunc),
                )
                .and_then(|z| z.checked_add(1.minute())),
            Rotation::Hourly => zoned
                .round(
                    ZonedRound::new()
                        .smallest(Unit::Hour)
                        .mode(RoundMode::Trunc),
                )
                .and_then(|z| z.checked_add(1.hour())),
            Rotation::Daily => zoned.date().tomorrow().and_then(|d| d.to_zoned(tz)),
            // Beyond what a span holds (about 20,000 years): never.
            Rotation::Days(n) => jiff::Span::new()
                .try_days(i64::from(n.max(1)))
                .and_then(|days| zoned.date().checked_add(days))
                .and_then(|d| d.to_zoned(tz)),
            Rotation::Weekly(day) => zoned
                .date()
                .nth_weekday(1, day.to_jiff())
                .and_then(|d| d.to_zoned(tz)),
        };
        next.map_or(fallback, |z| z.timestamp().as_second())
    }

    fn suffix_format(&self) -> &'static str {
        match self.rotation {
            Rotation::Minutely => MINUTES,
            Rotation::Hourly => HOURS,
            Rotation::Daily | Rotation::Days(_) | Rotation::Weekly(_) => DAYS,
            Rotation::Every(d) if d < Duration::from_secs(60) => SECONDS,
            Rotation::Every(d) if d < Duration::from_secs(3_600) => MINUTES,
            Rotation::Every(d) if d < Duration::from_secs(86_400) => HOURS,
            Rotation::Every(_) => DAYS,
        }
    }

    /// The label of the period that ends at `rollover_at`: what its backup is
    /// called after `app.log.`.
    ///
    /// Python names it `strftime(rolloverAt - interval)`. For clock-aligned
    /// periods we format the last second of the period instead, which names
    /// the same period and stays right across DST days of 23 or 25 hours.
    pub(crate) fn period_label(&self, rollover_at: i64) -> String {
        let start = match self.rotation {
            Rotation::Minutely | Rotation::Hourly | Rotation::Daily => rollover_at - 1,
            Rotation::Days(_) | Rotation::Weekly(_) | Rotation::Every(_) => {
                rollover_at.saturating_sub(self.interval_secs())
            }
        };
        let ts = Timestamp::from_second(start).unwrap_or(Timestamp::UNIX_EPOCH);
        ts.to_zoned(self.tz())
            .strftime(self.suffix_format())
            .to_string()
    }

    /// Parses a label written by [`period_label`](Self::period_label): only
    /// the exact text it writes (`strptime` alone would also take `2026-1-5`).
    pub(crate) fn parse_label(&self, label: &str) -> Option<DateTime> {
        let format = self.suffix_format();
        let when = if format == DAYS {
            Date::strptime(format, label)
                .ok()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        } else {
            DateTime::strptime(format, label).ok()
        }?;
        (when.strftime(format).to_string() == label).then_some(when)
    }
}

/// Whole seconds since the Unix epoch (negative before it).
pub(crate) fn epoch_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_and_temp_names() {
        let log = Path::new("/d/app.log");
        assert_eq!(backup_path(log, 1), PathBuf::from("/d/app.log.1"));
        assert_eq!(backup_path(log, 12), PathBuf::from("/d/app.log.12"));
        let temp = temp_rotation_path(log).to_string_lossy().into_owned();
        let digits = temp.strip_prefix("/d/app.log.rotate.").expect("prefix");
        assert!(
            digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()),
            "{temp}"
        );
    }

    #[test]
    fn name_suffixes_are_compared_as_bytes() {
        fn suffix(name: &[u8]) -> Option<&str> {
            name_suffix(
                Path::new(OsStr::from_bytes(b"/d/\xff")),
                OsStr::from_bytes(name),
            )
        }
        assert_eq!(suffix(b"\xff.1"), Some("1"));
        assert_eq!(suffix(b"\xab.1"), None, "a foreign name");
        assert_eq!(suffix(b"\xff"), None, "the log itself");
        assert_eq!(suffix(b"\xff.\xfe"), None, "a suffix we never write");
        let plain = Path::new("/d/app.log");
        assert_eq!(name_suffix(plain, OsStr::new("app.log.2.gz")), Some("2.gz"));
        assert_eq!(name_suffix(plain, OsStr::new("app.logx.2")), None);
    }

    #[test]
    fn size_limit_table() {
        let limit = SizeLimit { max_bytes: 100 };
        // (size, next line, full?, fits?)
        let cases = [
            (0, 10, false, true),
            (0, 500, false, true), // alone into an empty file
            (90, 10, false, true), // exactly reaches the limit
            (91, 10, false, false),
            (100, 1, true, false),
            (150, 1, true, false),
        ];
        for (size, len, full, fits) in cases {
            assert_eq!(limit.is_full(size), full, "{size}+{len}");
            assert_eq!(limit.fits(size, len), fits, "{size}+{len}");
        }
        let never = SizeLimit { max_bytes: 0 };
        assert!(!never.is_full(u64::MAX));
        assert!(never.fits(u64::MAX, u64::MAX));
    }
}

#[cfg(test)]
mod timed_tests {
    use super::*;

    fn at(rfc3339: &str) -> SystemTime {
        let ts: Timestamp = rfc3339.parse().expect("timestamp");
        SystemTime::from(ts)
    }

    fn show(secs: i64) -> String {
        Timestamp::from_second(secs).expect("in range").to_string()
    }

    #[test]
    fn clock_aligned_rollovers_in_utc() {
        let cases = [
            (
                Rotation::Minutely,
                "2026-11-23T10:34:21Z",
                "2026-11-23T10:35:00Z",
                "2026-11-23_10-34",
            ),
            (
                Rotation::Hourly,
                "2026-11-23T10:34:21Z",
                "2026-11-23T11:00:00Z",
                "2026-11-23_10",
            ),
            (
                Rotation::Daily,
                "2026-11-23T10:34:21Z",
                "2026-11-24T00:00:00Z",
                "2026-11-23",
            ),
            (
                Rotation::Daily,
                "2026-12-31T23:59:59Z",
                "2027-01-01T00:00:00Z",
                "2026-12-31",
            ),
            // Every third midnight; the backup is named after the period's
            // first day, as Python names it.
            (
                Rotation::Days(3),
                "2026-11-23T10:34:21Z",
                "2026-11-26T00:00:00Z",
                "2026-11-23",
            ),
            // 2026-11-23 is a Monday: the next Monday midnight is a week later.
            (
                Rotation::Weekly(Weekday::Monday),
                "2026-11-23T10:00:00Z",
                "2026-11-30T00:00:00Z",
                "2026-11-23",
            ),
            (
                Rotation::Weekly(Weekday::Wednesday),
                "2026-11-23T10:00:00Z",
                "2026-11-25T00:00:00Z",
                "2026-11-18",
            ),
            (
                Rotation::Every(Duration::from_secs(90)),
                "2026-11-23T10:34:21Z",
                "2026-11-23T10:35:51Z",
                "2026-11-23_10-34",
            ),
            (
                Rotation::Every(Duration::from_secs(5)),
                "2026-11-23T10:34:21Z",
                "2026-11-23T10:34:26Z",
                "2026-11-23_10-34-21",
            ),
        ];
        for (rotation, now, next, label) in cases {
            let policy = TimedPolicy::new(rotation, true);
            let rollover = policy.next_rollover(at(now));
            assert_eq!(show(rollover), next, "{rotation:?} at {now}");
            assert_eq!(policy.period_label(rollover), label, "{rotation:?}");
            assert!(policy.parse_label(label).is_some(), "{label}");
        }
    }

    #[test]
    fn a_huge_interval_saturates_instead_of_wrapping_into_the_past() {
        let now = at("2026-11-23T10:34:21Z");
        for d in [
            Duration::MAX,
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(1 << 63),
        ] {
            let policy = TimedPolicy::new(Rotation::Every(d), true);
            let next = policy.next_rollover(now);
            assert!(next > epoch_seconds(now), "{d:?} rolls over at {next}");
            let _ = policy.period_label(next); // no overflow
        }
    }

    #[test]
    fn labels_parse_only_in_their_own_format() {
        let hourly = TimedPolicy::new(Rotation::Hourly, true);
        assert!(hourly.parse_label("2026-11-23_10").is_some());
        assert!(hourly.parse_label("2026-11-23").is_none());
        assert!(hourly.parse_label("rotate.12345678").is_none());
        assert!(hourly.parse_label("2026-11-23_10.gz").is_none());
        let daily = TimedPolicy::new(Rotation::Daily, true);
        assert!(daily.parse_label("2026-11-23").is_some());
        assert!(daily.parse_label("1").is_none());
    }
}
