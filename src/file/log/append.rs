//! Appending under the lock: a torn line left by someone else ended first,
//! and a failed write never leaving a partial line of ours (see `tail`).

use std::fs::File;
use std::io;

use super::LogFile;
use crate::error::{Error, ErrorKind, Result};
use crate::file::tail;

impl LogFile {
    /// A writer killed in the middle of its `write` may leave a last line
    /// without its `\n`; appending to it would glue our first line onto it.
    /// When the file is not as we left it, look at its last byte and end a torn
    /// line first, so the damage stays within the killed writer's line. Costs
    /// one `pread` per batch only when others wrote in between.
    pub(super) fn end_torn_line(&mut self, size: u64) -> Result<u64> {
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
        self.append(b"\n", &[1], size).map_err(|(e, _)| e)?;
        self.last_end = Some(size + 1);
        Ok(size + 1)
    }

    /// One write loop of `bytes`, lines ending at `bounds`. On failure, the
    /// lines written whole stay (their count of bytes is returned with the
    /// error) and a line written in part is repaired (`tail`), so a failed
    /// batch never leaves a torn line: we hold the lock and every writer
    /// appends under it, so everything past `size_before` is ours.
    pub(super) fn append(
        &mut self,
        bytes: &[u8],
        bounds: &[usize],
        size_before: u64,
    ) -> std::result::Result<(), (Error, usize)> {
        let Some(file) = self.file.as_mut() else {
            let e = io::Error::other("log file is not open");
            return Err((self.write_error(e), 0));
        };
        let Err(failed) = tail::append(file, bytes, bounds, size_before) else {
            return Ok(());
        };
        if failed.kept > 0
            && self.durable
            && let Err(e) = file.sync_data()
        {
            self.sync_failure
                .get_or_insert(Error::io(ErrorKind::Sync, self.path.clone(), e));
        }
        self.partial = failed.partial;
        // Reopen on the next batch: the descriptor may be in a bad state.
        self.file = None;
        Err((self.write_error(failed.error), failed.kept))
    }

    pub(super) fn sync(&mut self) -> Result<()> {
        match self.file.as_ref().map(File::sync_data) {
            Some(Err(e)) => Err(Error::io(ErrorKind::Sync, self.path.clone(), e)),
            _ => Ok(()),
        }
    }

    pub(super) fn write_error(&self, e: io::Error) -> Error {
        Error::io(ErrorKind::Write, self.path.clone(), e)
    }
}
