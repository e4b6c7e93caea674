//! What every handler is configured with ([`Common`]) and the setters of
//! it every builder takes ([`builder_options!`]), so the three builders
//! cannot drift apart.

use std::sync::Arc;

use crate::file::FileConfig;
use crate::filter::Filter;
use crate::format::{Formatter, TextFormatter};
use crate::forward::SyslogConfig;
use crate::record::Level;
use crate::report::ErrorHook;

/// What every handler is configured with, whatever its queue: where and how
/// the file is written, how records become lines, and which are logged.
#[derive(Clone)]
pub(crate) struct Common {
    pub(crate) file: FileConfig,
    pub(crate) formatter: Arc<dyn Formatter>,
    /// Which records the handler logs at all; `None`: every one.
    pub(crate) filter: Option<Filter>,
    /// Also forward every record to this collector.
    pub(crate) syslog: Option<SyslogConfig>,
    /// Where the errors go that no caller receives; the default report
    /// without it.
    pub(crate) on_error: Option<ErrorHook>,
}

impl Common {
    /// Opens the log with this configuration (and starts forwarding, if
    /// configured).
    pub(crate) fn open(&self) -> crate::Result<Arc<crate::writer::Core>> {
        crate::writer::Core::open(
            &self.file,
            Arc::clone(&self.formatter),
            self.syslog.as_ref(),
            self.on_error.clone(),
        )
    }

    /// The defaults for the log at `path`.
    pub(crate) fn new(path: &std::path::Path) -> Common {
        Common {
            file: FileConfig::new(path.to_path_buf()),
            formatter: Arc::new(TextFormatter::new()),
            filter: None,
            syslog: None,
            on_error: None,
        }
    }

    /// Whether the filter lets a record of `target` at `level` through
    /// (every record, without a filter).
    pub(crate) fn passes(&self, target: &str, level: Level) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.enabled(target, level))
    }
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("file", &self.file)
            .field("filter", &self.filter)
            .field("syslog", &self.syslog)
            .finish_non_exhaustive()
    }
}

