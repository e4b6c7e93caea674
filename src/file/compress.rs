//! Compression of rotated backups, off the write path and crash-safe.
//!
//! A rotation stays a cheap rename under the lock, and the rotated file takes
//! its place in the backups at once, uncompressed: `app.log.1` of the numbered
//! chain (PROTOCOL.md §5) or `app.log.<period>` (§6), as §7 describes. The chain is therefore
//! in rotation order whichever process compresses what, and whenever it
//! finishes: the order is fixed under the lock, at rotation time. A background
//! thread then compresses each backup it rotated, found by its inode, since
//! later rotations (ours or another process's) may shift it to `.2`, `.3`, …:
//!
//! 1. the rotating writer flocks the log's descriptor before renaming it (the
//!    *claim*: whoever holds it is compressing that file) and hands the claim
//!    to this thread;
//! 2. under the log lock the thread finds the backup by inode, opens it, and
//!    creates and flocks a private `app.log.compress.<N><ext>.tmp`;
//! 3. without the lock it compresses into the temporary file and fsyncs it;
//! 4. under the lock it finds the backup again and renames the temporary file
//!    to `<backup><ext>` (a complete archive, never a partial one under a
//!    final name), then removes the plain backup. A backup that retention
//!    removed meanwhile is simply not published.
//!
//! A process that ends or is killed part-way leaves a plain backup that
//! nobody claims (its flocks died with it) and maybe a temporary file nobody
//! holds. At start and after every rotation a scan under the log lock finds
//! them: unheld temporary files are removed, unclaimed plain backups are
//! claimed and compressed. A claim is only taken on the file the path still
//! names, checked after locking, so a file that was published and removed
//! between our `open` and our `flock` is never taken for a leftover. Nothing
//! is deleted that holds the only copy of a record.
//!
//! Dropping the handle waits (at most [`DROP_WAIT`]) for the compressions it
//! queued. A process forked from one with a compressor starts its own thread
//! at its first rotation. Compression goes through `async-compression`,
//! driven by a small executor on this thread.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::backups::{self, Retention};
use super::codec::{Compression, compress_file};
use super::lock::LockFile;
use super::rotation::{TimedPolicy, name_suffix, with_suffix};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::report::ErrorReporter;
use crate::stats::{Counters, add};
use crate::sync::lock_unpoisoned;

/// How rotated files are named, so that the compressor knows which plain
/// files are backups of this log.
#[derive(Debug, Clone)]
pub(crate) enum Naming {
    /// The numbered chain `app.log.<N>`.
    Chain,
    /// Timed backups `app.log.<period>[.<k>]`.
    Timed(TimedPolicy),
}

/// A rotated file, flocked through `file` by the writer that rotated it.
#[derive(Debug)]
pub(crate) struct Claim {
    /// Kept open for its flock only: closing it releases the claim.
    _locked: File,
    id: FileId,
}

impl Claim {
    /// Takes the claim on `file`, the log about to be renamed under the lock
    /// (nobody else locks the log itself; Python CLH locks only the lock file).
    pub(crate) fn take(file: File, path: &Path) -> Result<Claim> {
        let id = FileId::of(&file).map_err(|e| stat_error(path, e))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Claim { _locked: file, id }),
            Err(e) => Err(Error::io(ErrorKind::Lock, path, e.into())),
        }
    }
}

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(file: &File) -> io::Result<FileId> {
        let meta = file.metadata()?;
        Ok(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

fn stat_error(path: &Path, e: io::Error) -> Error {
    Error::io(ErrorKind::Stat, path.to_path_buf(), e)
}

enum Job {
    /// Compress the claimed backup in place.
    Compress(Claim),
    /// Look for leftovers of interrupted compressions and finish them.
    Recover,
}

/// Jobs queued and not yet done, and a condition to wait for none.
type Pending = Arc<(Mutex<usize>, Condvar)>;

/// How long dropping a handle waits for the compressions it queued.
pub(crate) const DROP_WAIT: Duration = Duration::from_secs(60);

/// The handle of the compression thread of one log.
pub(crate) struct Compressor {
    config: Arc<CompressorConfig>,
    jobs: mpsc::Sender<Job>,
    pending: Pending,
    /// The process that started the thread; a forked child starts its own.
    started_by: u32,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("compression", &self.config.compression)
            .finish_non_exhaustive()
    }
}

/// Everything the compression thread needs.
pub(crate) struct CompressorConfig {
    pub(crate) log: PathBuf,
    pub(crate) lock_path: PathBuf,
    pub(crate) file_mode: u32,
    pub(crate) compression: Compression,
    pub(crate) naming: Naming,
    pub(crate) retention: Retention,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) errors: Arc<ErrorReporter>,
}

