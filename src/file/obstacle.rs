//! Why a file or directory could not be made. The operating system's
//! answer names a symptom ("No such file or directory" for a lock file
//! whose directory is missing, "File exists" for a directory that is a
//! file); a look at the path after it refused finds the cause a person can
//! act on, which the error then states ([`Obstacle`]). The operating
//! system's error stays available through `Error::io_error`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Obstacle, Result};

/// The error of opening or creating the file at `path` for writing.
pub(crate) fn open_error(kind: ErrorKind, path: &Path, source: io::Error) -> Error {
    match file_obstacle(path, &source) {
        Some(obstacle) => Error::blocked(kind, path, obstacle, source),
        None => Error::io(kind, path, source),
    }
}

/// The error of creating the directory `dir` and its missing parents.
fn create_dir_error(dir: &Path, source: io::Error) -> Error {
    let obstacle = match (source.kind(), nearest_existing(dir)) {
        (
            io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory | io::ErrorKind::NotFound,
            Some((at, false)),
        ) => Some(Obstacle::FileInTheWay(at)),
        (io::ErrorKind::PermissionDenied, Some((at, true))) => Some(Obstacle::DirNotWritable(at)),
        _ => None,
    };
    match obstacle {
        Some(obstacle) => Error::blocked(ErrorKind::CreateDir, dir, obstacle, source),
        None => Error::io(ErrorKind::CreateDir, dir, source),
    }
}

/// Creates the directories of the log and of its lock file, or, for a
/// handler told not to (`create_dirs(false)`), checks that they exist. The
/// lock file is opened first, but a missing directory they share is the
/// log's, and named as such.
pub(crate) fn prepare_dirs(create: bool, log: &Path, lock: &Path) -> Result<()> {
    if create {
        for dir in [log.parent(), lock.parent()].into_iter().flatten() {
            fs::create_dir_all(dir).map_err(|e| create_dir_error(dir, e))?;
        }
        return Ok(());
    }
    check_dir_of(ErrorKind::OpenLog, log)?;
    check_dir_of(ErrorKind::OpenLockFile, lock)
}

/// Checks that the directory the file at `path` goes into exists: a missing
/// one is named, with the file (of `kind`) that needs it.
fn check_dir_of(kind: ErrorKind, path: &Path) -> Result<()> {
    let dir = parent(path);
    match fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::blocked(
            kind,
            path,
            Obstacle::FileInTheWay(dir),
            // What opening the file would have said.
            io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(e) => Err(open_error(kind, path, e)),
    }
}

fn file_obstacle(path: &Path, err: &io::Error) -> Option<Obstacle> {
    let dir = parent(path);
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            match nearest_existing(&dir)? {
                (at, false) => Some(Obstacle::FileInTheWay(at)),
                // The directory is there: what is missing is something else
                // (the target of a symlink at `path`), which the OS error says.
                (at, true) if at == dir => None,
                (_, true) => Some(Obstacle::MissingDir(dir)),
            }
        }
        io::ErrorKind::PermissionDenied => match fs::metadata(path) {
            Ok(_) => Some(Obstacle::FileNotWritable),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                matches!(nearest_existing(&dir), Some((at, true)) if at == dir)
                    .then_some(Obstacle::DirNotWritable(dir))
            }
            // A directory on the way does not let this user look in: the
            // OS error says so.
            Err(_) => None,
        },
        _ => None,
    }
}

/// The directory `path` names as its parent (`.` for a bare file name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` or its nearest ancestor that exists, and whether it is a
/// directory; `None` when the file system does not say (a directory on the
/// way cannot be searched).
fn nearest_existing(path: &Path) -> Option<(PathBuf, bool)> {
    for at in path.ancestors() {
        match fs::metadata(at) {
            Ok(meta) => return Some((at.to_path_buf(), meta.is_dir())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_system_names_the_obstacle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let plain = root.join("plain");
        fs::write(&plain, "x").expect("write");
        let os = io::Error::from_raw_os_error;
        let obstacle = |err: Error| match err.to_string() {
            text if text.contains("does not exist") => "missing",
            text if text.contains("a file stands") => "file in the way",
            text if text.contains("the file's permissions") => "file not writable",
            text if text.contains("does not let this user") => "dir not writable",
            _ => "none",
        };
        let cases = [
            (
                open_error(
                    ErrorKind::OpenLog,
                    &root.join("a/b/app.log"),
                    os(libc::ENOENT),
                ),
                "missing",
            ),
            (
                open_error(
                    ErrorKind::OpenLog,
                    &plain.join("app.log"),
                    os(libc::ENOTDIR),
                ),
                "file in the way",
            ),
            (
                open_error(
                    ErrorKind::OpenLog,
                    &plain.join("a/app.log"),
                    os(libc::ENOTDIR),
                ),
                "file in the way",
            ),
            // The directory exists: a dangling symlink's target is missing.
            (
                open_error(ErrorKind::OpenLog, &root.join("app.log"), os(libc::ENOENT)),
                "none",
            ),
            (
                open_error(ErrorKind::OpenLog, &plain, os(libc::EACCES)),
                "file not writable",
            ),
            (
                open_error(ErrorKind::OpenLog, &root.join("new.log"), os(libc::EACCES)),
                "dir not writable",
            ),
            (
                create_dir_error(&plain, os(libc::EEXIST)),
                "file in the way",
            ),
            (
                create_dir_error(&plain.join("logs"), os(libc::ENOTDIR)),
                "file in the way",
            ),
            (
                create_dir_error(&root.join("logs"), os(libc::EACCES)),
                "dir not writable",
            ),
            (create_dir_error(&root.join("logs"), os(libc::EIO)), "none"),
        ];
        for (i, (err, want)) in cases.into_iter().enumerate() {
            let text = err.to_string();
            assert_eq!(obstacle(err), want, "case {i}: {text}");
        }
    }
}