/// The setters every builder has, writing into the [`Common`] at
/// `self.<path>`.
macro_rules! builder_options {
    ($($path:ident).+) => {
        /// Rotate when the next line would push the file past this many bytes.
        /// `0` never rotates (Python CLH's `maxBytes`). A single line larger than
        /// the limit goes alone into a fresh file.
        pub fn max_bytes(mut self, max_bytes: u64) -> Self {
            self.$($path).+.file.max_bytes = max_bytes;
            self
        }

        /// Keep this many backups, `app.log.1` (newest) to `app.log.N` (oldest,
        /// overwritten at the next rotation). Must be at least 1 when
        /// `max_bytes > 0`: Python CLH would truncate the log instead, and we
        /// refuse to lose lines that way.
        pub fn backup_count(mut self, backup_count: usize) -> Self {
            self.$($path).+.file.backup_count = backup_count;
            self
        }

        /// Put the lock file in `dir` instead of beside the log (Python CLH's
        /// `lock_file_directory`). Every writer of the log must use the same one.
        pub fn lock_file_directory(mut self, dir: impl AsRef<std::path::Path>) -> Self {
            self.$($path).+.file.lock_dir = Some(dir.as_ref().to_path_buf());
            self
        }

        /// Create missing directories of the log and lock file when building.
        /// Directories removed later are not recreated: writes fail, and succeed
        /// again once someone restores the directory.
        pub fn create_dirs(mut self, create_dirs: bool) -> Self {
            self.$($path).+.file.create_dirs = create_dirs;
            self
        }

        /// Permission bits of files this handler creates (log and lock file),
        /// before the process umask applies.
        pub fn file_mode(mut self, mode: u32) -> Self {
            self.$($path).+.file.file_mode = mode;
            self
        }

        /// `fdatasync` the log after every batch, before its writers are told it
        /// was written. Costs one disk flush per batch, not per line.
        pub fn durable(mut self, durable: bool) -> Self {
            self.$($path).+.file.durable = durable;
            self
        }

        /// Also roll the log over by time, in local time (see
        /// [`rotate_in_utc`](Self::rotate_in_utc)). Combined with
        /// [`max_bytes`](Self::max_bytes), whichever comes first rolls the file.
        /// Backups are then named after their period (`app.log.2026-11-23`, see
        /// [`Rotation`](crate::Rotation)), and every writer of the log agrees on
        /// the next rollover through the lock file, as Python CLH's timed handler
        /// does. With time rotation, [`backup_count`](Self::backup_count) `0`
        /// keeps every backup.
        pub fn rotate_every(mut self, rotation: crate::Rotation) -> Self {
            self.$($path).+.file.rotation = Some(rotation);
            self
        }

        /// Align time rotation to UTC instead of local time (also the time zone
        /// of backup names).
        pub fn rotate_in_utc(mut self, utc: bool) -> Self {
            self.$($path).+.file.rotate_in_utc = utc;
            self
        }

        /// Compress rotated backups (`app.log.1.gz`, `app.log.2026-11-23.zst`)
        /// on a background thread, off the write path. The rotation itself stays
        /// a rename under the lock; an interrupted compression is finished at
        /// the next start or rotation, never leaving a partial archive under a
        /// final name. `shutdown`/`stop` wait for running compressions; a process
        /// that ends without them (or drops a blocking handler right after a
        /// rotation) leaves the rotated file uncompressed, whole, for the next
        /// start to finish (`ConcurrentRotatingFileHandler::wait_for_compression`
        /// waits for it explicitly).
        pub fn compression(mut self, compression: crate::Compression) -> Self {
            self.$($path).+.file.compression = Some(compression);
            self
        }

        /// Delete backups (plain and compressed) last written longer ago than
        /// `max_age`, at every rotation and at start-up.
        pub fn max_age(mut self, max_age: std::time::Duration) -> Self {
            self.$($path).+.file.max_age = Some(max_age);
            self
        }

        /// Also forward every record to a syslog collector (RFC 5424 over
        /// TCP, TLS, RELP, UDP or a Unix socket), beside the local file,
        /// which stays the full record while the network is down. See
        /// [`SyslogConfig`](crate::SyslogConfig) for the transports, what
        /// each guarantees, and which sinks `emit_wait` waits for.
        #[cfg(feature = "syslog")]
        pub fn syslog(mut self, config: crate::SyslogConfig) -> Self {
            self.$($path).+.syslog = Some(config);
            self
        }

        /// Rotate the log when the handler is built, if it is not empty, so
        /// that each run of a program starts a fresh file (log4rs' and
        /// flexi_logger's rotate-on-open). Safe with other processes: it runs
        /// under the lock, and a log another process just rotated is empty.
        pub fn rotate_on_open(mut self, rotate: bool) -> Self {
            self.$($path).+.file.rotate_on_open = rotate;
            self
        }

        /// Where "now" comes from for time rotation and age retention (the
        /// system clock by default); tests inject their own.
        pub fn clock(mut self, clock: impl crate::Clock) -> Self {
            self.$($path).+.file.clock = std::sync::Arc::new(clock);
            self
        }

        /// Log only the records `filter` enables: a [`Level`](crate::Level)
        /// (`.filter(Level::Warn)`) or a [`Filter`](crate::Filter) of
        /// `env_logger`-style directives (`"info,app::db=debug"`). The others
        /// are not the handler's business: they are neither formatted nor
        /// counted, `emit_wait` and `try_emit` return `Ok` for them, and the
        /// `tracing` and `log` integrations skip them before formatting.
        /// Python's `handler.setLevel`; by default every record is logged.
        pub fn filter(mut self, filter: impl Into<crate::Filter>) -> Self {
            self.$($path).+.filter = Some(filter.into());
            self
        }

        /// Where the errors go that the handler cannot return to a caller (a
        /// failed write of queued records, a failed rotation, sync or
        /// compression): `hook` is called with each, at most once a second
        /// (the rest are counted in [`Stats`](crate::Stats)), instead of the
        /// default report, which goes through `tracing` (feature `tracing`,
        /// when a subscriber that does not log into this crate's handlers is
        /// installed) or else on stderr. It runs on the thread that met the
        /// error, often the handler's writer: keep it short. A hook that
        /// panics is reported the default way.
        ///
        /// ```
        /// use std::sync::{Arc, Mutex};
        /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
        ///
        /// let dir = tempfile::tempdir()?;
        /// let log = dir.path().join("app.log");
        /// let seen = Arc::new(Mutex::new(Vec::new()));
        /// let errors = Arc::clone(&seen);
        /// let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        ///     .on_error(move |err| errors.lock().unwrap().push(err.to_string()))
        ///     .build()?;
        /// // A directory where the log was: the writer cannot open it.
        /// std::fs::remove_file(&log)?;
        /// std::fs::create_dir(&log)?;
        /// handler.emit(Record::new(Level::Info, "kept, and written once the path is fixed"));
        /// assert!(handler.flush().is_err());
        /// assert_eq!(
        ///     seen.lock().unwrap()[0],
        ///     format!("cannot open log file {log:?}: Is a directory (os error 21) \
        ///              (check the path and the permissions of its directory)"),
        /// );
        /// std::fs::remove_dir(&log)?;
        /// handler.flush()?;
        /// drop(guard);
        /// assert_eq!(std::fs::read_to_string(&log)?.lines().count(), 1);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn on_error(mut self, hook: impl Fn(&crate::Error) + Send + Sync + 'static) -> Self {
            self.$($path).+.on_error = Some(crate::report::ErrorHook::new(hook));
            self
        }

        /// How records become lines; [`TextFormatter`](crate::format::TextFormatter)
        /// by default.
        pub fn formatter(mut self, formatter: impl crate::format::Formatter) -> Self {
            self.$($path).+.formatter = std::sync::Arc::new(formatter);
            self
        }
    };
}
pub(crate) use builder_options;
