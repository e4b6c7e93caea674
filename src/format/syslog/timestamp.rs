//! The TIMESTAMP of a message: UTC with microseconds, the date and time
//! of each second rendered once per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

/// The date and time of one second, `2026-11-23T08:07:37`, rendered once
/// per second and thread (jiff's strftime costs more than the rest of the
/// message).
struct CachedSecond {
    unix_second: i64,
    stamp: Vec<u8>,
}

thread_local! {
    static SECOND: RefCell<Option<CachedSecond>> = const { RefCell::new(None) };
}

/// Appends `time` in UTC with microseconds: `2026-11-23T08:07:37.042123Z`.
pub(super) fn write_timestamp(time: SystemTime, out: &mut Vec<u8>) {
    let (unix_second, micros) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        // Before 1970: not worth a code path of its own.
        Err(_) => (0, 0),
    };
    let render = |second: i64| {
        let ts = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        jiff::tz::Offset::UTC
            .to_datetime(ts)
            .strftime("%Y-%m-%dT%H:%M:%S")
            .to_string()
            .into_bytes()
    };
    SECOND.with(|cache| match cache.try_borrow_mut() {
        Ok(mut slot) => {
            let cached = match &mut *slot {
                Some(c) if c.unix_second == unix_second => c,
                other => other.insert(CachedSecond {
                    unix_second,
                    stamp: render(unix_second),
                }),
            };
            out.extend_from_slice(&cached.stamp);
        }
        Err(_) => out.extend_from_slice(&render(unix_second)),
    });
    out.push(b'.');
    let mut digits = [b'0'; 6];
    let mut n = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(micros)
    }

    #[test]
    fn microseconds_and_cached_seconds() {
        let stamp = |micros| {
            let mut out = Vec::new();
            write_timestamp(at(micros), &mut out);
            String::from_utf8(out).expect("ascii")
        };
        assert_eq!(stamp(1_795_421_257_042_123), "2026-11-23T08:07:37.042123Z");
        assert_eq!(stamp(1_795_421_257_999_999), "2026-11-23T08:07:37.999999Z");
        assert_eq!(stamp(1_795_421_258_000_000), "2026-11-23T08:07:38.000000Z");
    }
}
