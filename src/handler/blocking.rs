//! [`ConcurrentRotatingFileHandler`]: the locked rotating file, written in
//! the caller's thread.
//!
//! No queue and no writer thread: each call formats, takes the lock, writes
//! and returns, through the same [`Core`] the queued front-ends write with
//! (flat combining between threads, one place that counts a write). For
//! scripts, tools, and front-ends of your own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::FallbackMode;
use super::builder::{Blocking, Builder};
use super::intake;
use super::options::Common;
use super::queued::Settings;
use crate::error::{Error, ErrorKind, Result};
use crate::fork::PerProcess;
use crate::queue::Line;
use crate::record::{Level, Record};
use crate::stats::{Stats, add};
use crate::writer::Core;

/// A log file that many processes and threads can write at once, rotated by size,
/// with the same lock file, rollover rule and backup names as Python's
/// `concurrent-log-handler`.
///
/// This is the blocking handler: each call takes the lock, writes and releases
/// it before returning. Prefer [`write_batch`](Self::write_batch) (one lock for
/// many lines) over one [`emit`](Self::emit) per line; the
/// [`AsyncConcurrentHandler`](crate::AsyncConcurrentHandler) does the batching
/// for you and never blocks the caller.
///
/// The handler is `Send + Sync`: share it between threads behind an
/// [`Arc`]. Threads writing at the same moment share one lock
/// cycle: whoever gets the file writes every line waiting for it, in order.
/// In a child made by `fork()`, the handler opens its own files and
/// compressor at its first use.
///
/// ```
/// use concurrent_log_handler::{ConcurrentRotatingFileHandler, Level, Record};
///
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("app.log");
/// let handler = ConcurrentRotatingFileHandler::builder(&log)
///     .max_bytes(200)
///     .backup_count(3)
///     .build()?;
/// handler.emit(Record::new(Level::Info, "started"))?;
/// handler.write_batch(b"first line\nsecond line\n")?;
///
/// let text = std::fs::read_to_string(&log)?;
/// assert!(text.contains(" INFO ") && text.ends_with("first line\nsecond line\n"));
/// assert!(dir.path().join(".__app.lock").exists()); // Python CLH's lock file name
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ConcurrentRotatingFileHandler {
    shared: Arc<BlockingShared>,
}

struct BlockingShared {
    /// What it takes to open the log again (in a forked child).
    settings: Common,
    /// The open log of this process (see [`crate::fork`]).
    state: PerProcess<Arc<Core>>,
    /// [`shutdown`](ConcurrentRotatingFileHandler::shutdown) was called.
    closed: AtomicBool,
}

impl Drop for BlockingShared {
    /// The last clone is gone: the syslog sink, if the handler forwards,
    /// delivers what it holds (at most its confirm timeout) and is closed;
    /// what it could not deliver is counted and said on stderr.
    fn drop(&mut self) {
        if let Some(core) = self.state.existing() {
            core.close_forwarding(None, "when the log handler was dropped");
        }
    }
}

impl super::exit::DrainAtExit for BlockingShared {
    fn drain_at_exit(&self, wait: Duration) {
        if let Some(core) = self.state.existing() {
            core.close_forwarding(Some(crate::clock::deadline_after(wait)), "at exit");
        }
    }
}

impl std::fmt::Debug for ConcurrentRotatingFileHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the file's mutex: it can wait behind another process's lock.
        let file = &self.shared.settings.file;
        f.debug_struct("ConcurrentRotatingFileHandler")
            .field("path", &self.shared.state.first().path)
            .field("lock_path", &self.shared.state.first().lock_path)
            .field("max_bytes", &file.max_bytes)
            .field("backup_count", &file.backup_count)
            .finish_non_exhaustive()
    }
}

impl ConcurrentRotatingFileHandler {
    /// Starts configuring a handler for the log at `path`; see the builder for
    /// the options and their defaults.
    pub fn builder(path: impl AsRef<Path>) -> ConcurrentRotatingFileHandlerBuilder {
        // The queue's settings are there but unused: this handler has none.
        Builder::with(Settings::new(path.as_ref(), FallbackMode::Block, None))
    }