impl Compressor {
    /// Starts the thread, which first looks for leftovers of a previous run.
    pub(crate) fn start(config: CompressorConfig) -> Result<Compressor> {
        let config = Arc::new(config);
        let (jobs, pending) = spawn_worker(&config)?;
        let compressor = Compressor {
            config,
            jobs,
            pending,
            started_by: crate::fork::current_pid(),
        };
        compressor.send(Job::Recover);
        Ok(compressor)
    }

    /// Queues the claimed backup for compression, followed by a scan for
    /// leftovers.
    pub(crate) fn compress(&mut self, claim: Claim) {
        self.restart_if_forked();
        self.send(Job::Compress(claim));
        self.send(Job::Recover);
    }

    /// Queues a scan for leftovers: plain backups nobody compresses (such as
    /// a recovered orphan) are claimed and compressed.
    pub(crate) fn recover_leftovers(&mut self) {
        self.restart_if_forked();
        self.send(Job::Recover);
    }

    /// A child made by `fork()` has none of its parent's threads: start ours.
    /// The parent's queue and counter are left alone (a parent thread may have
    /// held their locks at the fork).
    fn restart_if_forked(&mut self) {
        let pid = crate::fork::current_pid();
        if pid == self.started_by {
            return;
        }
        match spawn_worker(&self.config) {
            Ok((jobs, pending)) => {
                self.jobs = jobs;
                self.pending = pending;
                self.started_by = pid;
            }
            Err(e) => self.config.errors.report(&e),
        }
    }

    fn send(&self, job: Job) {
        *lock_unpoisoned(&self.pending.0) += 1;
        if self.jobs.send(job).is_err() {
            // The thread is gone (it never exits while we hold the sender);
            // a leftover is repaired at the next start.
            finish_job(&self.pending);
        }
    }

    /// The extension of this log's archives (`.gz`, `.zst`).
    pub(crate) fn extension(&self) -> &'static str {
        self.config.compression.extension()
    }

    /// A handle to wait for the queue to empty, usable without holding the
    /// log's mutex.
    pub(crate) fn idle(&self) -> CompressionIdle {
        CompressionIdle(Arc::clone(&self.pending))
    }
}

impl Drop for Compressor {
    /// Lets the compressions this handle queued finish (a script that simply
    /// ends leaves a complete set of archives), waiting at most [`DROP_WAIT`].
    /// What is still running then is finished by the next start.
    fn drop(&mut self) {
        if crate::fork::current_pid() == self.started_by {
            self.idle().wait(DROP_WAIT);
        }
    }
}

fn spawn_worker(config: &Arc<CompressorConfig>) -> Result<(mpsc::Sender<Job>, Pending)> {
    let lock = LockFile::open(&config.lock_path, config.file_mode)?;
    let (jobs, rx) = mpsc::channel();
    let pending: Pending = Arc::new((Mutex::new(0), Condvar::new()));
    let worker = Worker {
        config: Arc::clone(config),
        lock,
        pending: Arc::clone(&pending),
    };
    std::thread::Builder::new()
        .name("clh-compress".into())
        .spawn(move || worker.run(rx))
        .map_err(Error::spawn)?;
    Ok((jobs, pending))
}

/// Waits for a compressor's queued jobs; see [`Compressor::idle`].
#[derive(Debug, Clone)]
pub(crate) struct CompressionIdle(Pending);

impl CompressionIdle {
    /// Blocks until every queued job is done, or `timeout` passed; returns
    /// whether the queue is empty.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let (count, idle) = &*self.0;
        let guard = lock_unpoisoned(count);
        let (guard, _) = idle
            .wait_timeout_while(guard, timeout, |n| *n > 0)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard == 0
    }
}

fn finish_job(pending: &(Mutex<usize>, Condvar)) {
    let mut count = lock_unpoisoned(&pending.0);
    *count = count.saturating_sub(1);
    if *count == 0 {
        pending.1.notify_all();
    }
}

struct Worker {
    config: Arc<CompressorConfig>,
    lock: LockFile,
    pending: Pending,
}

/// A compression under way: the source opened, the temporary file created.
struct Started {
    source: File,
    tmp: PathBuf,
    output: File,
}

