//! The file side: a library that takes bytes.
//!
//! [`log`] is the locked log itself, the blocking core every handler writes
//! through: for each batch it takes the exclusive lock on the lock file
//! ([`lock`], PROTOCOL.md §2), checks whether another process rotated the
//! log under us by comparing the open descriptor's `(dev, ino)` with the
//! path's (§3), measures the size, rotates when due ([`rotation`], §4–§6,
//! keeping the backups and their retention in [`backups`]), and appends the
//! batch with one `write`, all inside one lock hold (§8). Rotated backups can
//! be compressed in the background ([`compress`]). [`options`] holds the
//! settings every handler's builder takes.
//!
//! It takes bytes and returns an outcome: nothing here knows of records,
//! formats, queues or tokio.

mod backups;
mod codec;
mod compress;
mod lock;
mod log;
mod obstacle;
mod options;
mod orphans;
mod rotation;
mod tail;

pub use codec::Compression;
pub(crate) use log::{
    BatchOutcome, COMPRESSION_DROP_WAIT, LockedFile, MAX_KEPT_SCRATCH, WriteReport,
};
pub(crate) use options::FileConfig;
pub use options::{DEFAULT_BACKUP_COUNT, DEFAULT_FILE_MODE, DEFAULT_MAX_BYTES};
pub use rotation::{Rotation, Weekday};

/// What the fuzz target of backup names reaches through `crate::fuzzing`.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    pub(crate) use super::backups::{parse_chain_number, parse_timed};
    pub(crate) use super::rotation::TimedPolicy;
}