    /// This process's open log: the one built, or in a forked child the one
    /// it opened for itself at its first use.
    fn core(&self) -> Result<&Arc<Core>> {
        let settings = &self.shared.settings;
        self.shared
            .state
            .get(|| settings.open(), crate::report::report_to_stderr)
            .filter(|_| !self.shared.closed.load(Ordering::SeqCst))
            .ok_or(Error::closed())
    }

    /// Whether the handler's [`filter`](ConcurrentRotatingFileHandlerBuilder::filter) logs a record of
    /// `target` at `level` (always `true` without a filter). Records it
    /// refuses cost nothing, but checking first spares building one.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.shared.settings.passes(target, level)
    }

    /// Formats `record` with the handler's formatter and writes it under the lock.
    ///
    /// # Errors
    ///
    /// The lock, stat, open or write error that stopped the record (a failed
    /// write leaves no partial line behind), the sync error with `durable`,
    /// or [`ErrorKind::FormatterPanicked`]. A rotation that failed while the
    /// record was still written is no error here: it is counted in
    /// [`Stats::rotation_errors`] and reported (a caller retrying on `Err`
    /// would write the record twice).
    pub fn emit(&self, record: Record) -> Result<()> {
        if !self.enabled(record.target(), record.level()) {
            return Ok(());
        }
        let core = self.core()?;
        let Some(line) = intake::format(core, &record) else {
            return Err(Error::plain(ErrorKind::FormatterPanicked));
        };
        add(&core.counters.emitted, 1);
        core.write_now(line)
    }

    /// Writes a batch of whole lines with one lock and one `write` (two when the
    /// batch straddles a rotation). A trailing line without `\n` gets one.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit). When the write failed part-way, the lines
    /// before the failure are in the file (whole), the rest are not.
    pub fn write_batch(&self, lines: &[u8]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let core = self.core()?;
        let mut owned = crate::buffers::take(lines.len() + 1);
        owned.extend_from_slice(lines);
        crate::format::end_line(&mut owned);
        let count = owned.split_inclusive(|&b| b == b'\n').count();
        add(&core.counters.emitted, count as u64);
        // Raw lines: written to the file only, never forwarded.
        core.write_now(Line::file(owned))
    }

    /// Rotates the log now, if it is not empty: the same rotation (names,
    /// compression, retention) as when the size or the time says so, under
    /// the lock.
    ///
    /// # Errors
    ///
    /// The rotation's error; the log is then left as it was.
    pub fn rotate_now(&self) -> Result<()> {
        self.core()?.rotate_now()
    }

    /// Counters of what this handler did: records written (`emitted`,
    /// `written`, `failed`), `batches`, `bytes_written`, `rotations`,
    /// `compressions`; queue fields are 0 (there is no queue).
    #[must_use]
    pub fn stats(&self) -> Stats {
        // Also after `shutdown`: what happened stays readable.
        match self.shared.state.existing() {
            Some(core) => core.stats(0, 0),
            None => Stats::default(),
        }
    }

    /// Waits until the syslog collector confirmed everything written so
    /// far, when the handler forwards and its
    /// `Confirmation` names the collector (every
    /// line is in the file once its call returned, so nothing else is
    /// waited for); at most the collector's
    /// `confirm_timeout`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DeliveryTimeout`] (naming the collector and how many
    /// records it has not delivered) at the deadline, the error of a record
    /// the collector refused meanwhile, or [`ErrorKind::Closed`] after
    /// [`shutdown`](Self::shutdown).
    pub fn flush(&self) -> Result<()> {
        match &self.core()?.forward {
            Some(forward) => forward.flush(),
            None => Ok(()),
        }
    }

    /// Closes the handler: later calls fail with [`ErrorKind::Closed`]; the
    /// syslog sink, if the handler forwards, delivers what it holds and is
    /// closed; compressions of rotated backups finish. All of it within
    /// `timeout` (the sink also within its
    /// `confirm_timeout`). Dropping
    /// the last clone does the same without returning the outcome (what the
    /// sink could not deliver is then said on stderr), and so does the
    /// crate's exit hook at `std::process::exit`, within two seconds.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::DeliveryTimeout`] naming the collector and how many
    /// records it could not deliver by the deadline (they are counted in
    /// `Stats::syslog`'s `dropped`; the file has them), or
    /// [`ErrorKind::Closed`] if it was closed before.
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        let core = Arc::clone(self.core()?);
        self.shared.closed.store(true, Ordering::SeqCst);
        let deadline = crate::clock::deadline_after(timeout);
        let forwarded = match &core.forward {
            Some(forward) => forward.close(Some(deadline)),
            None => Ok(()),
        };
        core.wait_for_compression(deadline.saturating_duration_since(std::time::Instant::now()));
        forwarded
    }

    /// Blocks until the background compressions of rotated backups queued so far
    /// are done, or `timeout` passed; returns whether they are all done.
    /// Without compression it returns `true` at once. Dropping the last
    /// clone of the handler waits for them too (at most a minute).
    pub fn wait_for_compression(&self, timeout: Duration) -> bool {
        self.core()
            .is_ok_and(|core| core.wait_for_compression(timeout))
    }

    /// The absolute path of the log file.
    pub fn path(&self) -> PathBuf {
        self.shared.state.first().path.clone()
    }

    /// The path of the lock file (`.__<stem>.lock` beside the log, or in the
    /// configured lock directory).
    pub fn lock_path(&self) -> PathBuf {
        self.shared.state.first().lock_path.clone()
    }
}

