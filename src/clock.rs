//! Where "now" comes from for time-based rotation and age retention.
//!
//! Production code uses [`SystemClock`]; tests inject a clock they control, so a
//! day of rotations takes no time to test.

use std::fmt::Debug;
use std::time::SystemTime;

/// A source of the current time.
///
/// ```
/// use concurrent_log_handler::Clock;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// /// A clock the test moves by hand.
/// #[derive(Debug, Default)]
/// struct Manual(AtomicU64);
/// impl Clock for Manual {
///     fn now(&self) -> SystemTime {
///         UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
///     }
/// }
///
/// let clock = Manual::default();
/// clock.0.store(60, Ordering::SeqCst);
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(60));
/// ```
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The instant `wait` from now, or one far in the future when that would
/// overflow (a timeout of `u64::MAX` seconds from a config file means
/// "never", not a panic).
pub(crate) fn deadline_after(wait: std::time::Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// What "never" is for a deadline: a hundred years.
const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_deadline_after_any_wait_never_overflows() {
        let before = Instant::now();
        assert!(deadline_after(Duration::MAX) > before + Duration::from_secs(3600));
        let soon = deadline_after(Duration::from_millis(5));
        assert!(soon >= before + Duration::from_millis(5));
    }
}
