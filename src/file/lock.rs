//! The lock file beside the log, and an RAII guard for its exclusive lock.
//!
//! Python CLH serialises writers with `flock(LOCK_EX)` on `.__<stem>.lock`
//! (PROTOCOL.md §1–§2); so do we, through `fs4`, whose `FileExt::lock` is
//! flock(2). The lock file is opened without truncation and is never removed or
//! renamed: a second inode would split the writers into groups that do not
//! exclude each other (§8).
//!
//! flock belongs to the open file description, so a child made by `fork()`
//! without `exec` would share its parent's lock. [`LockFile::lock`] notices a
//! changed process id and opens the lock file anew first.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt as _, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The lock file for `log` (PROTOCOL.md §1): `<dir>/.__<stem>.lock`, where
/// `<stem>` is the file name minus a trailing `.log` (exact, case-sensitive).
/// With `lock_dir`, the lock file lives there instead of beside the log.
pub(crate) fn lock_file_path(log: &Path, lock_dir: Option<&Path>) -> PathBuf {
    // Bytes, not a lossy string: two logs whose names are not UTF-8 must
    // not share one lock file.
    let name = log.file_name().unwrap_or_default().as_bytes();
    let stem = name.strip_suffix(b".log").unwrap_or(name);
    let mut lock_name = b".__".to_vec();
    lock_name.extend_from_slice(stem);
    lock_name.extend_from_slice(b".lock");
    let dir = lock_dir.or_else(|| log.parent()).unwrap_or(Path::new("."));
    dir.join(std::ffi::OsStr::from_bytes(&lock_name))
}

/// How many times [`LockFile::lock`] follows a lock file replaced under it
/// before it gives up.
const MAX_REOPENS: u32 = 16;

/// The open lock file of one log.
#[derive(Debug)]
pub(crate) struct LockFile {
    path: PathBuf,
    file: File,
    /// `file`'s device and inode, which never change while it is open:
    /// the stale check compares them with the path's without an `fstat`.
    id: (u64, u64),
    mode: u32,
    /// The process that opened `file`; another pid means we were forked.
    opened_by: u32,
}

/// Holds the exclusive lock until dropped.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub(crate) struct LockGuard<'a> {
    lock: &'a LockFile,
}

impl LockFile {
    /// Opens (creating if needed, never truncating) the lock file at `path`.
    pub(crate) fn open(path: &Path, mode: u32) -> Result<LockFile> {
        let (file, id) = open_lock_file(path, mode)?;
        Ok(LockFile {
            path: path.to_path_buf(),
            file,
            id,
            mode,
            opened_by: crate::fork::current_pid(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Blocks until this process holds the exclusive lock.
    ///
    /// Returns `true` in the second field when the lock file had to be reopened
    /// because the process was forked: the caller's other descriptors are then
    /// shared with the parent too and should be reopened.
    ///
    /// Once locked, the descriptor's `(dev, ino)` is compared with the path's:
    /// if someone deleted or replaced the lock file, every writer that opens
    /// the path from now on locks the new file, so we must too, or two groups
    /// of writers would stop excluding each other. We then open the path anew
    /// and lock again. The guard returned always holds the lock on the file
    /// the path named once the lock was taken; a lock file that keeps being
    /// replaced is not chased forever: after [`MAX_REOPENS`] rounds this
    /// gives up with [`ErrorKind::LockFileReplaced`].
    pub(crate) fn lock(&mut self) -> Result<(LockGuard<'_>, bool)> {
        self.lock_with(true, || {})
    }

    /// [`lock`](Self::lock) without waiting: while another descriptor (this
    /// process's or another's) holds the lock, it fails at once with an
    /// [`ErrorKind::Lock`] error whose OS error is `WouldBlock`.
    pub(crate) fn try_lock(&mut self) -> Result<(LockGuard<'_>, bool)> {
        self.lock_with(false, || {})
    }

    /// [`lock`](Self::lock) (`wait`) or [`try_lock`](Self::try_lock),
    /// calling `after_locking` each time the descriptor was locked, before
    /// it is compared with the path (tests replace the file there).
    fn lock_with(
        &mut self,
        wait: bool,
        mut after_locking: impl FnMut(),
    ) -> Result<(LockGuard<'_>, bool)> {
        let forked = crate::fork::current_pid() != self.opened_by;
        if forked {
            (self.file, self.id) = open_lock_file(&self.path, self.mode)?;
            self.opened_by = crate::fork::current_pid();
        }
        for _ in 0..MAX_REOPENS {
            self.lock_descriptor(wait)?;
            after_locking();
            if self.is_current() {
                return Ok((LockGuard { lock: self }, forked));
            }
            let _ = fs4::FileExt::unlock(&self.file);
            (self.file, self.id) = open_lock_file(&self.path, self.mode)?;
        }
        Err(Error::lock_file_replaced(&self.path.clone(), MAX_REOPENS))
    }

    /// Locks the descriptor, waiting for the lock with `wait`, else failing
    /// with `WouldBlock` while it is held elsewhere.
    fn lock_descriptor(&self, wait: bool) -> Result<()> {
        loop {
            let locked = if wait {
                fs4::FileExt::lock(&self.file)
            } else {
                fs4::FileExt::try_lock(&self.file).map_err(|e| match e {
                    fs4::TryLockError::WouldBlock => io::ErrorKind::WouldBlock.into(),
                    fs4::TryLockError::Error(e) => e,
                })
            };
            match locked {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::io(ErrorKind::Lock, self.path.clone(), e));
                }
            }
        }
    }

    /// Whether our descriptor is still the file at the path (one `stat`).
    fn is_current(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok_and(|now| (now.dev(), now.ino()) == self.id)
    }
}

impl LockGuard<'_> {
    /// The next rollover time that timed writers keep in the lock file
    /// (PROTOCOL.md §6): decimal epoch seconds. `None` when empty or
    /// invalid, or before 2000-01-01 (946684800), as Python CLH treats it.
    pub(crate) fn read_rollover(&self) -> Option<i64> {
        let mut buf = [0u8; 32];
        let n = self.lock.file.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?.trim();
        text.parse::<i64>().ok().filter(|&t| t >= 946_684_800)
    }

    /// Stores the next rollover time: write at 0, truncate, fsync, as Python
    /// CLH does, so every writer of the log agrees on it.
    pub(crate) fn write_rollover(&self, at: i64) -> Result<()> {
        let text = at.to_string();
        let file = &self.lock.file;
        file.write_all_at(text.as_bytes(), 0)
            .and_then(|()| file.set_len(text.len() as u64))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(ErrorKind::Write, self.lock.path.clone(), e))
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Unlocking a descriptor we hold the lock on cannot fail on Linux; if it
        // ever did, closing the descriptor (at the latest) releases the lock.
        let _ = fs4::FileExt::unlock(&self.lock.file);
    }
}

