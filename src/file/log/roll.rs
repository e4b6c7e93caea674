//! Rotating the log, under the lock: the rotations others left unfinished
//! first, then the rename, the chain or the timed name, compression and
//! retention (PROTOCOL.md §5–§7).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::LogFile;
use crate::error::Result;
use crate::file::backups;
use crate::file::compress::{Claim, is_claimed};
use crate::file::orphans::{self, Target};
use crate::file::rotation::temp_rotation_path;

impl LogFile {
    /// Rotation, under the lock. The next write creates a new log.
    ///
    /// Size only (PROTOCOL.md §5): move the log to a private
    /// `app.log.rotate.<N>`, shift `.1…` up by one and move it to `.1`. With
    /// time rotation (§6), the log moves to `app.log.<period>` named after
    /// `rollover_at`, size rollovers included. Either way the rotated file is
    /// in its final place in the backups when the lock is released; with
    /// compression it is then compressed there, in the background (see
    /// `compress`).
    pub(super) fn rotate(&mut self, rollover_at: Option<i64>) -> Result<()> {
        let rotated = self.rotate_after_orphans(rollover_at);
        if rotated.is_err() {
            // It may have failed after the rename, leaving `.rotate.<N>`.
            self.orphans_pending = true;
        }
        rotated
    }

    /// [`rotate`](Self::rotate): first the rotations others (or we) left
    /// unfinished, so that they keep their place before this one; if that
    /// fails, this rotation is not started.
    fn rotate_after_orphans(&mut self, rollover_at: Option<i64>) -> Result<()> {
        self.recover_orphans()?;
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

    /// Puts leftover `.rotate.*` files into the backups (under the lock);
    /// see `orphans`. A plain one of a compressed log is then compressed
    /// by the compressor's next scan for leftovers.
    pub(super) fn recover_orphans(&mut self) -> Result<()> {
        let target = match &self.timed {
            Some(policy) => Target::Timed(policy),
            None => Target::Chain {
                backup_count: self.retention.backup_count,
            },
        };
        let ext = self.compressor.as_ref().map_or("", |c| c.extension());
        let recovered = orphans::recover(&self.path, target, ext)?;
        if recovered > 0 {
            self.recovered += recovered;
            if let Some(compressor) = self.compressor.as_mut() {
                compressor.recover_leftovers();
            }
        }
        Ok(())
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
    pub(super) fn apply_retention(&self, at_start: bool) -> Result<()> {
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
