//! The locked, rotating log file: one batch of lines, one lock, one write.
//!
//! [`LockedFile`] is what every handler writes through. It takes bytes and
//! returns an outcome ([`BatchOutcome`]); it knows nothing of records,
//! formats, queues or tokio.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::backups::{self, Retention};
use super::compress::{Claim, CompressionIdle, Compressor, CompressorConfig, Naming, is_claimed};
use super::lock::{LockFile, LockGuard, lock_file_path};
use super::obstacle;
use super::options::FileConfig;
use super::rotation::{Rotation, SizeLimit, TimedPolicy, epoch_seconds, temp_rotation_path};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::report::ErrorReporter;
use crate::stats::{Counters, add};

/// How long stopping a handler, or dropping it, waits for the compressions
/// of rotated backups it queued.
pub(crate) const COMPRESSION_DROP_WAIT: std::time::Duration = super::compress::DROP_WAIT;

/// What one batch did besides writing.
#[derive(Debug, Default)]
pub(crate) struct WriteReport {
    /// Rotations this batch performed.
    pub(crate) rotations: u64,
    /// Bytes appended.
    pub(crate) bytes: u64,
    /// A rotation step failed; the lines were still written (into the
    /// unrotated file, or the new one). Nothing was lost.
    pub(crate) rotation_error: Option<Error>,
    /// With `durable`: the lines were written, but syncing them to disk
    /// failed, so nobody may be told they are on disk.
    pub(crate) sync_error: Option<Error>,
}

impl WriteReport {
    /// Adds what this batch did to the handler's counters.
    pub(crate) fn count_into(&self, counters: &Counters) {
        add(&counters.bytes_written, self.bytes);
        add(&counters.rotations, self.rotations);
        if self.rotation_error.is_some() {
            add(&counters.rotation_errors, 1);
        }
    }
}

/// How one batch went: the first `written` records reached the file; if that
/// is not all of them, `error` says why the rest did not.
#[derive(Debug)]
pub(crate) struct BatchOutcome {
    pub(crate) written: usize,
    pub(crate) error: Option<Error>,
    pub(crate) report: WriteReport,
}

/// The open log and its lock: the blocking core of every handler.
#[derive(Debug)]
pub(crate) struct LockedFile {
    lock: LockFile,
    log: LogFile,
}

/// The log itself; only touched while `LockedFile::lock` is held.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    /// The log as we last opened it; `None` means "open the path on the next batch".
    file: Option<File>,
    limit: SizeLimit,
    retention: Retention,
    file_mode: u32,
    durable: bool,
    /// Time rotation, if on: backups get timed names.
    timed: Option<TimedPolicy>,
    /// Background compression of rotated files, if on.
    compressor: Option<Compressor>,
    clock: Arc<dyn Clock>,
    /// The size the log had after our last write; another size means someone
    /// else wrote since, and the end of the file is checked for a torn line.
    last_end: Option<u64>,
    /// A sync before a rotation failed during the current batch.
    sync_failure: Option<Error>,
}

