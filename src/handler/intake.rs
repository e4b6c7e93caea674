//! What every handler does with a record before it is queued or written:
//! format it in the caller's thread (catching a panicking formatter), end
//! its line, and decide by level whether the caller waits for it.

use crate::format::end_line;
use crate::queue::Line;
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
    Sync(Line),
    /// Queue it (counted once the queue takes it).
    Queue(Line),
}

/// The record as bytes, formatted in the calling thread: its line for the
/// file and, when the handler forwards to a collector, its syslog message.
/// `None` when the formatter panicked: that is reported, the record is
/// counted as emitted and failed, and logging goes on.
pub(crate) fn format(core: &Core, record: &Record) -> Option<Line> {
    let Some(file) = core.format(record) else {
        core.count_unformatted();
        return None;
    };
    let syslog = core.forward.as_ref().map(|forward| forward.format(record));
    Some(Line { file, syslog })
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

/// The first steps every queued handler takes with a line: an empty line is
/// not logged, a missing final `\n` is added, a closed handler counts the
/// record as dropped, and a record at or above `sync_level` is one whose
/// caller waits until it is written.
pub(crate) fn admit(
    core: &Core,
    level: Level,
    mut line: Line,
    closed: bool,
    sync_level: Option<Level>,
) -> Admission {
    if line.file.is_empty() {
        return Admission::Empty;
    }
    end_line(&mut line.file);
    if closed {
        core.count_closed_drop();
        return Admission::Closed;
    }
    if sync_level.is_some_and(|sync| level >= sync) {
        return Admission::Sync(line);
    }
    Admission::Queue(line)
}
