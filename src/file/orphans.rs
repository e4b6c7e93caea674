//! Rotations cut short: `app.log.rotate.<N>` files put back into the backups.
//!
//! A size rotation first renames the log to a private `app.log.rotate.<N>`,
//! then shifts the chain and moves it to `app.log.1` (PROTOCOL.md §5), all
//! within one hold of the lock; Python CLH does the same, gzipping the file
//! to `app.log.rotate.<N>.gz` on the way when it compresses. A writer killed
//! in between, or a rotation whose `rename` or `unlink` failed, leaves that
//! file behind. Since every writer finishes its rotation before it unlocks,
//! any `.rotate.*` file seen under the lock is such an orphan: nobody is
//! working on it, and nobody ever will unless we do.
//!
//! [`recover`] finishes those rotations, oldest first: each orphan goes where
//! its rotation would have put it, the newest backup of the chain (the chain
//! shifted first, which also closes a gap that an interrupted shift left), or
//! for timed logs the name of the period its last line was written in. A
//! plain orphan of a compressed log becomes a plain backup that the
//! compressor then claims and compresses like any other leftover. Nothing is
//! deleted but a compressed copy of an orphan whose plain file still exists
//! (a compression that was cut short: the plain file holds every line).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::backups;
use super::codec::ALL_EXTENSIONS;
use super::rotation::{TimedPolicy, name_suffix, with_suffix};
use crate::error::{Error, ErrorKind, Result};

/// One leftover `.rotate.<N>` file.
#[derive(Debug)]
struct Orphan {
    path: PathBuf,
    /// `None` for the plain file, else the compression extension it has.
    ext: Option<&'static str>,
    modified: SystemTime,
}

/// Whether `rest` (what follows `app.log.` in a name) is `rotate.<digits>`,
/// plain or with a compression extension; returns that extension.
fn parse_orphan(rest: &str) -> Option<Option<&'static str>> {
    let digits = rest.strip_prefix("rotate.")?;
    let (digits, ext) = match ALL_EXTENSIONS
        .iter()
        .find_map(|ext| digits.strip_suffix(ext).map(|d| (d, Some(*ext))))
    {
        Some(found) => found,
        None => (digits, None),
    };
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    all_digits.then_some(ext)
}

/// The `.rotate.*` regular files of `log`, oldest first.
fn find(log: &Path) -> Result<Vec<Orphan>> {
    let Some(dir) = log.parent() else {
        return Ok(Vec::new());
    };
    let entries =
        fs::read_dir(dir).map_err(|e| Error::io(ErrorKind::ReadDir, dir.to_path_buf(), e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(ext) = name_suffix(log, &name).and_then(parse_orphan) else {
            continue;
        };
        let path = entry.path();
        // Only regular files hold rotated lines; a link or a directory with
        // such a name is not ours.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        found.push(Orphan {
            path,
            ext,
            modified,
        });
    }
    found.sort_by(|a, b| (a.modified, &a.path).cmp(&(b.modified, &b.path)));
    Ok(found)
}

/// How the log names its backups, as far as recovery is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// The numbered chain, `backup_count` long.
    Chain { backup_count: usize },
    /// Timed backups named after their period.
    Timed(&'a TimedPolicy),
}

/// Puts every orphan of `log` into its backups, oldest first, and returns
/// how many; `ext` is this log's compression extension (`""` without
/// compression). Must run under the lock. Stops at the first step that
/// fails (the orphans not moved yet stay, whole, for the next attempt). An
/// orphan compressed with a codec this log does not use stays where it is:
/// it has no place among this log's backups (PROTOCOL.md §8: every writer of
/// a log uses the same compression).
pub(crate) fn recover(log: &Path, target: Target<'_>, ext: &str) -> Result<u64> {
    let mut moved = 0;
    let mut orphans = find(log)?;
    // First the compressions cut short beside their plain file: the plain
    // file holds every line, the compressed copy may be partial.
    let mut redundant = Vec::new();
    for orphan in &orphans {
        if let Some(own) = orphan.ext
            && let Some(plain) = orphan
                .path
                .as_os_str()
                .as_bytes()
                .strip_suffix(own.as_bytes())
            && fs::symlink_metadata(OsStr::from_bytes(plain)).is_ok()
        {
            redundant.push(orphan.path.clone());
        }
    }
    for copy in &redundant {
        backups::remove(copy)?;
    }
    orphans.retain(|o| !redundant.contains(&o.path));
    for orphan in &orphans {
        if orphan.ext.is_some_and(|own| own != ext) {
            continue;
        }
        let suffix = orphan.ext.unwrap_or("");
        match target {
            Target::Chain { backup_count } => {
                backups::shift_chain(log, backup_count, ext)?;
                backups::publish_as_newest_with(&orphan.path, log, ext, suffix)?;
            }
            Target::Timed(policy) => {
                let at = policy.next_rollover(orphan.modified);
                let dest = backups::unused_timed_name(log, &policy.period_label(at));
                backups::rename(&orphan.path, &with_suffix(&dest, suffix))?;
            }
        }
        moved += 1;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphan_names() {
        assert_eq!(parse_orphan("rotate.12345678"), Some(None));
        assert_eq!(parse_orphan("rotate.00000001.gz"), Some(Some(".gz")));
        assert_eq!(parse_orphan("rotate.123.zst"), Some(Some(".zst")));
        assert_eq!(parse_orphan("rotate."), None);
        assert_eq!(parse_orphan("rotate.12a"), None);
        assert_eq!(parse_orphan("rotate.1.bz2"), None);
        assert_eq!(parse_orphan("1"), None);
        assert_eq!(parse_orphan("compress.1.gz.tmp"), None);
    }
}