impl LockedFile {
    /// Checks the configuration, creates the directories and opens lock and log.
    pub(crate) fn open(
        config: &FileConfig,
        counters: Arc<Counters>,
        errors: Arc<ErrorReporter>,
    ) -> Result<LockedFile> {
        if let Some(hook) = &config.on_error {
            errors.set_hook(hook.clone());
        }
        if let Some(Rotation::Every(d)) = config.rotation
            && d < Duration::from_secs(1)
        {
            return Err(Error::invalid_config(
                "rotate_every(Rotation::Every(d)) needs d of at least one second",
            ));
        }
        if config.rotation == Some(Rotation::Days(0)) {
            return Err(Error::invalid_config(
                "rotate_every(Rotation::Days(n)) needs n of at least 1",
            ));
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
        // Python CLH works on abspath(filename), without resolving symlinks (§1).
        let path = std::path::absolute(&config.path)
            .map_err(|e| Error::io(ErrorKind::OpenLog, config.path.clone(), e))?;
        let lock_path = lock_file_path(&path, config.lock_dir.as_deref());
        obstacle::prepare_dirs(config.create_dirs, &path, &lock_path)?;
        let mut lock = LockFile::open(&lock_path, config.file_mode)?;
        // Open now so that an unwritable log fails the build, not the first write.
        // O_CREAT|O_APPEND never truncates, so no lock is needed for this.
        let file = open_log(&path, config.file_mode)?;
        let timed = config
            .rotation
            .map(|rotation| TimedPolicy::new(rotation, config.rotate_in_utc));
        let retention = Retention {
            backup_count: config.backup_count,
            max_age: config.max_age,
        };
        let compressor = match config.compression {
            // Also without a size or time rule: rotate_now() may rotate.
            Some(compression) => Some(Compressor::start(CompressorConfig {
                log: path.clone(),
                lock_path: lock_path.clone(),
                file_mode: config.file_mode,
                compression,
                naming: timed.clone().map_or(Naming::Chain, Naming::Timed),
                retention,
                clock: Arc::clone(&config.clock),
                counters: Arc::clone(&counters),
                errors,
            })?),
            None => None,
        };
        let log = LogFile {
            path,
            file: Some(file),
            limit: SizeLimit {
                max_bytes: config.max_bytes,
            },
            retention,
            file_mode: config.file_mode,
            durable: config.durable,
            timed,
            compressor,
            clock: Arc::clone(&config.clock),
            last_end: None,
            sync_failure: None,
        };
        if config.rotates() {
            // Retention applies at start-up too, under the lock.
            let (_guard, _) = lock.lock()?;
            log.apply_retention(true)?;
        }
        let mut locked = LockedFile { lock, log };
        if config.rotate_on_open {
            // Like a rotation by size: every process starting at once rotates
            // at most one non-empty log (the next finds it empty).
            let (report, rotated) = locked.rotate_now();
            report.count_into(&counters);
            rotated?;
        }
        Ok(locked)
    }

    /// Rotates now, under the lock, if the log holds anything: the same
    /// rotation (names, compression, retention) as when the size or the time
    /// says so. Returns what it did, and whether it failed.
    pub(crate) fn rotate_now(&mut self) -> (WriteReport, Result<()>) {
        let mut report = WriteReport::default();
        let result = self.rotate_under_lock(&mut report);
        (report, result)
    }

    fn rotate_under_lock(&mut self, report: &mut WriteReport) -> Result<()> {
        let (guard, forked) = self.lock.lock()?;
        let log = &mut self.log;
        if forked {
            log.file = None;
        }
        let size = open_current(&mut log.file, &log.path, log.file_mode)?;
        let size = log.end_torn_line(size)?;
        if size == 0 {
            return Ok(());
        }
        // A timed log's backup is named after the current period.
        let rollover_at = log.timed.as_ref().and_then(|_| guard.read_rollover());
        log.rotate(rollover_at)?;
        report.rotations += 1;
        if let Some(policy) = &log.timed {
            guard.write_rollover(policy.next_rollover(log.clock.now()))?;
        }
        Ok(())
    }

    /// A handle to wait for background compressions, if there are any.
    pub(crate) fn compression_idle(&self) -> Option<CompressionIdle> {
        self.log.compressor.as_ref().map(Compressor::idle)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.log.path
    }

    pub(crate) fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    /// Writes `records` (each one line; a missing final `\n` is added) under one
    /// lock hold, rotating between records when the next one would not fit.
    ///
    /// `scratch` is a reusable buffer that the lines are joined into.
    pub(crate) fn write_records<R: AsRef<[u8]>>(
        &mut self,
        records: &[R],
        scratch: &mut Vec<u8>,
    ) -> BatchOutcome {
        let mut report = WriteReport::default();
        let mut done = 0;
        let result = match self.lock.lock() {
            Ok((guard, forked)) => {
                if forked {
                    // Our log descriptor is shared with the parent process; use our own.
                    self.log.file = None;
                }
                self.log.open_for_batch().and_then(|size| {
                    self.log
                        .write_records(&guard, size, records, scratch, &mut report, &mut done)
                })
            }
            Err(e) => Err(e),
        };
        BatchOutcome {
            written: done,
            error: result.err(),
            report,
        }
    }

    /// [`write_records`](Self::write_records), only when that is a plain
    /// append that waits for nobody: the lock is free now, no rotation is
    /// due (by time, or by size before or within these lines), and the log
    /// is not `durable`. `None`, with nothing written, when any of that is
    /// not so, or when something failed before writing (the stale check, a
    /// replaced lock file): the caller leaves the lines to a writer that
    /// waits, rotates and retries.
    pub(crate) fn append_if_free<R: AsRef<[u8]>>(
        &mut self,
        records: &[R],
        scratch: &mut Vec<u8>,
    ) -> Option<BatchOutcome> {
        if self.log.durable {
            return None;
        }
        let (guard, forked) = self.lock.try_lock().ok()?;
        if forked {
            self.log.file = None;
        }
        let size = self.log.open_for_batch().ok()?;
        if !self.log.appends_plainly(&guard, size, records) {
            return None;
        }
        let mut report = WriteReport::default();
        let mut done = 0;
        let result = self
            .log
            .write_records(&guard, size, records, scratch, &mut report, &mut done);
        Some(BatchOutcome {
            written: done,
            error: result.err(),
            report,
        })
    }
}

impl LogFile {
    /// The first step of a batch, under the lock: the log as the path names
    /// it now, its torn last line ended; returns its size.
    fn open_for_batch(&mut self) -> Result<u64> {
        self.sync_failure = None;
        let size = open_current(&mut self.file, &self.path, self.file_mode)?;
        self.end_torn_line(size)
    }