impl Worker {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        for job in jobs {
            let result = match job {
                Job::Compress(claim) => self.compress_in_place(claim),
                Job::Recover => self.recover(),
            };
            if let Err(error) = result {
                add(&self.config.counters.compression_errors, 1);
                self.config.errors.report(&error);
            }
            finish_job(&self.pending);
        }
    }

    /// Steps 2–4 of the module docs for one claimed backup. The claim is
    /// released when this returns, whatever happened.
    fn compress_in_place(&mut self, claim: Claim) -> Result<()> {
        let Some(started) = self.start_compression(claim.id)? else {
            return Ok(()); // retention removed it meanwhile
        };
        let Started {
            source,
            tmp,
            output,
        } = started;
        // `output` stays open, with its flock, until the archive is published:
        // a scan in another process must not take it for a leftover.
        if let Err(e) = compress_file(source, &output, self.config.compression) {
            let _ = fs::remove_file(&tmp);
            // The plain backup stays, whole; the next scan tries again.
            return Err(Error::io(ErrorKind::Compress, tmp, e));
        }
        let published = self.publish(claim.id, &tmp);
        if published.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        drop(output);
        drop(claim);
        published
    }

    /// Under the lock: the backup's current path, opened, and a fresh
    /// temporary file, flocked so that no scan takes it for a leftover.
    fn start_compression(&mut self, id: FileId) -> Result<Option<Started>> {
        let (_guard, _) = self.lock.lock()?;
        let Some(path) = find_backup(&self.config, id)? else {
            return Ok(None);
        };
        let source = File::open(&path).map_err(|e| compress_error(&path, e))?;
        if FileId::of(&source).ok() != Some(id) {
            return Ok(None);
        }
        let (tmp, output) = create_temp(&self.config)?;
        Ok(Some(Started {
            source,
            tmp,
            output,
        }))
    }

    /// Under the lock: the complete archive replaces the plain backup,
    /// wherever the chain has moved it by now.
    fn publish(&mut self, id: FileId, tmp: &Path) -> Result<()> {
        let (_guard, _) = self.lock.lock()?;
        let Some(plain) = find_backup(&self.config, id)? else {
            // Retention removed the backup while it was compressed.
            fs::remove_file(tmp).map_err(|e| compress_error(tmp, e))?;
            return Ok(());
        };
        backups::rename(
            tmp,
            &with_suffix(&plain, self.config.compression.extension()),
        )?;
        backups::remove(&plain)?;
        add(&self.config.counters.compressions, 1);
        let now = self.config.clock.now();
        let log = &self.config.log;
        match &self.config.naming {
            Naming::Chain => {
                backups::apply_chain_retention(log, self.config.retention, now, false)?;
            }
            Naming::Timed(policy) => {
                backups::apply_timed_retention(
                    log,
                    policy,
                    self.config.retention,
                    now,
                    &is_claimed,
                )?;
            }
        }
        Ok(())
    }

    /// Finds leftovers under the lock, claims the plain backups nobody
    /// compresses, then compresses them without the lock.
    fn recover(&mut self) -> Result<()> {
        let mut claimed = Vec::new();
        {
            let (_guard, _) = self.lock.lock()?;
            for (path, kind) in leftovers(&self.config)? {
                let Some(file) = try_claim(&path) else {
                    continue; // a live compression holds it
                };
                let archive = with_suffix(&path, self.config.compression.extension());
                match kind {
                    Leftover::Temp => backups::remove(&path)?,
                    // Its archive was published and the plain copy not
                    // removed (killed, or the unlink failed): it is done.
                    Leftover::Plain if fs::symlink_metadata(&archive).is_ok() => {
                        backups::remove(&path)?;
                    }
                    Leftover::Plain => {
                        let id = FileId::of(&file).map_err(|e| stat_error(&path, e))?;
                        claimed.push(Claim { _locked: file, id });
                    }
                }
            }
        }
        for claim in claimed {
            self.compress_in_place(claim)?;
        }
        Ok(())
    }
}

fn compress_error(path: &Path, e: io::Error) -> Error {
    Error::io(ErrorKind::Compress, path.to_path_buf(), e)
}

/// What a scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leftover {
    /// A plain backup: compress it, if nobody does.
    Plain,
    /// A temporary file of a compression: remove it, if nobody writes it.
    Temp,
}

