//! The crate's one error type, [`Error`], and the [`ErrorKind`] to match on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The crate's one error type. An `Error` says what failed ([`kind`](Error::kind), an [`ErrorKind`] to
/// match on), on which file or collector ([`path`](Error::path),
/// [`address`](Error::address)), and why: the operating system's error is
/// kept whole ([`io_error`](Error::io_error), with its
/// [`io::ErrorKind`] and errno). Its `Display` says all of it on one line,
/// with a hint where one helps, so a user who prints an error with `{}`
/// learns everything needed to fix it:
///
/// ```
/// use concurrent_log_handler::{ConcurrentRotatingFileHandler, ErrorKind};
///
/// let dir = tempfile::tempdir()?;
/// let err = ConcurrentRotatingFileHandler::builder(dir.path().join("missing/app.log"))
///     .create_dirs(false)
///     .build()
///     .unwrap_err();
/// // The lock file beside the log is opened first.
/// assert_eq!(err.kind(), ErrorKind::OpenLockFile);
/// let text = err.to_string();
/// assert!(text.contains("missing/.__app.lock"), "{text}"); // the path
/// assert!(text.contains("No such file or directory"), "{text}"); // the cause
/// assert!(text.contains("lock_file_directory"), "{text}"); // the hint
/// assert_eq!(err.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Design
///
/// The error is a struct over a private representation, as walkdir's and
/// jiff's are: new kinds of failure, or more context on one, can be added
/// without breaking anyone's `match`. It is `Clone` and one pointer wide
/// (the representation sits behind an `Arc`): a failed batch hands the same
/// error to each of its many `emit_wait` callers. Since `Display` already
/// includes the operating system's error, [`source`](std::error::Error::source)
/// returns `None`, so that error reporters that print the chain do not print
/// it twice; [`io_error`](Error::io_error) gives it to code.
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    what: What,
    source: Option<io::Error>,
}

/// The context of a failure, by kind of failure.
#[derive(Debug)]
#[cfg_attr(not(feature = "syslog"), allow(dead_code))] // the network's
enum What {
    Nothing,
    Path(PathBuf),
    Move {
        from: PathBuf,
        to: PathBuf,
    },
    Replaced {
        path: PathBuf,
        rounds: u32,
    },
    Address(String),
    Rejected {
        address: String,
        code: u16,
        text: String,
    },
    TooLarge {
        address: String,
        len: usize,
        max: usize,
    },
    Undelivered {
        address: String,
        pending: u64,
    },
    Reason(String),
    Waited(Duration),
}

/// The kind of an [`Error`]: what failed. New kinds may be added.
///
/// ```
/// use concurrent_log_handler::{AsyncConcurrentHandler, ErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// handler.shutdown().await?;
/// let err = handler.flush().await.unwrap_err();
/// match err.kind() {
///     ErrorKind::Closed => {} // shut down: nothing more is accepted
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The log's (or the lock file's) directory could not be created.
    CreateDir,
    /// The log file could not be opened or created.
    OpenLog,
    /// The lock file could not be opened or created.
    OpenLockFile,
    /// The exclusive lock on the lock file could not be taken.
    Lock,
    /// The lock file was replaced every time it was locked, too many times
    /// in a row; nothing was written, the next write tries again.
    LockFileReplaced,
    /// The size or identity of the log file could not be read.
    Stat,
    /// The log's directory could not be listed (to find its backups).
    ReadDir,
    /// A rotation step (a rename of the log or a backup) failed; the lines
    /// were written all the same.
    Rotate,
    /// A backup or temporary file could not be removed.
    Remove,
    /// Writing the log file failed; nothing of the failed batch stays in it.
    Write,
    /// With `durable`, syncing the log to disk failed: the lines are in the
    /// file, but nobody may be told they are on disk.
    Sync,
    /// Compressing a rotated backup failed; the uncompressed backup is kept
    /// and compressed again at the next rotation or start.
    Compress,
    /// A TLS certificate, key or CA file could not be read or parsed.
    TlsFile,
    /// No connection to the syslog collector could be made (name lookup,
    /// connect, TLS handshake, RELP `open`); the sink keeps trying.
    Connect,
    /// Sending to the syslog collector failed, or the connection broke
    /// before the collector acknowledged a record.
    Send,
    /// The RELP collector answered a record with an error status; that
    /// record is not sent again.
    Rejected,
    /// One message is larger than the transport carries; it is not sent.
    MessageTooLarge,
    /// A wait for the syslog collector (`emit_wait` or `flush` with a
    /// `Confirmation` that names it, `stop`, `shutdown`) reached its deadline
    /// before the collector had every record; the message names the
    /// collector and how many records it has not delivered.
    DeliveryTimeout,
    /// The syslog sink's buffer was full: the record was not forwarded (the
    /// local file has it); counted in the sink's `dropped`.
    SinkFull,
    /// The configuration makes no sense; the message says why.
    InvalidConfig,
    /// A configuration file could not be read.
    ReadConfig,
    /// The handler was stopped or shut down; nothing more is accepted.
    Closed,
    /// The queue was full and the record was dropped (counted in
    /// `Stats::dropped`).
    QueueFull,
    /// A stop or shutdown did not finish within its deadline; the writer goes
    /// on in the background.
    Timeout,
    /// A background thread (the writer, the compressor) could not be started.
    Spawn,
    /// `FallbackMode::Nowait` needs a tokio runtime to write on, and the
    /// handler was built outside one.
    NoRuntime,
    /// The formatter panicked while formatting a record; that record was not
    /// logged (it is counted as failed) and logging goes on.
    FormatterPanicked,
    /// The writer recovered from a panic while writing a batch; the callers
    /// waiting for that batch were told, and writing goes on.
    WriterPanicked,
}

