//! What one log event is: a [`Level`] and an owned, `Send` [`Record`].
//!
//! This module knows nothing of files or queues. A record is built in the
//! caller's thread, formatted there (see [`crate::format`]), and only its bytes
//! travel further.
//!
//! ```
//! use concurrent_log_handler::{Level, Record};
//!
//! let record = Record::new(Level::Info, "user logged in")
//!     .with_target("app::auth")
//!     .with_field("user", 42);
//! assert_eq!(record.level(), Level::Info);
//! assert_eq!(record.message(), "user logged in");
//! assert_eq!(record.fields()[0].1, "42");
//! assert_eq!(record.pid(), std::process::id());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::SystemTime;

/// The severity of a record, ordered `Trace < Debug < Info < Warn < Error < Critical`.
///
/// [`Display`](fmt::Display) uses Python's level names where they exist, so a log
/// shared with Python `logging` reads the same: `TRACE`, `DEBUG`, `INFO`,
/// `WARNING`, `ERROR`, `CRITICAL`.
///
/// ```
/// use concurrent_log_handler::Level;
///
/// assert!(Level::Warn > Level::Info);
/// assert_eq!(Level::Warn.to_string(), "WARNING");
/// assert_eq!("critical".parse::<Level>().unwrap(), Level::Critical);
/// assert_eq!("warn".parse::<Level>().unwrap(), Level::Warn);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very fine-grained diagnostics (no Python counterpart; shown as `TRACE`).
    Trace,
    /// Diagnostics for developers (`DEBUG`).
    Debug,
    /// Normal operation (`INFO`).
    Info,
    /// Something unexpected that the program survived (`WARNING`).
    Warn,
    /// An operation failed (`ERROR`).
    Error,
    /// The program or a critical duty is in danger (`CRITICAL`).
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Critical,
    ];

    /// The name written into log lines (Python's names where they exist).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error of parsing a [`Level`] from a string that names no level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLevelError(String);

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown log level {:?} (expected trace, debug, info, warning, error or critical)",
            self.0
        )
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Parses a level name case-insensitively; `warn`/`warning` and
    /// `critical`/`fatal` are both accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let level = match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "critical" | "fatal" => Level::Critical,
            _ => return Err(ParseLevelError(s.to_owned())),
        };
        Ok(level)
    }
}

/// One log event: level, target, message, key-value fields, timestamp and pid.
///
/// The record is owned and `Send`. [`Record::new`] fills in the timestamp and the
/// process id; a `&'static str` message or target costs no allocation.
#[derive(Debug, Clone)]
pub struct Record {
    level: Level,
    target: Cow<'static, str>,
    message: Cow<'static, str>,
    fields: Vec<(Cow<'static, str>, String)>,
    span_fields: Vec<(Cow<'static, str>, String)>,
    timestamp: SystemTime,
    pid: u32,
}

impl Record {
    /// A record at `level` with `message`, stamped with the current time and this
    /// process's id. The target is empty until [`with_target`](Self::with_target).
    pub fn new(level: Level, message: impl Into<Cow<'static, str>>) -> Self {
        Record {
            level,
            target: Cow::Borrowed(""),
            message: message.into(),
            fields: Vec::new(),
            span_fields: Vec::new(),
            timestamp: SystemTime::now(),
            pid: current_pid(),
        }
    }

    /// Sets the target (conventionally the module path, e.g. `app::db`).
    #[must_use]
    pub fn with_target(mut self, target: impl Into<Cow<'static, str>>) -> Self {
        self.target = target.into();
        self
    }

    /// Appends a `key=value` field; the value is rendered with [`Display`](fmt::Display).
    #[must_use]
    pub fn with_field(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl fmt::Display,
    ) -> Self {
        self.fields.push((key.into(), value.to_string()));
        self
    }

    /// Appends a field of the context the event happened in (a `tracing` span),
    /// outermost first. Formatters keep these apart from the event's own
    /// [`fields`](Self::fields): the text format writes them after those, the
    /// JSON format under `"span"`.
    #[must_use]
    pub fn with_span_field(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl fmt::Display,
    ) -> Self {
        self.span_fields.push((key.into(), value.to_string()));
        self
    }

    /// [`with_field`](Self::with_field) for a value that already is a `String`,
    /// without copying it (the integrations collect values as strings).
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    pub(crate) fn push_field(&mut self, key: impl Into<Cow<'static, str>>, value: String) {
        self.fields.push((key.into(), value));
    }

    /// [`with_span_field`](Self::with_span_field) without copying the value.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn push_span_field(&mut self, key: impl Into<Cow<'static, str>>, value: String) {
        self.span_fields.push((key.into(), value));
    }

    /// Overrides the timestamp (for replaying events or for tests).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The record's level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The record's target; empty when none was set.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The record's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The record's fields in the order they were added.
    pub fn fields(&self) -> &[(Cow<'static, str>, String)] {
        &self.fields
    }

    /// The fields of the spans the event happened in, outermost first.
    pub fn span_fields(&self) -> &[(Cow<'static, str>, String)] {
        &self.span_fields
    }

    /// When the record was created.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The id of the process that created the record.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

/// This process's id, cached: `getpid` is a real system call (glibc no longer
/// caches it), and profiling put it at 17 % of the cost of logging a record.
static PID: AtomicU32 = AtomicU32::new(0);
static RESET_PID_AFTER_FORK: Once = Once::new();

pub(crate) fn current_pid() -> u32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    RESET_PID_AFTER_FORK.call_once(|| {
        // SAFETY: `pthread_atfork` only records the function pointers; the
        // child handler runs in the child right after fork() and does nothing
        // but an atomic store, which is async-signal-safe. Without it a child
        // made by fork() without exec would stamp its records with its parent's
        // pid (tested by `crash::a_forked_child_reopens_the_lock…`). If the
        // registration fails, the cache stays off.
        let registered = unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) } == 0;
        if !registered {
            PID_CACHE_OFF.store(true, Ordering::Relaxed);
        }
    });
    let pid = std::process::id();
    if !PID_CACHE_OFF.load(Ordering::Relaxed) {
        PID.store(pid, Ordering::Relaxed);
    }
    pid
}

static PID_CACHE_OFF: AtomicBool = AtomicBool::new(false);

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_named_like_python() {
        let names: Vec<String> = Level::ALL.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            names,
            ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        );
        assert!(Level::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn level_round_trips_through_its_name() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
        }
        assert!("loud".parse::<Level>().is_err());
    }
}
