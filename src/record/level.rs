//! [`Level`]: how severe a record is, with Python's names.

use std::fmt;
use std::str::FromStr;

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