/// Creates and flocks `app.log.compress.<N><ext>.tmp` (N random, like the
/// `.rotate.<N>` names), exclusively: never a file someone planted there.
fn create_temp(config: &CompressorConfig) -> Result<(PathBuf, File)> {
    let ext = config.compression.extension();
    let mut last_error = None;
    for _ in 0..8 {
        // Appended to the log's own name, bytes and all, so that the
        // leftover scan recognises it whatever the log is called.
        let suffix = format!(".compress.{:08}{ext}.tmp", fastrand::u64(..));
        let tmp = with_suffix(&config.log, &suffix);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(config.file_mode)
            .open(&tmp)
        {
            Ok(file) => {
                // Fresh and ours: the lock cannot be contended.
                let _ = fs4::FileExt::try_lock(&file);
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(compress_error(&tmp, e)),
        }
    }
    let e = last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
    let dir = config.log.parent().unwrap_or(Path::new("."));
    Err(compress_error(dir, e))
}

/// Plain backups and temporary files of this log's directory. Compressed
/// archives, the log itself and foreign files are not listed.
fn leftovers(config: &CompressorConfig) -> Result<Vec<(PathBuf, Leftover)>> {
    let mut found = Vec::new();
    for_each_entry(config, |path, rest, _| {
        if let Some(kind) = classify(config, rest) {
            found.push((path, kind));
        }
    })?;
    Ok(found)
}

/// The plain backup of this log that is the file `id`, if it is still one.
fn find_backup(config: &CompressorConfig, id: FileId) -> Result<Option<PathBuf>> {
    let mut found = None;
    for_each_entry(config, |path, rest, ino| {
        if found.is_none()
            && ino == id.ino
            && classify(config, rest) == Some(Leftover::Plain)
            && fs::symlink_metadata(&path).is_ok_and(|m| m.dev() == id.dev && m.is_file())
        {
            found = Some(path);
        }
    })?;
    Ok(found)
}

/// Calls `f(path, rest, inode)` for each entry `app.log.<rest>` of the log's
/// directory.
fn for_each_entry(config: &CompressorConfig, mut f: impl FnMut(PathBuf, &str, u64)) -> Result<()> {
    let log = &config.log;
    let Some(dir) = log.parent() else {
        return Ok(());
    };
    let entries =
        fs::read_dir(dir).map_err(|e| Error::io(ErrorKind::ReadDir, dir.to_path_buf(), e))?;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = name_suffix(log, &file) else {
            continue;
        };
        f(entry.path(), rest, entry.ino());
    }
    Ok(())
}

/// What `app.log.<rest>` is to the compressor, if anything.
fn classify(config: &CompressorConfig, rest: &str) -> Option<Leftover> {
    if let Some(tmp) = rest.strip_prefix("compress.")
        && tmp.ends_with(".tmp")
    {
        return Some(Leftover::Temp);
    }
    let plain = match &config.naming {
        Naming::Chain => backups::parse_chain_number(rest).is_some(),
        Naming::Timed(policy) => backups::parse_timed(rest, policy).is_some(),
    };
    plain.then_some(Leftover::Plain)
}

/// Opens `path` and takes its flock without waiting: `None` when a live
/// compression (ours or another process's) holds it, or when the path no
/// longer names the file we locked (it was renamed or removed between our
/// `open` and our `flock`: a compression finished and removed it).
fn try_claim(path: &Path) -> Option<File> {
    claim_opened(File::open(path).ok()?, path)
}

/// The second half of [`try_claim`], for a file opened from `path` earlier.
fn claim_opened(file: File, path: &Path) -> Option<File> {
    fs4::FileExt::try_lock(&file).ok()?;
    let ours = file.metadata().ok()?;
    let now = fs::symlink_metadata(path).ok()?;
    let same = ours.dev() == now.dev() && ours.ino() == now.ino() && ours.nlink() > 0;
    same.then_some(file)
}

/// Whether a live compression holds `path`.
pub(crate) fn is_claimed(path: &Path) -> bool {
    match File::open(path) {
        Ok(file) => fs4::FileExt::try_lock(&file).is_err(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_refused_when_the_path_no_longer_names_the_locked_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log.1");
        fs::write(&path, "whole backup\n").expect("write");
        // Opened by a scan just before another process published and
        // removed it: the lock on the unlinked file succeeds, the claim not.
        let opened = File::open(&path).expect("open");
        fs::remove_file(&path).expect("remove");
        assert!(claim_opened(opened, &path).is_none());
        // Opened just before the name was given to another file.
        fs::write(&path, "first\n").expect("write");
        let opened = File::open(&path).expect("open");
        let other = dir.path().join("other");
        fs::write(&other, "second\n").expect("write");
        fs::rename(&other, &path).expect("rename");
        assert!(claim_opened(opened, &path).is_none());
    }

    #[test]
    fn a_held_claim_excludes_every_other_claim() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log.1");
        fs::write(&path, "whole backup\n").expect("write");
        let held = try_claim(&path).expect("an unclaimed file is claimed");
        assert!(try_claim(&path).is_none(), "claimed twice");
        assert!(is_claimed(&path));
        drop(held);
        assert!(try_claim(&path).is_some(), "released with its descriptor");
    }
}
