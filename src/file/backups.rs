//! The backups of one log: shifting the numbered chain, naming timed backups,
//! and retention by count and age.
//!
//! Everything here runs under the log's lock (PROTOCOL.md §8: nothing
//! creates, renames or deletes `app.log.N[.gz]` outside it) and touches only
//! files that belong to this log: `app.log.<N>` and `app.log.<period>[.<k>]`,
//! plain or with a compression extension.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiff::civil::DateTime;

use super::codec::ALL_EXTENSIONS;
use super::rotation::{TimedPolicy, backup_path, name_suffix, with_suffix};
use crate::error::{Error, ErrorKind, Result};

/// How many backups to keep, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retention {
    /// Numbered chain: its length (≥ 1 when rotating). Timed backups: keep at
    /// most this many, 0 = keep all (Python's `backupCount` semantics there).
    pub(crate) backup_count: usize,
    /// Delete backups last modified longer ago than this.
    pub(crate) max_age: Option<Duration>,
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Whether `path` is a regular file (not followed if it is a link). Only
/// regular files are backups: a directory or a link that happens to carry a
/// backup's name is never moved or deleted by retention.
fn is_regular_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Removes `path`; a file that is already gone is no error.
pub(crate) fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(Error::io(ErrorKind::Remove, path.to_path_buf(), e))
        }
        _ => Ok(()),
    }
}

pub(crate) fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::rotate(from, to, e))
}

/// One step of the chain (PROTOCOL.md §5, step 6): remove `to` and
/// `to+ext`, then move `from+ext` (or, failing that, plain `from`) there.
///
/// A plain `from` beside `from+ext` is the same backup: a compression whose
/// last step (removing the plain file once its archive was published) was
/// cut short. It is removed before the archive moves, never left behind at
/// `from` as if it were another backup, which would hold every line twice.
fn move_backup(from: &Path, to: &Path, ext: &str) -> Result<()> {
    remove(to)?;
    if !ext.is_empty() {
        remove(&with_suffix(to, ext))?;
    }
    let compressed = with_suffix(from, ext);
    if !ext.is_empty() && exists(&compressed) {
        remove(from)?;
        rename(&compressed, &with_suffix(to, ext))
    } else {
        rename(from, to)
    }
}

/// Makes room at `.1`: shifts `.1 … .k` to `.2 … .k+1`, highest first, where the
/// chain stops at the first gap or at `backup_count` (whose file is
/// overwritten), as PROTOCOL.md §5 steps 5–6 do it.
pub(crate) fn shift_chain(log: &Path, backup_count: usize, ext: &str) -> Result<()> {
    let present = |n: usize| {
        let path = backup_path(log, n);
        exists(&path) || (!ext.is_empty() && exists(&with_suffix(&path, ext)))
    };
    let mut last = 0;
    while last + 1 < backup_count && present(last + 1) {
        last += 1;
    }
    for n in (1..=last).rev() {
        move_backup(&backup_path(log, n), &backup_path(log, n + 1), ext)?;
    }
    Ok(())
}

/// Moves `rotated` (the rotated log) to `.1`, after removing `.1` and its
/// compressed form `.1<ext>` (whatever `shift_chain` left there).
pub(crate) fn publish_as_newest(rotated: &Path, log: &Path, ext: &str) -> Result<()> {
    publish_as_newest_with(rotated, log, ext, "")
}

/// [`publish_as_newest`] for a rotated file that is already compressed
/// (`suffix` is its extension, `""` when plain): it becomes `.1<suffix>`.
pub(crate) fn publish_as_newest_with(
    rotated: &Path,
    log: &Path,
    ext: &str,
    suffix: &str,
) -> Result<()> {
    let first = backup_path(log, 1);
    remove(&first)?;
    if !ext.is_empty() {
        remove(&with_suffix(&first, ext))?;
    }
    rename(rotated, &with_suffix(&first, suffix))
}

/// The files of chain backup `n`: each compressed form and the plain one
/// that exists as a regular file.
fn chain_files(log: &Path, n: usize) -> Vec<PathBuf> {
    let plain = backup_path(log, n);
    let mut files: Vec<PathBuf> = ALL_EXTENSIONS
        .iter()
        .map(|ext| with_suffix(&plain, ext))
        .filter(|p| is_regular_file(p))
        .collect();
    if is_regular_file(&plain) {
        files.push(plain);
    }
    files
}

/// Whether every one of `files` was last modified before `cutoff`. A backup
/// with no file, or with a file whose time cannot be read, is never too old:
/// what cannot be examined is no reason to delete anything.
fn all_older_than(files: &[&Path], cutoff: SystemTime) -> bool {
    !files.is_empty()
        && files.iter().all(|f| {
            fs::symlink_metadata(f)
                .and_then(|m| m.modified())
                .is_ok_and(|m| m < cutoff)
        })
}