impl Error {
    fn new(kind: ErrorKind, what: What, source: Option<io::Error>) -> Error {
        Error {
            inner: Arc::new(Inner { kind, what, source }),
        }
    }

    /// A failed file operation of `kind` on `path`.
    pub(crate) fn io(kind: ErrorKind, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::new(kind, What::Path(path.into()), Some(source))
    }

    /// A rename from `from` to `to` that failed while rotating.
    pub(crate) fn rotate(from: &Path, to: &Path, source: io::Error) -> Error {
        let what = What::Move {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        };
        Error::new(ErrorKind::Rotate, what, Some(source))
    }

    /// A failed network operation of `kind` with the collector at `address`.
    #[cfg_attr(not(feature = "syslog"), allow(dead_code))]
    pub(crate) fn net(kind: ErrorKind, address: impl Into<String>, source: io::Error) -> Error {
        Error::new(kind, What::Address(address.into()), Some(source))
    }

    /// The configuration makes no sense, for `reason`.
    pub(crate) fn invalid_config(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidConfig, What::Reason(reason.into()), None)
    }

    /// A failure that needs no context beyond its kind.
    pub(crate) fn plain(kind: ErrorKind) -> Error {
        Error::new(kind, What::Nothing, None)
    }

    /// The handler is closed.
    pub(crate) fn closed() -> Error {
        Error::plain(ErrorKind::Closed)
    }

    /// A stop or shutdown that did not finish within `waited`.
    pub(crate) fn timeout(waited: Duration) -> Error {
        Error::new(ErrorKind::Timeout, What::Waited(waited), None)
    }

    /// A background thread that could not be started.
    pub(crate) fn spawn(source: io::Error) -> Error {
        Error::new(ErrorKind::Spawn, What::Nothing, Some(source))
    }

    /// The lock file at `path` kept being replaced, `rounds` times.
    pub(crate) fn lock_file_replaced(path: &Path, rounds: u32) -> Error {
        let what = What::Replaced {
            path: path.to_path_buf(),
            rounds,
        };
        Error::new(ErrorKind::LockFileReplaced, what, None)
    }

    /// The RELP collector at `address` answered `code text`.
    #[cfg_attr(not(feature = "syslog"), allow(dead_code))]
    pub(crate) fn rejected(
        address: impl Into<String>,
        code: u16,
        text: impl Into<String>,
    ) -> Error {
        let what = What::Rejected {
            address: address.into(),
            code,
            text: text.into(),
        };
        Error::new(ErrorKind::Rejected, what, None)
    }

    /// A message of `len` bytes where `address` carries at most `max`.
    #[cfg_attr(not(feature = "syslog"), allow(dead_code))]
    pub(crate) fn message_too_large(address: impl Into<String>, len: usize, max: usize) -> Error {
        let what = What::TooLarge {
            address: address.into(),
            len,
            max,
        };
        Error::new(ErrorKind::MessageTooLarge, what, None)
    }

    /// `pending` records not delivered to `address` before a deadline.
    #[cfg_attr(not(feature = "syslog"), allow(dead_code))]
    pub(crate) fn delivery_timeout(address: impl Into<String>, pending: u64) -> Error {
        let what = What::Undelivered {
            address: address.into(),
            pending,
        };
        Error::new(ErrorKind::DeliveryTimeout, what, None)
    }

    /// What failed.
    ///
    /// ```
    /// use concurrent_log_handler::{ConcurrentRotatingFileHandler, ErrorKind};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let err = ConcurrentRotatingFileHandler::builder(dir.path().join("app.log"))
    ///     .max_bytes(1024)
    ///     .backup_count(0)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The operating system's error behind this one, if it came from one.
    ///
    /// ```
    /// use concurrent_log_handler::{ConcurrentRotatingFileHandler, ErrorKind};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let err = ConcurrentRotatingFileHandler::builder(dir.path().join("gone/app.log"))
    ///     .create_dirs(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.io_error().map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        self.inner.source.as_ref()
    }

    /// The file the failed operation was working on, if any (for a failed
    /// rename, the file being moved).
    ///
    /// ```
    /// use concurrent_log_handler::ConcurrentRotatingFileHandler;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let err = ConcurrentRotatingFileHandler::builder(dir.path().join("gone/app.log"))
    ///     .create_dirs(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.path(), Some(dir.path().join("gone/.__app.lock").as_path()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.what {
            What::Path(path) | What::Replaced { path, .. } | What::Move { from: path, .. } => {
                Some(path)
            }
            _ => None,
        }
    }

    /// The syslog collector the failed operation talked to, as configured
    /// (`relp://logs:2514`), if any.
    pub fn address(&self) -> Option<&str> {
        match &self.inner.what {
            What::Address(address)
            | What::Rejected { address, .. }
            | What::TooLarge { address, .. }
            | What::Undelivered { address, .. } => Some(address),
            _ => None,
        }
    }

    /// Whether the handler was stopped or shut down.
    ///
    /// ```
    /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
    /// drop(guard); // stops the handler
    /// assert!(handler.flush().unwrap_err().is_closed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.kind == ErrorKind::Closed
    }

    /// The advice printed after the cause, for failures users fix by
    /// configuration.
    fn hint(&self) -> Option<&'static str> {
        match self.inner.kind {
            ErrorKind::OpenLockFile | ErrorKind::Lock => Some(
                "every process writing the log needs to create and lock this file: \
                 make its directory writable, or put it elsewhere with lock_file_directory",
            ),
            ErrorKind::CreateDir | ErrorKind::OpenLog => {
                Some("check the path and the permissions of its directory")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = &self.inner.what;
        let path = self.path().map(Path::display);
        match (self.inner.kind, what) {
            (ErrorKind::Rotate, What::Move { from, to }) => {
                write!(f, "cannot rotate {} to {}", from.display(), to.display())?;
            }
            (ErrorKind::LockFileReplaced, What::Replaced { path, rounds }) => write!(
                f,
                "cannot lock {}: the lock file was replaced {rounds} times while locking it",
                path.display()
            )?,
            (
                ErrorKind::Rejected,
                What::Rejected {
                    address,
                    code,
                    text,
                },
            ) => write!(
                f,
                "syslog collector {address} refused a record: RELP status {code} {text:?}"
            )?,
            (ErrorKind::MessageTooLarge, What::TooLarge { address, len, max }) => write!(
                f,
                "a {len}-byte syslog message is too large for {address} (at most {max} bytes)"
            )?,
            (ErrorKind::DeliveryTimeout, What::Undelivered { address, pending }) => write!(
                f,
                "syslog collector {address}: {pending} records not delivered before the deadline"
            )?,
            (ErrorKind::InvalidConfig, What::Reason(reason)) => {
                write!(f, "invalid configuration: {reason}")?;
            }
            (ErrorKind::Timeout, What::Waited(waited)) => {
                write!(f, "the log writer did not finish within {waited:?}")?;
            }
            (kind, _) => {
                f.write_str(kind.describe())?;
                if let Some(path) = path {
                    write!(f, " {path}")?;
                } else if let Some(address) = self.address() {
                    write!(f, " {address}")?;
                }
            }
        }
        if let Some(source) = &self.inner.source {
            write!(f, ": {source}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl ErrorKind {
    /// The start of the message of an error of this kind.
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::CreateDir => "cannot create directory",
            ErrorKind::OpenLog => "cannot open log file",
            ErrorKind::OpenLockFile => "cannot open lock file",
            ErrorKind::Lock => "cannot lock",
            ErrorKind::LockFileReplaced => "cannot lock the lock file",
            ErrorKind::Stat => "cannot stat log file",
            ErrorKind::ReadDir => "cannot list directory",
            ErrorKind::Rotate => "cannot rotate",
            ErrorKind::Remove => "cannot remove",
            ErrorKind::Write => "cannot write log file",
            ErrorKind::Sync => "cannot sync log file to disk",
            ErrorKind::Compress => "cannot compress backup",
            ErrorKind::TlsFile => "cannot load TLS file",
            ErrorKind::Connect => "cannot connect to syslog collector",
            ErrorKind::Send => "cannot send to syslog collector",
            ErrorKind::Rejected => "the syslog collector refused a record",
            ErrorKind::MessageTooLarge => "a syslog message is too large for",
            ErrorKind::DeliveryTimeout => "records not delivered before the deadline to",
            ErrorKind::SinkFull => {
                "the syslog sink's buffer is full; the record was not forwarded to"
            }
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::ReadConfig => "cannot read config file",
            ErrorKind::Closed => "the log handler is closed",
            ErrorKind::QueueFull => "the log queue is full; the record was dropped",
            ErrorKind::Timeout => "the log writer did not finish in time",
            ErrorKind::Spawn => "cannot start a background thread of the log handler",
            ErrorKind::NoRuntime => {
                "FallbackMode::Nowait needs a tokio runtime: build the handler inside one"
            }
            ErrorKind::FormatterPanicked => "the log formatter panicked; the record was not logged",
            ErrorKind::WriterPanicked => {
                "the log writer recovered from a panic while writing a batch"
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug.field("kind", &self.inner.kind);
        match &self.inner.what {
            What::Nothing => {}
            other => {
                debug.field("context", other);
            }
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    /// Keeps the message (with its path) and the original error kind.
    fn from(err: Error) -> io::Error {
        let kind = err.io_error().map_or(io::ErrorKind::Other, io::Error::kind);
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_path_the_cause_and_a_hint() {
        let cases = [
            (
                Error::io(
                    ErrorKind::OpenLockFile,
                    "/proc/.__app.lock",
                    io::Error::from_raw_os_error(libc::EACCES),
                ),
                "cannot open lock file /proc/.__app.lock: Permission denied (os error 13) (every process",
            ),
            (
                Error::rotate(
                    Path::new("/d/app.log"),
                    Path::new("/d/app.log.1"),
                    io::Error::from_raw_os_error(libc::EXDEV),
                ),
                "cannot rotate /d/app.log to /d/app.log.1: Invalid cross-device link (os error 18)",
            ),
            (
                Error::io(
                    ErrorKind::Remove,
                    "/d/app.log.9",
                    io::Error::from_raw_os_error(libc::EISDIR),
                ),
                "cannot remove /d/app.log.9: Is a directory (os error 21)",
            ),
            (Error::closed(), "the log handler is closed"),
            (
                Error::timeout(Duration::from_millis(50)),
                "the log writer did not finish within 50ms",
            ),
            (
                Error::net(
                    ErrorKind::Connect,
                    "relp://logs:2514",
                    io::Error::from_raw_os_error(libc::ECONNREFUSED),
                ),
                "cannot connect to syslog collector relp://logs:2514: Connection refused (os error 111)",
            ),
        ];
        for (err, want) in cases {
            let text = err.to_string();
            assert!(
                text.starts_with(want),
                "{text:?} does not start with {want:?}"
            );
        }
    }

    #[test]
    fn the_os_error_keeps_its_kind_and_errno_through_io_error() {
        let err = Error::io(
            ErrorKind::Write,
            "/d/app.log",
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(
            err.io_error().and_then(io::Error::raw_os_error),
            Some(libc::ENOSPC)
        );
        let io: io::Error = err.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::StorageFull);
        assert!(io.to_string().contains("/d/app.log"));
        assert!(
            std::error::Error::source(&err).is_none(),
            "the cause is in Display"
        );
    }
}