    /// Whether `records` go into a log of `size` bytes without a rotation
    /// (see [`LockedFile::append_if_free`]); under the lock.
    fn appends_plainly<R: AsRef<[u8]>>(
        &self,
        guard: &LockGuard<'_>,
        size: u64,
        records: &[R],
    ) -> bool {
        if self.timed.is_some() {
            match guard.read_rollover() {
                Some(at) if epoch_seconds(self.clock.now()) < at => {}
                _ => return false,
            }
        }
        let len: u64 = records.iter().map(|r| line_len(r.as_ref())).sum();
        !self.limit.is_full(size) && self.limit.fits(size, len)
    }

    /// The body of [`LockedFile::write_records`], after
    /// [`open_for_batch`](Self::open_for_batch) found the log at `size`
    /// bytes; the caller holds the lock.
    fn write_records<R: AsRef<[u8]>>(
        &mut self,
        guard: &LockGuard<'_>,
        mut size: u64,
        records: &[R],
        scratch: &mut Vec<u8>,
        report: &mut WriteReport,
        done: &mut usize,
    ) -> Result<()> {
        let mut rotation_failed = false;
        // Time rotation: the shared next-rollover time lives in the lock file.
        let mut rollover_at = None;
        if let Some(policy) = self.timed.clone() {
            let now = self.clock.now();
            let at = match guard.read_rollover() {
                Some(at) => at,
                None => {
                    let at = policy.next_rollover(now);
                    guard.write_rollover(at)?;
                    at
                }
            };
            let mut stored = at;
            if epoch_seconds(now) >= at {
                // An empty log has nothing to keep: only the time moves on.
                if size > 0 {
                    match self.rotate(Some(at)) {
                        Ok(()) => report.rotations += 1,
                        Err(e) => {
                            rotation_failed = true;
                            report.rotation_error = Some(e);
                        }
                    }
                    size = open_current(&mut self.file, &self.path, self.file_mode)?;
                }
                stored = policy.next_rollover(now);
                guard.write_rollover(stored)?;
            }
            // What the lock file holds now; no need to read it back.
            rollover_at = Some(stored);
        }
        while *done < records.len() {
            if self.limit.is_full(size) && !rotation_failed {
                match self.rotate(rollover_at) {
                    Ok(()) => {
                        report.rotations += 1;
                        // Python CLH: after any rollover, size included, the
                        // next time is computed from now (§6).
                        if let Some(policy) = &self.timed {
                            guard.write_rollover(policy.next_rollover(self.clock.now()))?;
                        }
                    }
                    Err(e) => {
                        // Keep appending to the unrotated file rather than lose lines
                        // (Python CLH does the same, §5 step 3).
                        rotation_failed = true;
                        report.rotation_error = Some(e);
                    }
                }
                size = open_current(&mut self.file, &self.path, self.file_mode)?;
            }
            scratch.clear();
            let first = *done;
            let mut next = first;
            while next < records.len() {
                let line = records[next].as_ref();
                let len = line_len(line);
                let joined = scratch.len() as u64;
                if !rotation_failed && !self.limit.fits(size + joined, len) {
                    break;
                }
                scratch.extend_from_slice(line);
                if line.last() != Some(&b'\n') {
                    scratch.push(b'\n');
                }
                next += 1;
            }
            if scratch.is_empty() {
                // The next line does not fit into what is left: roll first.
                size = self.limit.max_bytes;
                continue;
            }
            self.append(scratch, size)?;
            size += scratch.len() as u64;
            self.last_end = Some(size);
            report.bytes += scratch.len() as u64;
            *done = next;
        }
        if self.durable {
            let synced = self.sync();
            report.sync_error = self.sync_failure.take().or(synced.err());
        }
        Ok(())
    }

