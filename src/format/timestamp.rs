//! RFC 3339 timestamps with millisecond precision, formatted once per second.
//!
//! Calendar and time-zone work is jiff's (it reads the local offset safely in a
//! process with threads, which `time` refuses to do). The date, time and offset
//! of the current second are cached per thread, so a record pays only for a
//! clock read, a comparison and three digits of milliseconds.

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

/// Appends `time` as `2026-11-23T10:34:21.123+01:00` (local) or
/// `2026-11-23T10:34:21.123Z` (`utc`).
pub(crate) fn write_timestamp(time: SystemTime, utc: bool, out: &mut Vec<u8>) {
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
    fn before_the_epoch_does_not_panic() {
        let t = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(render(t, true), "1969-12-31T00:00:00.000Z");
    }
}