/// Retention of the numbered chain: with `max_age`, each backup last written
/// before the cutoff goes; at start-up (`trim_beyond_count`), backups numbered
/// above `backup_count` go too. Only regular files with this log's exact
/// backup names are touched.
///
/// DIFFERENCE: Python CLH never touches files numbered above backupCount and
/// has no age limit; we apply both, to files of this log only.
pub(crate) fn apply_chain_retention(
    log: &Path,
    retention: Retention,
    now: SystemTime,
    trim_beyond_count: bool,
) -> Result<usize> {
    let cutoff = retention.max_age.and_then(|age| now.checked_sub(age));
    let mut removed = 0;
    for n in chain_numbers(log) {
        let files = chain_files(log, n);
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let too_old = cutoff.is_some_and(|c| all_older_than(&paths, c));
        if too_old || (trim_beyond_count && n > retention.backup_count) {
            for file in &files {
                remove(file)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// `N` of a chain backup's name `app.log.<N>` (given the part after
/// `app.log.`, without a compression extension): decimal digits exactly as
/// we write them, so `01`, `+1` or `1 ` name no backup.
pub(crate) fn parse_chain_number(rest: &str) -> Option<usize> {
    let n: usize = rest.parse().ok()?;
    (n > 0 && n.to_string() == rest).then_some(n)
}

/// The numbers of the chain backups of `log` present on disk, ascending.
fn chain_numbers(log: &Path) -> Vec<usize> {
    let Some(dir) = log.parent() else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<usize> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let rest = name_suffix(log, &name)?;
            let digits = ALL_EXTENSIONS
                .iter()
                .find_map(|ext| rest.strip_suffix(ext))
                .unwrap_or(rest);
            parse_chain_number(digits)
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// `app.log.<label>`, or with `.1`, `.2`, … appended when that name (plain or
/// compressed) is taken (PROTOCOL.md §6).
pub(crate) fn unused_timed_name(log: &Path, label: &str) -> PathBuf {
    let base = with_suffix(log, &format!(".{label}"));
    let taken = |p: &Path| {
        exists(p)
            || ALL_EXTENSIONS
                .iter()
                .any(|ext| exists(&with_suffix(p, ext)))
    };
    if !taken(&base) {
        return base;
    }
    let mut k = 1;
    loop {
        let candidate = with_suffix(&base, &format!(".{k}"));
        if !taken(&candidate) {
            return candidate;
        }
        k += 1;
    }
}

/// One timed backup: its period, counter, and its files (plain and compressed
/// forms of the same backup while a compression runs).
#[derive(Debug)]
pub(crate) struct TimedBackup {
    pub(crate) when: DateTime,
    pub(crate) counter: u32,
    /// The plain file, if present.
    pub(crate) plain: Option<PathBuf>,
    /// Compressed files, if present.
    pub(crate) compressed: Vec<PathBuf>,
}

/// Every timed backup of `log`, oldest first (by period, then counter).
pub(crate) fn list_timed(log: &Path, policy: &TimedPolicy) -> Vec<TimedBackup> {
    let Some(dir) = log.parent() else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut backups: Vec<TimedBackup> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name_suffix(log, &name) else {
            continue;
        };
        let (rest, compressed) = match ALL_EXTENSIONS.iter().find_map(|ext| rest.strip_suffix(ext))
        {
            Some(stem) => (stem, true),
            None => (rest, false),
        };
        let Some((when, counter)) = parse_timed(rest, policy) else {
            continue;
        };
        let path = entry.path();
        if !is_regular_file(&path) {
            continue;
        }
        let slot = match backups
            .iter_mut()
            .find(|b| b.when == when && b.counter == counter)
        {
            Some(slot) => slot,
            None => {
                backups.push(TimedBackup {
                    when,
                    counter,
                    plain: None,
                    compressed: Vec::new(),
                });
                let last = backups.len() - 1;
                &mut backups[last]
            }
        };
        if compressed {
            slot.compressed.push(path);
        } else {
            slot.plain = Some(path);
        }
    }
    backups.sort_by_key(|b| (b.when, b.counter));
    backups
}

/// `<label>` or `<label>.<counter>`, exactly as we name timed backups.
pub(crate) fn parse_timed(rest: &str, policy: &TimedPolicy) -> Option<(DateTime, u32)> {
    if let Some(when) = policy.parse_label(rest) {
        return Some((when, 0));
    }
    let (label, counter) = rest.rsplit_once('.')?;
    let counter = u32::try_from(parse_chain_number(counter)?).ok()?;
    Some((policy.parse_label(label)?, counter))
}

/// Retention of timed backups: the oldest beyond `backup_count` (0 keeps all)
/// and those older than `max_age` go. `busy` says whether a plain file is still
/// being compressed; such a backup is left for the next run.
pub(crate) fn apply_timed_retention(
    log: &Path,
    policy: &TimedPolicy,
    retention: Retention,
    now: SystemTime,
    busy: &dyn Fn(&Path) -> bool,
) -> Result<usize> {
    let backups = list_timed(log, policy);
    let cutoff = retention.max_age.and_then(|age| now.checked_sub(age));
    let excess = match retention.backup_count {
        0 => 0,
        keep => backups.len().saturating_sub(keep),
    };
    let mut removed = 0;
    for (i, backup) in backups.iter().enumerate() {
        let files: Vec<&Path> = backup
            .plain
            .iter()
            .chain(&backup.compressed)
            .map(PathBuf::as_path)
            .collect();
        let too_old = cutoff.is_some_and(|c| all_older_than(&files, c));
        if i >= excess && !too_old {
            continue;
        }
        if backup.plain.as_deref().is_some_and(busy) {
            continue;
        }
        for file in files {
            remove(file)?;
            removed += 1;
        }
    }
    Ok(removed)
}
