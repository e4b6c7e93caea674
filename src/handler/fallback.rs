//! What a queued handler does with a record that finds its queue full.

use std::fmt;
use std::str::FromStr;

/// What `emit` does with a record when the queue is full; see
/// [`AsyncConcurrentHandlerBuilder::fallback_mode`](crate::AsyncConcurrentHandlerBuilder::fallback_mode)
/// and
/// [`NonBlockingConcurrentHandlerBuilder::fallback_mode`](crate::NonBlockingConcurrentHandlerBuilder::fallback_mode).
///
/// Whatever the mode, each producer's records that reach the log are in the
/// order it emitted them, except with `Nowait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackMode {
    /// Discard it and count it in [`Stats::dropped`](crate::Stats::dropped).
    /// Drops are also reported into the log as a warning line. Never waits.
    Drop,
    /// Wait until the writer made room, then queue it. Nothing is lost, and
    /// the caller slows down to the disk's pace. From async code this runs
    /// inside `tokio::task::block_in_place` on a multi-thread runtime (the
    /// worker's other tasks move to another thread first) and blocks the
    /// runtime on a `current_thread` one.
    Block,
    /// Async handler only: hand it to tokio's blocking pool to be written
    /// outside the queue, with at most
    /// [`nowait_limit`](crate::AsyncConcurrentHandlerBuilder::nowait_limit)
    /// such writes in flight; beyond that it is dropped and counted. These
    /// records may land out of order with the queued ones.
    Nowait,
}

impl FallbackMode {
    /// The name used in configuration files: `drop`, `block` or `nowait`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FallbackMode::Drop => "drop",
            FallbackMode::Block => "block",
            FallbackMode::Nowait => "nowait",
        }
    }
}

impl fmt::Display for FallbackMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for FallbackMode {
    type Err = ParseFallbackModeError;

    /// Parses `drop`, `block` or `nowait`, case-insensitively.
    ///
    /// ```
    /// use concurrent_log_handler::FallbackMode;
    ///
    /// assert_eq!("Block".parse::<FallbackMode>()?, FallbackMode::Block);
    /// assert_eq!(FallbackMode::Nowait.to_string(), "nowait");
    /// let err = "later".parse::<FallbackMode>().unwrap_err();
    /// assert!(err.to_string().contains("drop, block or nowait"));
    /// # Ok::<(), concurrent_log_handler::ParseFallbackModeError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "drop" => Ok(FallbackMode::Drop),
            "block" => Ok(FallbackMode::Block),
            "nowait" => Ok(FallbackMode::Nowait),
            _ => Err(ParseFallbackModeError(s.to_owned())),
        }
    }
}

/// The error of parsing a [`FallbackMode`] from a string that names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFallbackModeError(String);

impl fmt::Display for ParseFallbackModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fallback mode {:?} (expected drop, block or nowait)",
            self.0
        )
    }
}

impl std::error::Error for ParseFallbackModeError {}