/// Configures a [`ConcurrentRotatingFileHandler`].
///
/// | option | default |
/// |---|---|
/// | [`max_bytes`](Builder::max_bytes) | [`DEFAULT_MAX_BYTES`](crate::DEFAULT_MAX_BYTES) (0: never rotate) |
/// | [`backup_count`](Builder::backup_count) | [`DEFAULT_BACKUP_COUNT`](crate::DEFAULT_BACKUP_COUNT) (5) |
/// | [`lock_file_directory`](Builder::lock_file_directory) | beside the log |
/// | [`create_dirs`](Builder::create_dirs) | `true` |
/// | [`file_mode`](Builder::file_mode) | [`DEFAULT_FILE_MODE`](crate::DEFAULT_FILE_MODE) (`0o644`, before the umask) |
/// | [`durable`](Builder::durable) | `false` |
/// | [`rotate_every`](Builder::rotate_every) | off (size rotation only) |
/// | [`rotate_in_utc`](Builder::rotate_in_utc) | `false` (local time) |
/// | [`compression`](Builder::compression) | off |
/// | [`max_age`](Builder::max_age) | off |
/// | [`clock`](Builder::clock) | the system clock |
/// | [`formatter`](Builder::formatter) | [`TextFormatter`](crate::format::TextFormatter), local time |
/// | [`filter`](Builder::filter) | none: every record is logged |
pub type ConcurrentRotatingFileHandlerBuilder = Builder<Blocking>;

/// What only the blocking handler takes.
impl Builder<Blocking> {
    /// Opens lock and log file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] for settings that make no sense, and the
    /// [`ErrorKind::CreateDir`], [`ErrorKind::OpenLockFile`] or [`ErrorKind::OpenLog`] that
    /// stopped it, each with its path.
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
    pub fn build(self) -> Result<ConcurrentRotatingFileHandler> {
        let common = self.settings.common;
        let core = common.open()?;
        let forwards = core.forward.is_some();
        let shared = Arc::new(BlockingShared {
            settings: common,
            state: PerProcess::new(core),
            closed: AtomicBool::new(false),
        });
        if forwards {
            // Records the sink holds at `std::process::exit` are delivered
            // or counted (a handler that does not forward has nothing left).
            let weak: std::sync::Weak<dyn super::exit::DrainAtExit> = Arc::downgrade(&shared) as _;
            super::exit::register(weak);
        }
        Ok(ConcurrentRotatingFileHandler { shared })
    }
}
