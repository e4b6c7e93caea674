//! What every handler does with a record before it is queued or written:
//! format it in the caller's thread (catching a panicking formatter), end
//! its line, and decide by level whether the caller waits for it.

use crate::format::end_line;
use crate::record::{Level, Record};
use crate::writer::Core;

/// What a front-end does with a line, as [`Core::admit`] decides.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Nothing to log.
    Empty,
    /// The handler is closed; counted as emitted and dropped.
    Closed,
    /// At or above `sync_level`: queue it and wait until it is written.
    Sync(Vec<u8>),
    /// Queue it (counted once the queue takes it).
    Queue(Vec<u8>),
}

/// The record as one line of bytes, formatted in the calling thread.
/// `None` when the formatter panicked: that is reported, the record is
/// counted as emitted and failed, and logging goes on.
pub(crate) fn format(core: &Core, record: &Record) -> Option<Vec<u8>> {
    let line = core.format(record);
    if line.is_none() {
        core.count_unformatted();
    }
    line
}

/// The first steps every queued handler takes with a line: an empty line is
/// not logged, a missing final `\n` is added, a closed handler counts the
/// record as dropped, and a record at or above `sync_level` is one whose
/// caller waits until it is written.
pub(crate) fn admit(
    core: &Core,
    level: Level,
    mut line: Vec<u8>,
    closed: bool,
    sync_level: Option<Level>,
) -> Admission {
    if line.is_empty() {
        return Admission::Empty;
    }
    end_line(&mut line);
    if closed {
        core.count_closed_drop();
        return Admission::Closed;
    }
    if sync_level.is_some_and(|sync| level >= sync) {
        return Admission::Sync(line);
    }
    Admission::Queue(line)
}
