//! The crate's one error type, [`Error`], and the [`ErrorKind`] to match on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod message;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The crate's one error type. An `Error` says what failed ([`kind`](Error::kind), an [`ErrorKind`] to
/// match on), on which file or collector ([`path`](Error::path),
/// [`address`](Error::address)), and why: the operating system's error is
/// kept whole ([`io_error`](Error::io_error), with its
/// [`io::ErrorKind`] and errno). Its `Display` says all of it on one line
/// (a config file's parse error adds the parser's drawing of the line at
/// fault): the path in quotes, the cause, and what to do where that helps.
/// `Debug` prints the same text, so that `main` returning
/// `Result<(), Box<dyn Error>>` shows it as it is; `{:#?}` shows the
/// structure.
///
/// ```
/// use concurrent_log_handler::{ConcurrentRotatingFileHandler, ErrorKind};
///
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("missing/app.log");
/// let err = ConcurrentRotatingFileHandler::builder(&log)
///     .create_dirs(false)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::OpenLog);
/// assert_eq!(
///     err.to_string(),
///     format!(
///         "cannot open log file {:?}: directory {:?} does not exist (create it; \
///          create_dirs(true), the default, creates it only when the handler is built)",
///         log,
///         dir.path().join("missing"),
///     )
/// );
/// assert_eq!(format!("{err:?}"), err.to_string());
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
    /// A file or directory could not be made, for a reason the file system
    /// shows better than the operating system's error does.
    Blocked {
        path: PathBuf,
        obstacle: Obstacle,
    },
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
    /// A config file that could not be parsed.
    ConfigFile {
        path: PathBuf,
        reason: String,
    },
    Waited(Duration),
}

/// Why a file or directory could not be made, found by looking at its path
/// after the operating system refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Obstacle {
    /// This directory, where the file goes, does not exist.
    MissingDir(PathBuf),
    /// A file stands at this path, where a directory must be.
    FileInTheWay(PathBuf),
    /// The file exists, and its permissions do not let this user write it.
    FileNotWritable,
    /// This directory does not let this user create files in it.
    DirNotWritable(PathBuf),
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
    /// Not a failure of this call: a rotation that a crash or a failed
    /// `rename` had cut short was found and finished, its lines put into the
    /// backups (counted in `Stats::orphans_recovered`). Reported so that
    /// whoever watches the handler's errors learns that one happened.
    RotationRecovered,
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

    /// A file operation of `kind` on `path` that failed because of `obstacle`.
    pub(crate) fn blocked(
        kind: ErrorKind,
        path: impl Into<PathBuf>,
        obstacle: Obstacle,
        source: io::Error,
    ) -> Error {
        let what = What::Blocked {
            path: path.into(),
            obstacle,
        };
        Error::new(kind, what, Some(source))
    }

    /// The config file at `path` cannot be parsed, for `reason`.
    #[cfg_attr(not(feature = "config"), allow(dead_code))]
    pub(crate) fn config_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        let what = What::ConfigFile {
            path: path.into(),
            reason: reason.into(),
        };
        Error::new(ErrorKind::InvalidConfig, what, None)
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

    /// Rotations of the log at `path` cut short and now finished.
    pub(crate) fn rotation_recovered(path: &Path) -> Error {
        Error::new(
            ErrorKind::RotationRecovered,
            What::Path(path.to_path_buf()),
            None,
        )
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
    /// rename, the file being moved; for a config file that cannot be
    /// parsed, that file).
    ///
    /// ```
    /// use concurrent_log_handler::ConcurrentRotatingFileHandler;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let err = ConcurrentRotatingFileHandler::builder(dir.path().join("gone/app.log"))
    ///     .create_dirs(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.path(), Some(dir.path().join("gone/app.log").as_path()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.what {
            What::Path(path)
            | What::Blocked { path, .. }
            | What::ConfigFile { path, .. }
            | What::Replaced { path, .. }
            | What::Move { from: path, .. } => Some(path),
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
}

/// The message, as `Display` writes it: what `main` prints when it returns
/// the error. `{:#?}` shows the structure instead.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
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
mod tests;
