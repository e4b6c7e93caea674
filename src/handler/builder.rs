//! [`Builder`]: the one builder of the three handlers. Every setter that
//! every handler takes is written once, on `Builder<K>` for any kind `K`;
//! the queue's setters on the two queued kinds; `build` (and what only one
//! handler takes) beside each handler.
//!
//! Users meet it under the names of its three kinds:
//! [`ConcurrentRotatingFileHandlerBuilder`](crate::ConcurrentRotatingFileHandlerBuilder)
//! (`Builder<Blocking>`),
//! [`AsyncConcurrentHandlerBuilder`](crate::AsyncConcurrentHandlerBuilder)
//! (`Builder<Async>`) and
//! [`NonBlockingConcurrentHandlerBuilder`](crate::NonBlockingConcurrentHandlerBuilder)
//! (`Builder<Threaded>`), each made by its handler's `builder(path)`.
//!
//! ```
//! use concurrent_log_handler::{AsyncConcurrentHandler, FallbackMode, Level};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log"))
//!     .max_bytes(1 << 20) // every handler's setter
//!     .fallback_mode(FallbackMode::Block) // a queued handler's
//!     .sync_level(Level::Error)
//!     .nowait_limit(16) // the async handler's own
//!     .build()?;
//! handler.shutdown().await?;
//! # Ok(())
//! # }
//! ```

use std::marker::PhantomData;

use super::queued::Settings;

/// Configures a handler of kind `K` ([`Blocking`], [`Async`] or
/// [`Threaded`]); see the builder of each for its defaults. The setters
/// take the builder by value and return it; nothing is opened or checked
/// until `build`, which returns a typed error for settings that make no
/// sense.
#[must_use = "a builder does nothing until .build() is called"]
pub struct Builder<K> {
    pub(crate) settings: Settings,
    kind: PhantomData<fn() -> K>,
}

/// Which handler a [`Builder`] builds; implemented by [`Blocking`],
/// [`Async`] and [`Threaded`] only.
pub trait Kind: sealed::Sealed {}

/// The kinds whose handler has a queue and a writer thread: [`Async`] and
/// [`Threaded`].
pub trait Queued: Kind {}

/// [`ConcurrentRotatingFileHandler`](crate::ConcurrentRotatingFileHandler):
/// each call writes under the lock before it returns.
#[derive(Debug)]
pub enum Blocking {}

/// [`AsyncConcurrentHandler`](crate::AsyncConcurrentHandler): a queue and a
/// writer thread, for tokio code.
#[derive(Debug)]
pub enum Async {}

/// [`NonBlockingConcurrentHandler`](crate::NonBlockingConcurrentHandler): a
/// queue and a writer thread, for code without a tokio runtime.
#[derive(Debug)]
pub enum Threaded {}

mod sealed {
    pub trait Sealed {
        /// The builder's name in its `Debug`.
        const NAME: &'static str;
    }
    impl Sealed for super::Blocking {
        const NAME: &'static str = "ConcurrentRotatingFileHandlerBuilder";
    }
    impl Sealed for super::Async {
        const NAME: &'static str = "AsyncConcurrentHandlerBuilder";
    }
    impl Sealed for super::Threaded {
        const NAME: &'static str = "NonBlockingConcurrentHandlerBuilder";
    }
}

impl Kind for Blocking {}
impl Kind for Async {}
impl Kind for Threaded {}
impl Queued for Async {}
impl Queued for Threaded {}

