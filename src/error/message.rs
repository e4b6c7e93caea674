//! How an [`Error`] reads: what failed, where (the path in quotes), why,
//! and what to do where the message alone does not say.

use std::fmt;
use std::io;

use super::{Error, ErrorKind, Obstacle, What};

impl Error {
    /// The advice written after the cause, in parentheses, where the
    /// message alone does not say what to do.
    fn write_hint(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.inner.kind;
        let lock = matches!(kind, ErrorKind::OpenLockFile | ErrorKind::Lock);
        let elsewhere = if lock {
            "put the lock file elsewhere with lock_file_directory"
        } else {
            "log elsewhere"
        };
        if let What::Blocked { obstacle, .. } = &self.inner.what {
            return match obstacle {
                Obstacle::MissingDir(_) => f.write_str(
                    " (create it; create_dirs(true), the default, creates it only when the \
                     handler is built)",
                ),
                Obstacle::FileInTheWay(_) => {
                    write!(
                        f,
                        " ({elsewhere}, or move that file if it does not belong there)"
                    )
                }
                Obstacle::FileNotWritable => write!(
                    f,
                    " (the file's permissions do not let this user write it{}: change them \
                     (chmod, chown), or {elsewhere})",
                    if lock {
                        ", and every process writing the log must"
                    } else {
                        ""
                    }
                ),
                Obstacle::DirNotWritable(dir) => write!(
                    f,
                    " (directory {dir:?} does not let this user create files in it: make it \
                     writable, or {elsewhere})"
                ),
            };
        }
        let io_kind = self.inner.source.as_ref().map(io::Error::kind);
        let hint = match (kind, io_kind) {
            (ErrorKind::OpenLockFile | ErrorKind::Lock, _) => {
                "every process writing the log needs to create and lock this file: make its \
                 directory writable, or put it elsewhere with lock_file_directory"
            }
            (ErrorKind::CreateDir | ErrorKind::OpenLog, _) => {
                "check the path and the permissions of its directory"
            }
            (
                ErrorKind::Write | ErrorKind::Sync | ErrorKind::Rotate | ErrorKind::Compress,
                Some(io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded),
            ) => "the file system is full, or this user's quota is used up: free some space",
            (ErrorKind::Write, Some(io::ErrorKind::FileTooLarge)) => {
                "the log reached the process's file size limit (ulimit -f): lower max_bytes, \
                 or raise the limit"
            }
            (_, Some(io::ErrorKind::ReadOnlyFilesystem)) => "the file system is mounted read-only",
            (ErrorKind::Rotate, _) => "the lines were written all the same",
            (ErrorKind::Compress, _) => {
                "the backup is kept uncompressed, and compressed at the next rotation or start"
            }
            (ErrorKind::TlsFile, _) => "it must be a PEM file this user can read",
            (ErrorKind::Timeout, _) => "it goes on in the background",
            _ => return Ok(()),
        };
        write!(f, " ({hint})")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = &self.inner.what;
        match (self.inner.kind, what) {
            (ErrorKind::Rotate, What::Move { from, to }) => {
                write!(f, "cannot rotate {from:?} to {to:?}")?;
            }
            (ErrorKind::LockFileReplaced, What::Replaced { path, rounds }) => write!(
                f,
                "cannot lock {path:?}: the lock file was replaced {rounds} times while locking it"
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
            (ErrorKind::InvalidConfig, What::ConfigFile { path, reason }) => {
                write!(f, "invalid configuration in {path:?}: {reason}")?;
            }
            (ErrorKind::Timeout, What::Waited(waited)) => {
                write!(f, "the log writer did not finish within {waited:?}")?;
            }
            (kind, _) => {
                f.write_str(kind.describe())?;
                if let Some(path) = self.path() {
                    write!(f, " {path:?}")?;
                } else if let Some(address) = self.address() {
                    write!(f, " {address}")?;
                }
            }
        }
        match what {
            // The file system's answer says more than the OS error's
            // ("File exists", "No such file or directory"), which
            // `io_error` keeps.
            What::Blocked {
                obstacle: Obstacle::MissingDir(dir),
                ..
            } => write!(f, ": directory {dir:?} does not exist")?,
            What::Blocked {
                path,
                obstacle: Obstacle::FileInTheWay(file),
            } if file == path => f.write_str(": a file stands where the directory must be")?,
            What::Blocked {
                obstacle: Obstacle::FileInTheWay(file),
                ..
            } => write!(f, ": a file stands where a directory must be, at {file:?}")?,
            _ => {
                if let Some(source) = &self.inner.source {
                    write!(f, ": {source}")?;
                }
            }
        }
        self.write_hint(f)
    }
}

impl ErrorKind {
    /// The start of the message of an error of this kind.
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::CreateDir => "cannot create directory",
            ErrorKind::RotationRecovered => {
                "finished a rotation that a crash or a failed rename had cut short \
                 (its backups are in place now) for"
            }
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
