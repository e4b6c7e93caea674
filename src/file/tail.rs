//! The end of the log after a failed write: never a partial line to append
//! after, never a whole line reported as missing.
//!
//! A batch is appended with one `write` loop (PROTOCOL.md §3). When a `write`
//! fails part-way, the lines it wrote whole stay: they are in the file, and
//! counted as written. A line written only in part is repaired before the
//! lock is released, by cutting the file back to the end of the last whole
//! line (`ftruncate`) or, when that fails, by writing the rest of that line.
//! Each step's result is checked; when every attempt failed, the writer
//! remembers the damage ([`Partial`]) and fails closed: before it writes
//! again it cuts the fragment off, and until it can, it writes nothing.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;

/// How many times each repair is tried within one lock hold.
const REPAIR_ATTEMPTS: usize = 3;

/// A fragment of a line that a failed write left at the end of the log and
/// that could not be removed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Partial {
    dev: u64,
    ino: u64,
    /// The size of the file with the fragment: if the log still is this
    /// file at this size, nobody wrote after the fragment, and cutting it
    /// off loses nothing.
    end: u64,
    /// The size without the fragment.
    keep: u64,
}

/// How a failed append ended.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: io::Error,
    /// Bytes from the start of the append that are in the file as whole
    /// lines (a prefix of the batch, at a line boundary).
    pub(crate) kept: usize,
    /// A fragment that could not be repaired; see [`Partial`].
    pub(crate) partial: Option<Partial>,
}

/// Writes all of `bytes` (retrying interrupted writes); on failure, returns
/// how many bytes were written along with the error.
fn write_counting(file: &mut File, bytes: &[u8]) -> (usize, Option<io::Error>) {
    let mut done = 0;
    while done < bytes.len() {
        match file.write(&bytes[done..]) {
            Ok(0) => return (done, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Some(e)),
        }
    }
    (done, None)
}

/// Appends `bytes`, the lines of a batch whose ends are `boundaries`
/// (ascending offsets into `bytes`, the last one `bytes.len()`), to `file`
/// of `size_before` bytes, under the lock. See the module docs for what a
/// failure leaves.
pub(crate) fn append(
    file: &mut File,
    bytes: &[u8],
    boundaries: &[usize],
    size_before: u64,
) -> Result<(), Failed> {
    let (written, error) = write_counting(file, bytes);
    let Some(error) = error else {
        return Ok(());
    };
    let whole = boundaries
        .iter()
        .copied()
        .take_while(|&b| b <= written)
        .last()
        .unwrap_or(0);
    if written == whole {
        return Err(Failed {
            error,
            kept: whole,
            partial: None,
        });
    }
    let keep = size_before + whole as u64;
    for _ in 0..REPAIR_ATTEMPTS {
        if file.set_len(keep).is_ok() {
            return Err(Failed {
                error,
                kept: whole,
                partial: None,
            });
        }
    }
    // The file cannot be cut: finish the line instead, which makes its
    // record whole (and written).
    let line_end = boundaries
        .iter()
        .copied()
        .find(|&b| b > written)
        .unwrap_or(bytes.len());
    let mut at = written;
    for _ in 0..REPAIR_ATTEMPTS {
        let (n, failed) = write_counting(file, &bytes[at..line_end]);
        at += n;
        if failed.is_none() {
            return Err(Failed {
                error,
                kept: line_end,
                partial: None,
            });
        }
    }
    let partial = file.metadata().ok().map(|meta| Partial {
        dev: meta.dev(),
        ino: meta.ino(),
        end: size_before + at as u64,
        keep,
    });
    Err(Failed {
        error,
        kept: whole,
        partial,
    })
}

impl Partial {
    /// Before the next write, under the lock: removes the fragment from
    /// `file` (the log as the path names it now, `size` bytes). `Ok` when the
    /// fragment is gone or beyond repair by us (the log was rotated, or
    /// another writer appended after it and ended the line: cutting now would
    /// remove its lines); `Err` while it is there and cannot be cut, and
    /// nothing may be appended.
    pub(crate) fn repair(&self, file: &File, size: u64) -> io::Result<u64> {
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != (self.dev, self.ino) || size != self.end {
            return Ok(size);
        }
        let mut last = Err(io::Error::other("no attempt"));
        for _ in 0..REPAIR_ATTEMPTS {
            last = file.set_len(self.keep);
            if last.is_ok() {
                return Ok(self.keep);
            }
        }
        last.map(|()| self.keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_is_cut_only_while_the_file_is_as_it_was_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, "whole\nhalf a l").expect("write");
        let file = File::options()
            .read(true)
            .append(true)
            .open(&path)
            .expect("open");
        let meta = file.metadata().expect("meta");
        let partial = Partial {
            dev: meta.dev(),
            ino: meta.ino(),
            end: 14,
            keep: 6,
        };
        // Another writer appended after the fragment: leave the file alone.
        assert_eq!(partial.repair(&file, 20).expect("repair"), 20);
        assert_eq!(std::fs::read_to_string(&path).expect("read").len(), 14);
        assert_eq!(partial.repair(&file, 14).expect("repair"), 6);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "whole\n");
    }
}
