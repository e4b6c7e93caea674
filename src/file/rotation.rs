//! When to roll the log, and what the lock file and backups are called.
//!
//! Names follow Python CLH (clh-protocol.md §1, §5) so both can share one log:
//! the lock file is `.__<stem>.lock` beside the log, backups are `app.log.1`
//! (newest) to `app.log.N` (oldest), and a rotation first moves the log to a
//! private `app.log.rotate.<random>` name.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The lock file for `log` (clh-protocol.md §1): `<dir>/.__<stem>.lock`, where
/// `<stem>` is the file name minus a trailing `.log` (exact, case-sensitive).
/// With `lock_dir`, the lock file lives there instead of beside the log.
pub(crate) fn lock_file_path(log: &Path, lock_dir: Option<&Path>) -> PathBuf {
    let name = log.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".log").unwrap_or(&name);
    let dir = lock_dir.or_else(|| log.parent()).unwrap_or(Path::new("."));
    dir.join(format!(".__{stem}.lock"))
}

/// `app.log.<n>`: the n-th backup, 1 being the newest.
pub(crate) fn backup_path(log: &Path, n: usize) -> PathBuf {
    with_suffix(log, &format!(".{n}"))
}

/// `<path><suffix>`, appended to the file name (not an extension swap).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `app.log.rotate.<N>`: N is 64 random bits in decimal, at least 8 digits, as
/// Python CLH names it (clh-protocol.md §5, step 3).
pub(crate) fn temp_rotation_path(log: &Path) -> PathBuf {
    with_suffix(log, &format!(".rotate.{:08}", fastrand::u64(..)))
}

/// How the size of the current file limits what goes into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeLimit {
    /// 0 = never rotate (Python CLH's convention).
    pub(crate) max_bytes: u64,
}

impl SizeLimit {
    /// Python CLH's rule (clh-protocol.md §4): the file is full once it reached
    /// `max_bytes`, whatever comes next.
    pub(crate) fn is_full(self, size: u64) -> bool {
        self.max_bytes > 0 && size >= self.max_bytes
    }

    /// Whether a line of `len` bytes may still go into a file of `size` bytes.
    ///
    /// DIFFERENCE from Python CLH, which checks only [`is_full`](Self::is_full)
    /// and so overshoots by up to one record: we also roll when the line would
    /// push the file past `max_bytes`. A file exceeds the limit only when one
    /// line alone is larger, and then that line goes alone into an empty file.
    /// Both rules run under the same lock, so mixed writers stay consistent.
    pub(crate) fn fits(self, size: u64, len: u64) -> bool {
        self.max_bytes == 0 || size == 0 || size.saturating_add(len) <= self.max_bytes
    }
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
    fn backup_and_temp_names() {
        let log = Path::new("/d/app.log");
        assert_eq!(backup_path(log, 1), PathBuf::from("/d/app.log.1"));
        assert_eq!(backup_path(log, 12), PathBuf::from("/d/app.log.12"));
        let temp = temp_rotation_path(log).to_string_lossy().into_owned();
        let digits = temp.strip_prefix("/d/app.log.rotate.").expect("prefix");
        assert!(
            digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()),
            "{temp}"
        );
    }

    #[test]
    fn size_limit_table() {
        let limit = SizeLimit { max_bytes: 100 };
        // (size, next line, full?, fits?)
        let cases = [
            (0, 10, false, true),
            (0, 500, false, true), // alone into an empty file
            (90, 10, false, true), // exactly reaches the limit
            (91, 10, false, false),
            (100, 1, true, false),
            (150, 1, true, false),
        ];
        for (size, len, full, fits) in cases {
            assert_eq!(limit.is_full(size), full, "{size}+{len}");
            assert_eq!(limit.fits(size, len), fits, "{size}+{len}");
        }
        let never = SizeLimit { max_bytes: 0 };
        assert!(!never.is_full(u64::MAX));
        assert!(never.fits(u64::MAX, u64::MAX));
    }
}