impl<K> Clone for Builder<K> {
    fn clone(&self) -> Self {
        Builder {
            settings: self.settings.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Kind> std::fmt::Debug for Builder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(<K as sealed::Sealed>::NAME)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<K> Builder<K> {
    /// A builder with `settings` (the defaults of its handler).
    pub(crate) fn with(settings: Settings) -> Builder<K> {
        Builder {
            settings,
            kind: PhantomData,
        }
    }

    /// Rotate when the next line would push the file past this many bytes.
    /// `0` never rotates (Python CLH's `maxBytes`). A single line larger than
    /// the limit goes alone into a fresh file.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.settings.common.file.max_bytes = max_bytes;
        self
    }

    /// Keep this many backups, `app.log.1` (newest) to `app.log.N` (oldest,
    /// overwritten at the next rotation). Must be at least 1 when
    /// `max_bytes > 0`: Python CLH would truncate the log instead, and we
    /// refuse to lose lines that way.
    pub fn backup_count(mut self, backup_count: usize) -> Self {
        self.settings.common.file.backup_count = backup_count;
        self
    }

    /// Put the lock file in `dir` instead of beside the log (Python CLH's
    /// `lock_file_directory`). Every writer of the log must use the same one.
    pub fn lock_file_directory(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.settings.common.file.lock_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Create missing directories of the log and lock file when building.
    /// Directories removed later are not recreated: writes fail, and succeed
    /// again once someone restores the directory.
    pub fn create_dirs(mut self, create_dirs: bool) -> Self {
        self.settings.common.file.create_dirs = create_dirs;
        self
    }

    /// Permission bits of files this handler creates (log and lock file),
    /// before the process umask applies.
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.settings.common.file.file_mode = mode;
        self
    }

    /// `fdatasync` the log after every batch, before its writers are told it
    /// was written. Costs one disk flush per batch, not per line.
    pub fn durable(mut self, durable: bool) -> Self {
        self.settings.common.file.durable = durable;
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
        self.settings.common.file.rotation = Some(rotation);
        self
    }

    /// Align time rotation to UTC instead of local time (also the time zone
    /// of backup names).
    pub fn rotate_in_utc(mut self, utc: bool) -> Self {
        self.settings.common.file.rotate_in_utc = utc;
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
        self.settings.common.file.compression = Some(compression);
        self
    }

    /// Delete backups (plain and compressed) last written longer ago than
    /// `max_age`, at every rotation and at start-up.
    pub fn max_age(mut self, max_age: std::time::Duration) -> Self {
        self.settings.common.file.max_age = Some(max_age);
        self
    }

    /// Also forward every record to a syslog collector (RFC 5424 over
    /// TCP, TLS, RELP, UDP or a Unix socket), beside the local file,
    /// which stays the full record while the network is down. See
    /// [`SyslogConfig`](crate::SyslogConfig) for the transports, what
    /// each guarantees, and which sinks `emit_wait` waits for.
    #[cfg(feature = "syslog")]
    pub fn syslog(mut self, config: crate::SyslogConfig) -> Self {
        self.settings.common.syslog = Some(config);
        self
    }

    /// Rotate the log when the handler is built, if it is not empty, so
    /// that each run of a program starts a fresh file (log4rs' and
    /// flexi_logger's rotate-on-open). Safe with other processes: it runs
    /// under the lock, and a log another process just rotated is empty.
    pub fn rotate_on_open(mut self, rotate: bool) -> Self {
        self.settings.common.file.rotate_on_open = rotate;
        self
    }

    /// Where "now" comes from for time rotation and age retention (the
    /// system clock by default); tests inject their own.
    pub fn clock(mut self, clock: impl crate::Clock) -> Self {
        self.settings.common.file.clock = std::sync::Arc::new(clock);
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
        self.settings.common.filter = Some(filter.into());
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
        self.settings.common.on_error = Some(crate::report::ErrorHook::new(hook));
        self
    }

    /// How records become lines; [`TextFormatter`](crate::format::TextFormatter)
    /// by default.
    pub fn formatter(mut self, formatter: impl crate::format::Formatter) -> Self {
        self.settings.common.formatter = std::sync::Arc::new(formatter);
        self
    }
}

impl<K: Queued> Builder<K> {
    /// How many records the queue holds (1 to
    /// [`MAX_QUEUE_CAPACITY`](crate::MAX_QUEUE_CAPACITY)). Its slots,
    /// about 64 bytes each, are reserved when the handler is built (the
    /// default: 640 KB); what the queued records hold (formatted lines,
    /// owned strings) comes on top, so memory is bounded by this times
    /// the size of a record.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.settings.queue_capacity = capacity;
        self
    }

    /// What `emit` does when the queue is full; see
    /// [`FallbackMode`](crate::FallbackMode).
    pub fn fallback_mode(mut self, mode: crate::FallbackMode) -> Self {
        self.settings.fallback_mode = mode;
        self
    }

    /// Records at or above this level are queued behind the caller's
    /// earlier records and written before `emit` returns; `None` queues
    /// every level without waiting.
    pub fn sync_level(mut self, level: impl Into<Option<crate::Level>>) -> Self {
        self.settings.sync_level = level.into();
        self
    }

    /// Where records become lines. `true` (the default): a record
    /// travels through the queue as it is (level, strings, typed
    /// values; one pointer wide) and the writer thread formats it into
    /// the batch it writes, so the caller pays only for building the
    /// record and queueing it. When the writer falls more than a batch
    /// behind, callers format their records themselves (they would
    /// soon wait for room anyway), so producers that together outpace
    /// one formatting thread share the work; and a waiting caller that
    /// writes its record itself (`emit_wait` on an idle handler)
    /// formats it too. `false`: every caller
    /// formats its record before queueing it, which a
    /// [`Formatter`](crate::format::Formatter) of your own needs if it
    /// reads anything of the calling thread (its name, a thread-local,
    /// a task-local). A record's timestamp and pid are taken when it is
    /// built, so they are the same either way; records keep their order
    /// either way.
    ///
    /// ```
    /// # fn main() -> concurrent_log_handler::Result<()> {
    /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log"))
    ///     .format_on_writer(false)
    ///     .build()?;
    /// handler.emit(Record::new(Level::Info, "formatted by the caller"));
    /// drop(guard);
    /// let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
    /// assert!(text.ends_with("formatted by the caller\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn format_on_writer(mut self, on_writer: bool) -> Self {
        self.settings.format_on_writer = on_writer;
        self
    }
}
