//! The crate's one error type.
//!
//! Every I/O variant names the operation that failed and the path it failed on,
//! and keeps the underlying [`io::Error`] as its [`source`](std::error::Error::source).
//! The source sits behind an [`Arc`] so that an [`Error`] is `Clone`: one failed
//! batch hands the same error to each of its many `emit_wait` callers.
//!
//! ```
//! use concurrent_log_handler::{ConcurrentRotatingFileHandler, Error};
//!
//! let dir = tempfile::tempdir()?;
//! let err = ConcurrentRotatingFileHandler::builder(dir.path().join("missing/app.log"))
//!     .create_dirs(false)
//!     .build()
//!     .unwrap_err();
//! // The lock file beside the log is opened first.
//! assert!(matches!(err, Error::OpenLockFile { .. }));
//! assert!(err.to_string().contains("missing/.__app.lock"), "{err}");
//! assert_eq!(err.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with the path it went wrong on.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log's directory could not be created.
    #[error("cannot create log directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The log file could not be opened or created.
    #[error("cannot open log file {path}")]
    OpenLog {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The lock file beside the log could not be opened or created.
    #[error("cannot open lock file {path}")]
    OpenLockFile {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The exclusive lock on the lock file could not be taken or released.
    #[error("cannot lock {path}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The lock file was replaced (deleted or renamed over) every time it was
    /// locked, `rounds` times in a row, so no lock could be held on the file
    /// its path names. Nothing was written; the next write tries again.
    #[error("cannot lock {path}: the lock file was replaced {rounds} times while locking it")]
    LockFileReplaced {
        /// The lock file.
        path: PathBuf,
        /// How many times it was locked and found replaced.
        rounds: u32,
    },
    /// The size or identity of the log file could not be read.
    #[error("cannot stat log file {path}")]
    Stat {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// A rotation step (rename or removal of a backup) failed.
    #[error("cannot rotate {from} to {to}")]
    Rotate {
        /// The file being moved.
        from: PathBuf,
        /// Where it was being moved to.
        to: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// A backup or a temporary file could not be removed.
    #[error("cannot remove {path}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The log's directory could not be listed (to find its backups).
    #[error("cannot list directory {path}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// Writing (or syncing) the log file failed; nothing of the failed batch stays
    /// in the file.
    #[error("cannot write log file {path}")]
    Write {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// Compressing a rotated backup failed. The uncompressed backup is kept
    /// and compressed again at the next rotation or start.
    #[error("cannot compress backup {path}")]
    Compress {
        /// The backup being compressed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The configuration makes no sense; the message says why.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Why the configuration was refused.
        reason: String,
    },
    /// The handler was shut down, or its writer is gone (its runtime was dropped).
    #[error("the log handler is closed")]
    Closed,
    /// The queue was full and the record was dropped (counted in `Stats::dropped`).
    #[error("the log queue is full; the record was dropped")]
    QueueFull,
    /// The writer did not finish draining within the time given to stop it; it
    /// goes on in the background.
    #[error("the log writer did not stop in time")]
    StopTimeout,
    /// The background writer could not be started.
    #[error("cannot start the log writer")]
    Spawn {
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// `FallbackMode::Nowait` was chosen for a handler built outside a tokio
    /// runtime (it writes on that runtime's blocking pool).
    #[error("FallbackMode::Nowait needs a tokio runtime: build the handler inside one")]
    NoRuntime,
    /// The formatter panicked while formatting a record; that record was not
    /// logged (it is counted as failed) and logging goes on.
    #[error("the log formatter panicked; the record was not logged")]
    FormatterPanicked,
    /// The writer recovered from a panic while writing a batch; the callers
    /// waiting for that batch were told `Closed`, and writing goes on.
    #[error("the log writer recovered from a panic while writing a batch")]
    WriterPanicked,
    /// No connection to the syslog collector could be made (resolving its
    /// name, connecting, the TLS handshake or the RELP `open`). The sink
    /// keeps trying, with backoff.
    #[error("cannot connect to syslog collector {address}")]
    #[non_exhaustive]
    Connect {
        /// The collector, as configured (`tcp://logs:6514`).
        address: String,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// Sending to the syslog collector failed, or the connection broke
    /// before the collector acknowledged a record.
    #[error("cannot send to syslog collector {address}")]
    #[non_exhaustive]
    Send {
        /// The collector, as configured.
        address: String,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
    /// The RELP collector answered a record with an error status instead of
    /// `200 OK`; the record is not sent again.
    #[error("syslog collector {address} refused a record: RELP status {code} {text:?}")]
    #[non_exhaustive]
    Rejected {
        /// The collector, as configured.
        address: String,
        /// The RELP status code (`500` and the like).
        code: u16,
        /// The collector's explanation.
        text: String,
    },
    /// One message is larger than the transport carries (a RELP frame, a
    /// datagram); it is not sent.
    #[error("a {len}-byte syslog message is too large for {address} (at most {max} bytes)")]
    #[non_exhaustive]
    MessageTooLarge {
        /// The collector, as configured.
        address: String,
        /// The message's length in bytes.
        len: usize,
        /// The most the transport carries.
        max: usize,
    },
    /// A flush or shutdown of the syslog sink reached its deadline before
    /// every record was delivered.
    #[error("syslog collector {address}: {pending} records not delivered before the deadline")]
    #[non_exhaustive]
    DeliveryTimeout {
        /// The collector, as configured.
        address: String,
        /// Records still undelivered at the deadline.
        pending: u64,
    },
    /// A TLS certificate, key or CA file could not be read or parsed.
    #[error("cannot load TLS file {path}")]
    #[non_exhaustive]
    TlsFile {
        /// The PEM file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Arc<io::Error>,
    },
}

impl Error {
    pub(crate) fn invalid_config(reason: impl Into<String>) -> Error {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }

    /// The underlying I/O error, if this error came from one.
    ///
    /// ```
    /// use concurrent_log_handler::Error;
    /// assert!(Error::Closed.io_error().is_none());
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::CreateDir { source, .. }
            | Error::OpenLog { source, .. }
            | Error::OpenLockFile { source, .. }
            | Error::Lock { source, .. }
            | Error::Stat { source, .. }
            | Error::Rotate { source, .. }
            | Error::Remove { source, .. }
            | Error::ReadDir { source, .. }
            | Error::Write { source, .. }
            | Error::Compress { source, .. }
            | Error::Connect { source, .. }
            | Error::Send { source, .. }
            | Error::TlsFile { source, .. }
            | Error::Spawn { source } => Some(source),
            Error::InvalidConfig { .. }
            | Error::LockFileReplaced { .. }
            | Error::Rejected { .. }
            | Error::MessageTooLarge { .. }
            | Error::DeliveryTimeout { .. }
            | Error::Closed
            | Error::NoRuntime
            | Error::FormatterPanicked
            | Error::WriterPanicked
            | Error::QueueFull
            | Error::StopTimeout => None,
        }
    }

    /// The path the failed operation was working on, if any.
    ///
    /// ```
    /// use concurrent_log_handler::Error;
    /// assert!(Error::Closed.path().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::CreateDir { path, .. }
            | Error::OpenLog { path, .. }
            | Error::OpenLockFile { path, .. }
            | Error::Lock { path, .. }
            | Error::LockFileReplaced { path, .. }
            | Error::Stat { path, .. }
            | Error::Remove { path, .. }
            | Error::ReadDir { path, .. }
            | Error::Write { path, .. }
            | Error::TlsFile { path, .. }
            | Error::Compress { path, .. } => Some(path),
            Error::Rotate { from, .. } => Some(from),
            Error::Connect { .. }
            | Error::Send { .. }
            | Error::Rejected { .. }
            | Error::MessageTooLarge { .. }
            | Error::DeliveryTimeout { .. }
            | Error::InvalidConfig { .. }
            | Error::Closed
            | Error::Spawn { .. }
            | Error::NoRuntime
            | Error::FormatterPanicked
            | Error::WriterPanicked
            | Error::QueueFull
            | Error::StopTimeout => None,
        }
    }

    /// The syslog collector the failed operation was talking to, if any, as
    /// configured (`relp://logs:2514`).
    ///
    /// ```
    /// use concurrent_log_handler::Error;
    /// assert!(Error::Closed.address().is_none());
    /// ```
    pub fn address(&self) -> Option<&str> {
        match self {
            Error::Connect { address, .. }
            | Error::Send { address, .. }
            | Error::Rejected { address, .. }
            | Error::MessageTooLarge { address, .. }
            | Error::DeliveryTimeout { address, .. } => Some(address),
            _ => None,
        }
    }

    /// Whether the handler was closed (shut down, or its writer is gone).
    ///
    /// ```
    /// use concurrent_log_handler::Error;
    /// assert!(Error::Closed.is_closed());
    /// assert!(!Error::NoRuntime.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed)
    }
}

impl From<Error> for io::Error {
    /// Keeps the message (with its path) and the original error kind.
    fn from(err: Error) -> io::Error {
        let kind = err.io_error().map_or(io::ErrorKind::Other, io::Error::kind);
        io::Error::new(kind, err)
    }
}
