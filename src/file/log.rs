//! The locked, rotating log file: one batch of lines, one lock, one write.
//!
//! [`LockedFile`] is what every handler writes through. It takes bytes and
//! returns an outcome ([`BatchOutcome`]); it knows nothing of records,
//! formats, queues or tokio. Rotation itself is in [`roll`].

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod append;
mod roll;

use super::backups::Retention;
use super::compress::{CompressionIdle, Compressor, CompressorConfig, Naming};
use super::lock::{LockFile, LockGuard, lock_file_path};
use super::obstacle;
use super::options::FileConfig;
use super::rotation::{SizeLimit, TimedPolicy, epoch_seconds};
use super::tail::Partial;
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
    /// Leftovers of rotations cut short that this batch put into the
    /// backups (see `orphans`).
    pub(crate) orphans_recovered: u64,
}

impl WriteReport {
    /// Adds what this batch did to the handler's counters.
    pub(crate) fn count_into(&self, counters: &Counters) {
        add(&counters.bytes_written, self.bytes);
        add(&counters.rotations, self.rotations);
        add(&counters.orphans_recovered, self.orphans_recovered);
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
    /// A fragment of a line that a failed write left and that must be cut
    /// off before anything else is appended (see `tail`).
    partial: Option<Partial>,
    /// A rotation of ours failed part-way and may have left its
    /// `.rotate.<N>` file: look for orphans at the next batch.
    orphans_pending: bool,
    /// Orphans recovered and not yet counted in a report.
    recovered: u64,
    /// The ends of the lines joined for one write (offsets into the buffer).
    bounds: Vec<usize>,
}

impl LockedFile {
    /// Checks the configuration ([`FileConfig::check`]), creates the
    /// directories and opens lock and log.
    pub(crate) fn open(
        config: &FileConfig,
        counters: Arc<Counters>,
        errors: Arc<ErrorReporter>,
    ) -> Result<LockedFile> {
        config.check()?;
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
                errors: Arc::clone(&errors),
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
            partial: None,
            orphans_pending: false,
            recovered: 0,
            bounds: Vec::new(),
        };
        let mut log = log;
        if config.rotates() {
            // Rotations that a crash or a failure cut short are finished, and
            // retention applies, at start-up too, under the lock.
            let (_guard, _) = lock.lock()?;
            log.recover_orphans()?;
            log.apply_retention(true)?;
        }
        if log.recovered > 0 {
            add(
                &counters.orphans_recovered,
                std::mem::take(&mut log.recovered),
            );
            errors.report(&Error::rotation_recovered(&log.path));
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
        report.orphans_recovered = std::mem::take(&mut self.log.recovered);
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
        report.orphans_recovered = std::mem::take(&mut self.log.recovered);
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
        if self.log.durable || self.log.orphans_pending {
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
        let mut size = open_current(&mut self.file, &self.path, self.file_mode)?;
        if let (Some(partial), Some(file)) = (self.partial, self.file.as_ref()) {
            // Fail closed: nothing is appended after a fragment we left.
            size = partial
                .repair(file, size)
                .map_err(|e| self.write_error(e))?;
            self.partial = None;
            self.last_end = Some(size);
        }
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
        if self.orphans_pending {
            // Our last rotation failed part-way: finish it now if we can.
            match self.recover_orphans() {
                Ok(()) => self.orphans_pending = false,
                Err(e) => report.rotation_error = Some(e),
            }
        }
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
            self.bounds.clear();
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
                self.bounds.push(scratch.len());
                next += 1;
            }
            if scratch.is_empty() {
                // The next line does not fit into what is left: roll first.
                size = self.limit.max_bytes;
                continue;
            }
            let bounds = std::mem::take(&mut self.bounds);
            let appended = self.append(scratch, &bounds, size);
            self.bounds = bounds;
            if let Err((error, kept)) = appended {
                // The lines written whole before the failure are in the
                // file, and written; the rest of the batch is not.
                *done = first + self.bounds.iter().take_while(|&&b| b <= kept).count();
                report.bytes += kept as u64;
                if kept > 0 && self.durable {
                    report.sync_error = self.sync_failure.take().or(self.sync().err());
                }
                return Err(error);
            }
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
}

/// The bytes `line` takes in the log: a missing final `\n` is added.
fn line_len(line: &[u8]) -> u64 {
    line.len() as u64 + u64::from(line.last() != Some(&b'\n'))
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