    /// A writer killed in the middle of its `write` may leave a last line
    /// without its `\n`; appending to it would glue our first line onto it.
    /// When the file is not as we left it, look at its last byte and end a torn
    /// line first, so the damage stays within the killed writer's line. Costs
    /// one `pread` per batch only when others wrote in between.
    fn end_torn_line(&mut self, size: u64) -> Result<u64> {
        if size == 0 || self.last_end == Some(size) {
            return Ok(size);
        }
        let Some(file) = self.file.as_ref() else {
            return Ok(size);
        };
        let mut last = [0u8; 1];
        // A log we may only append to (no read permission) is not checked.
        let torn = std::os::unix::fs::FileExt::read_exact_at(file, &mut last, size - 1)
            .is_ok_and(|()| last[0] != b'\n');
        if !torn {
            self.last_end = Some(size);
            return Ok(size);
        }
        self.append(b"\n", size)?;
        self.last_end = Some(size + 1);
        Ok(size + 1)
    }

    /// One `write_all` of `bytes`. On failure the partial write is cut off again,
    /// so a failed batch never leaves a torn line: we hold the lock and every
    /// writer appends under it, so everything past `size_before` is ours.
    fn append(&mut self, bytes: &[u8], size_before: u64) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(self.write_error(io::Error::other("log file is not open")));
        };
        if let Err(e) = file.write_all(bytes) {
            let _ = file.set_len(size_before);
            // Reopen on the next batch: the descriptor may be in a bad state.
            self.file = None;
            return Err(self.write_error(e));
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        match self.file.as_ref().map(File::sync_data) {
            Some(Err(e)) => Err(Error::io(ErrorKind::Sync, self.path.clone(), e)),
            _ => Ok(()),
        }
    }

    fn write_error(&self, e: io::Error) -> Error {
        Error::io(ErrorKind::Write, self.path.clone(), e)
    }

    /// Rotation, under the lock. The next write creates a new log.
    ///
    /// Size only (PROTOCOL.md §5): move the log to a private
    /// `app.log.rotate.<N>`, shift `.1…` up by one and move it to `.1`. With
    /// time rotation (§6), the log moves to `app.log.<period>` named after
    /// `rollover_at`, size rollovers included. Either way the rotated file is
    /// in its final place in the backups when the lock is released; with
    /// compression it is then compressed there, in the background (see
    /// `compress`).
    fn rotate(&mut self, rollover_at: Option<i64>) -> Result<()> {
        if self.durable
            && let Err(e) = self.sync()
        {
            // The lines before the rotation are in the file, unsynced; the
            // batch reports it. Rotating does not need the sync.
            self.sync_failure.get_or_insert(e);
        }
        let claim = if self.compressor.is_some() {
            Some(self.claim_current()?)
        } else {
            self.file = None;
            None
        };
        let dest = match (&self.timed, rollover_at) {
            (Some(policy), Some(at)) => {
                backups::unused_timed_name(&self.path, &policy.period_label(at))
            }
            (Some(policy), None) => {
                let at = policy.next_rollover(self.clock.now());
                backups::unused_timed_name(&self.path, &policy.period_label(at))
            }
            (None, _) => unused_temp_path(&self.path),
        };
        backups::rename(&self.path, &dest)?;
        if self.timed.is_none() {
            // Steps 5–7: on failure the data stays, whole, under the
            // temporary name: `*.rotate.*` files are never deleted.
            let ext = self.compressor.as_ref().map_or("", |c| c.extension());
            backups::shift_chain(&self.path, self.retention.backup_count, ext)?;
            backups::publish_as_newest(&dest, &self.path, ext)?;
        }
        if let (Some(compressor), Some(claim)) = (self.compressor.as_mut(), claim) {
            compressor.compress(claim);
        }
        self.apply_retention(false)
    }

