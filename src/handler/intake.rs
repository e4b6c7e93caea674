//! What every handler does with a record before it is queued or written:
//! format it in the caller's thread (catching a panicking formatter) unless
//! the writer formats it, end its line, and decide by level whether the
//! caller waits for it.

use crate::format::end_line;
use crate::queue::{Line, Pending};
use crate::record::{Level, Record};
use crate::writer::Core;

/// What a front-end does with a line, as [`admit`] decides.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Nothing to log.
    Empty,
    /// The handler is closed; counted as emitted and dropped.
    Closed,
    /// At or above `sync_level`: queue it and wait until it is written.
    Sync(Pending),
    /// Queue it (counted once the queue takes it).
    Queue(Pending),
}

/// The record as bytes, formatted in the calling thread: its line for the
/// file and, when the handler forwards to a collector, its syslog message.
/// `None` when the formatter panicked: that is reported, the record is
/// counted as emitted and failed, and logging goes on.
pub(crate) fn format(core: &Core, record: &Record) -> Option<Line> {
    let line = core.line(record);
    if line.is_none() {
        core.count_unformatted();
    }
    line
}

/// The record as it travels to the writer: as it is when the writer formats
/// it (`on_writer`), else formatted now (`None` as for [`format()`]).
pub(crate) fn pending(core: &Core, record: Record, on_writer: bool) -> Option<Pending> {
    if on_writer {
        return Some(Pending::Record(record));
    }
    format(core, &record).map(Pending::Line)
}

/// A line formatted elsewhere (the `tracing` fmt writer), with its syslog
/// message when the handler forwards.
pub(crate) fn formatted(core: &Core, level: Level, file: Vec<u8>) -> Line {
    let syslog = core
        .forward
        .as_ref()
        .map(|forward| forward.format_text(level, &file));
    Line { file, syslog }
}

/// The first steps every queued handler takes with a record: an empty line
/// is not logged, a missing final `\n` is added, a closed handler counts the
/// record as dropped, and a record at or above `sync_level` is one whose
/// caller waits until it is written.
pub(crate) fn admit(
    core: &Core,
    level: Level,
    mut pending: Pending,
    closed: bool,
    sync_level: Option<Level>,
) -> Admission {
    if let Pending::Line(line) = &mut pending {
        if line.file.is_empty() {
            return Admission::Empty;
        }
        end_line(&mut line.file);
    }
    if closed {
        core.count_closed_drop();
        return Admission::Closed;
    }
    if sync_level.is_some_and(|sync| level >= sync) {
        return Admission::Sync(pending);
    }
    Admission::Queue(pending)
}
