//! The error of `try_emit`, which hands the record back.

use std::fmt;

use crate::record::Record;

/// Why [`try_emit`](crate::AsyncConcurrentHandler::try_emit) did not queue a
/// record; either way the record comes back, and nothing was counted as
/// dropped: the caller still holds it.
///
/// `Debug` shows only which it was (`Full(..)`), never the record.
///
/// ```
/// use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record, TryEmitError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// handler.try_emit(Record::new(Level::Info, "queued"))?;
/// handler.shutdown().await?;
/// let err = handler.try_emit(Record::new(Level::Info, "too late")).unwrap_err();
/// assert!(err.is_closed());
/// assert_eq!(err.into_inner().message(), "too late");
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
pub enum TryEmitError {
    /// The queue is full right now.
    Full(Record),
    /// The handler was stopped or shut down.
    Closed(Record),
}

impl TryEmitError {
    /// The record that was not queued.
    pub fn into_inner(self) -> Record {
        match self {
            TryEmitError::Full(record) | TryEmitError::Closed(record) => record,
        }
    }

    /// Whether the queue was full (trying again later may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self, TryEmitError::Full(_))
    }

    /// Whether the handler was stopped or shut down.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryEmitError::Closed(_))
    }
}

impl fmt::Debug for TryEmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryEmitError::Full(_) => "Full(..)",
            TryEmitError::Closed(_) => "Closed(..)",
        })
    }
}

impl fmt::Display for TryEmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryEmitError::Full(_) => "the log queue is full",
            TryEmitError::Closed(_) => "the log handler is closed",
        })
    }
}

impl std::error::Error for TryEmitError {}
