//! Where and how the log file is written: the [`FileConfig`] every
//! handler's builder fills, and its defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Compression, Rotation};
use crate::clock::{Clock, SystemClock};

/// Default [`max_bytes`](crate::ConcurrentRotatingFileHandlerBuilder::max_bytes): 0, never
/// rotate (Python CLH's default).
pub const DEFAULT_MAX_BYTES: u64 = 0;
/// Default [`backup_count`](crate::ConcurrentRotatingFileHandlerBuilder::backup_count).
pub const DEFAULT_BACKUP_COUNT: usize = 5;
/// Default [`file_mode`](crate::ConcurrentRotatingFileHandlerBuilder::file_mode) of the
/// log and lock files, before the umask.
pub const DEFAULT_FILE_MODE: u32 = 0o644;

/// Where and how the log file is written; shared by every front-end's builder.
#[derive(Debug, Clone)]
pub(crate) struct FileConfig {
    pub(crate) path: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) backup_count: usize,
    pub(crate) lock_dir: Option<PathBuf>,
    pub(crate) create_dirs: bool,
    pub(crate) file_mode: u32,
    pub(crate) durable: bool,
    pub(crate) rotation: Option<Rotation>,
    pub(crate) rotate_in_utc: bool,
    pub(crate) compression: Option<Compression>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) rotate_on_open: bool,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where the errors go that no caller receives; the default report
    /// without it.
    pub(crate) on_error: Option<crate::report::ErrorHook>,
    /// Also forward every record to this collector.
    #[cfg(feature = "syslog")]
    pub(crate) syslog: Option<crate::SyslogConfig>,
}

impl FileConfig {
    pub(crate) fn new(path: PathBuf) -> FileConfig {
        FileConfig {
            path,
            max_bytes: DEFAULT_MAX_BYTES,
            backup_count: DEFAULT_BACKUP_COUNT,
            lock_dir: None,
            create_dirs: true,
            file_mode: DEFAULT_FILE_MODE,
            durable: false,
            rotation: None,
            rotate_in_utc: false,
            compression: None,
            max_age: None,
            rotate_on_open: false,
            clock: Arc::new(SystemClock),
            on_error: None,
            #[cfg(feature = "syslog")]
            syslog: None,
        }
    }

    /// Whether anything ever rotates, and so whether backups are managed.
    pub(crate) fn rotates(&self) -> bool {
        self.max_bytes > 0 || self.rotation.is_some() || self.rotate_on_open
    }
}