/// Opens the lock file without following a symlink at its path: a link planted
/// there by someone else must not make us write our rollover time into the
/// file it points to (it fails with ELOOP instead). Returns the file with its
/// device and inode.
fn open_lock_file(path: &Path, mode: u32) -> Result<(File, (u64, u64))> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| super::obstacle::open_error(ErrorKind::OpenLockFile, path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(ErrorKind::OpenLockFile, path.to_path_buf(), e))?;
    Ok((file, (meta.dev(), meta.ino())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_names_follow_clh() {
        let cases = [
            ("/d/app.log", None, "/d/.__app.lock"),
            ("/d/app.txt", None, "/d/.__app.txt.lock"),
            ("/d/app", None, "/d/.__app.lock"),
            ("/d/a.b.log", None, "/d/.__a.b.lock"),
            ("/d/app.LOG", None, "/d/.__app.LOG.lock"),
            ("/d/jörn.log", None, "/d/.__jörn.lock"),
            ("/d/app.log", Some("/locks"), "/locks/.__app.lock"),
        ];
        for (log, dir, want) in cases {
            assert_eq!(
                lock_file_path(Path::new(log), dir.map(Path::new)),
                PathBuf::from(want),
                "{log}"
            );
        }
    }

    #[test]
    fn lock_excludes_a_second_descriptor_and_is_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".__app.lock");
        let mut first = LockFile::open(&path, 0o644).expect("open");
        let second = LockFile::open(&path, 0o644).expect("open again");
        {
            let _guard = first.lock().expect("lock");
            assert!(fs4::FileExt::try_lock(&second.file).is_err());
        }
        fs4::FileExt::try_lock(&second.file).expect("free after the guard dropped");
    }

    #[test]
    fn try_lock_is_refused_while_another_descriptor_holds_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".__app.lock");
        let mut first = LockFile::open(&path, 0o644).expect("open");
        let mut second = LockFile::open(&path, 0o644).expect("open");
        {
            let _held = first.lock().expect("lock");
            match second.try_lock() {
                Err(e) => assert_eq!(
                    e.io_error().map(io::Error::kind),
                    Some(io::ErrorKind::WouldBlock),
                    "{e}"
                ),
                Ok(_) => panic!("taken while held elsewhere"),
            }
        }
        let (guard, _) = second
            .try_lock()
            .expect("free once the first guard dropped");
        assert!(holds_lock(&guard.lock.file));
    }

    /// Whether this process holds the flock of `file`'s open file
    /// description: a second description of the same inode (opened through
    /// /proc) cannot take it then.
    fn holds_lock(file: &File) -> bool {
        use std::os::fd::AsRawFd;
        let again = File::open(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("reopen");
        fs4::FileExt::try_lock(&again).is_err()
    }

    /// Puts a fresh file at `path` (what a careless `logrotate` or a user
    /// deleting the lock file does).
    fn replace(path: &Path) {
        let fresh = path.with_extension("fresh");
        std::fs::write(&fresh, "").expect("write");
        std::fs::rename(&fresh, path).expect("replace");
    }

    #[test]
    fn a_lock_file_replaced_a_few_times_is_followed_and_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".__app.lock");
        let mut lock = LockFile::open(&path, 0o644).expect("open");
        let mut replaced = 0;
        let (guard, _) = lock
            .lock_with(true, || {
                if replaced < 3 {
                    replace(&path);
                    replaced += 1;
                }
            })
            .expect("lock");
        assert!(holds_lock(&guard.lock.file), "a guard without the lock");
        assert!(
            guard.lock.is_current(),
            "the lock is on the file the path names"
        );
    }

    #[test]
    fn a_lock_file_that_keeps_being_replaced_gives_up_without_a_guard() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".__app.lock");
        let mut lock = LockFile::open(&path, 0o644).expect("open");
        match lock.lock_with(true, || replace(&path)) {
            Err(e) if e.kind() == crate::error::ErrorKind::LockFileReplaced => {
                assert!(
                    e.to_string().contains(&format!("{MAX_REOPENS} times")),
                    "{e}"
                );
            }
            Err(e) => panic!("unexpected {e}"),
            Ok((guard, _)) => panic!(
                "returned a guard (holding the lock: {})",
                holds_lock(&guard.lock.file)
            ),
        }
        // Once it stops changing, locking works again.
        let (guard, _) = lock.lock().expect("lock");
        assert!(holds_lock(&guard.lock.file));
    }

    #[test]
    fn opening_never_truncates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".__app.lock");
        std::fs::write(&path, "1795421257").expect("write");
        let _lock = LockFile::open(&path, 0o644).expect("open");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "1795421257");
    }
}
