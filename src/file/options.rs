//! Where and how the log file is written: the [`FileConfig`] every
//! handler's builder fills, and its defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Compression, Rotation};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};

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
        }
    }

    /// Refuses settings no log can be written with, naming them, before
    /// any file is opened. (A rotation period too long for the calendar
    /// is not one of them: it never rotates.)
    pub(crate) fn check(&self) -> Result<()> {
        let config = self;
        match config.rotation {
            Some(Rotation::Every(d)) if d < Duration::from_secs(1) => {
                return Err(Error::invalid_config(
                    "rotate_every(Rotation::Every(d)) needs d of at least one second",
                ));
            }
            Some(Rotation::Days(0)) => {
                return Err(Error::invalid_config(
                    "rotate_every(Rotation::Days(n)) needs n of at least 1",
                ));
            }
            _ => {}
        }
        if config.max_bytes > 0 && config.backup_count == 0 && config.rotation.is_none() {
            // DIFFERENCE: Python CLH truncates the log in place at every rollover
            // when backupCount is 0 (PROTOCOL.md §5, step 2). We refuse to
            // lose data silently.
            return Err(Error::invalid_config(
                "max_bytes > 0 with backup_count = 0 would truncate the log at every rotation; \
                 set backup_count >= 1, or max_bytes = 0 to never rotate",
            ));
        }
        if let Some(compression) = config.compression
            && !compression.is_available()
        {
            let feature = compression.feature();
            return Err(Error::invalid_config(format!(
                "compression {feature:?} needs the {feature:?} feature of concurrent-log-handler \
                 (add features = [{feature:?}] to its line in Cargo.toml)"
            )));
        }
        if config.path.file_name().is_none() {
            return Err(Error::invalid_config(format!(
                "log path {:?} does not name a file (give one such as \"logs/app.log\")",
                config.path
            )));
        }
        Ok(())
    }

    /// Whether anything ever rotates, and so whether backups are managed.
    pub(crate) fn rotates(&self) -> bool {
        self.max_bytes > 0 || self.rotation.is_some() || self.rotate_on_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_lose_lines_or_name_no_file_are_refused_by_name() {
        let config = |set: fn(&mut FileConfig)| {
            let mut config = FileConfig::new("logs/app.log".into());
            set(&mut config);
            config.check().map_err(|e| e.to_string())
        };
        assert!(config(|_| {}).is_ok());
        for (set, words) in [
            (
                (|c: &mut FileConfig| {
                    c.rotation = Some(Rotation::Every(Duration::from_millis(10)));
                }) as fn(&mut FileConfig),
                "at least one second",
            ),
            (
                |c| {
                    c.max_bytes = 10;
                    c.backup_count = 0;
                },
                "would truncate the log",
            ),
            (|c| c.path = PathBuf::new(), "does not name a file"),
        ] {
            let err = config(set).expect_err(words);
            assert!(err.contains(words), "{err}");
        }
    }
}