    /// Takes the flock of the log file itself, so that the compressor owns
    /// the rotated file from the moment it is renamed and no leftover scan
    /// grabs it.
    fn claim_current(&mut self) -> Result<Claim> {
        let file = match self.file.take() {
            Some(file) => file,
            None => File::open(&self.path).map_err(|e| self.write_error(e))?,
        };
        Claim::take(file, &self.path)
    }

    /// Deletes what retention says must go (under the lock). Compressed chain
    /// backups are retained by the compressor when it publishes them.
    fn apply_retention(&self, at_start: bool) -> Result<()> {
        let now = self.clock.now();
        match &self.timed {
            Some(policy) => {
                let busy: &dyn Fn(&Path) -> bool = if self.compressor.is_some() {
                    &is_claimed
                } else {
                    &|_: &Path| false
                };
                backups::apply_timed_retention(&self.path, policy, self.retention, now, busy)?;
            }
            None if at_start || self.retention.max_age.is_some() => {
                backups::apply_chain_retention(&self.path, self.retention, now, at_start)?;
            }
            None => {}
        }
        Ok(())
    }
}

/// The bytes `line` takes in the log: a missing final `\n` is added.
fn line_len(line: &[u8]) -> u64 {
    line.len() as u64 + u64::from(line.last() != Some(&b'\n'))
}

/// `path.rotate.<N>` that does not exist yet.
fn unused_temp_path(path: &Path) -> PathBuf {
    let mut temp = temp_rotation_path(path);
    // 64 random bits: a clash is all but impossible; a few tries rule it out.
    for _ in 0..8 {
        if !temp.exists() {
            break;
        }
        temp = temp_rotation_path(path);
    }
    temp
}

/// Opens the log for appending (`O_APPEND`, every write lands at the end, as
/// Python CLH's "a" mode), and for reading when allowed, to check its last byte
/// (see `end_torn_line`).
fn open_log(path: &Path, mode: u32) -> Result<File> {
    let open = |read: bool| {
        OpenOptions::new()
            .read(read)
            .append(true)
            .create(true)
            .mode(mode)
            .open(path)
    };
    open(true)
        .or_else(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => open(false),
            _ => Err(e),
        })
        .map_err(|e| obstacle::open_error(ErrorKind::OpenLog, path, e))
}

/// The size of the file now at `path`, reopening it first if the descriptor in
/// `file` no longer is that file (another process rotated it, or it was removed
/// or replaced): the stale check of PROTOCOL.md §3, one `fstat` and one
/// `stat` per batch.
fn open_current(file: &mut Option<File>, path: &Path, mode: u32) -> Result<u64> {
    let stat_error = |e: io::Error| Error::io(ErrorKind::Stat, path.to_path_buf(), e);
    if let Some(open) = file.as_ref() {
        let ours = open.metadata().map_err(stat_error)?;
        match fs::metadata(path) {
            Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {
                return Ok(ours.len());
            }
            // Rotated away or removed: what we hold is no longer the log.
            _ => *file = None,
        }
    }
    let reopened = open_log(path, mode)?;
    let size = reopened.metadata().map_err(stat_error)?.len();
    *file = Some(reopened);
    Ok(size)
}

/// The largest join buffer kept between batches.
pub(crate) const MAX_KEPT_SCRATCH: usize = 1 << 20;
