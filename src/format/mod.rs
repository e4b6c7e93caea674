//! Turning a [`Record`] into the bytes of one log line.
//!
//! The queued handlers format on their writer thread while it keeps up, and
//! in the caller's thread otherwise (see `format_on_writer` on their
//! builders); the blocking handler formats in the caller. A [`Formatter`]
//! is therefore `Send + Sync` and must produce exactly one line:
//! the handlers append a missing final `\n`, and the built-in formatters escape
//! every character that could start a second line (see [`escape()`]).
//!
//! This module knows nothing of queues or files.
//!
//! ```
//! use concurrent_log_handler::format::{Formatter, TextFormatter};
//! use concurrent_log_handler::{Level, Record};
//!
//! let mut line = Vec::new();
//! let record = Record::new(Level::Warn, "disk 91% full\nroot:x:0:0")
//!     .with_target("app::disk");
//! TextFormatter::new().utc(true).format(&record, &mut line);
//! let line = String::from_utf8(line).unwrap();
//! let pid = std::process::id();
//! assert!(line.ends_with(&format!(" WARNING {pid} app::disk: disk 91% full\\nroot:x:0:0\n")), "{line}");
//! assert_eq!(line.matches('\n').count(), 1); // the newline in the message was escaped
//! ```

mod escape;
#[cfg(feature = "json")]
mod json;
mod switches;
#[cfg(feature = "syslog")]
mod syslog;
mod text;
mod timestamp;

pub use escape::escape;
#[cfg(feature = "tracing")]
pub(crate) use escape::one_line;
#[cfg(feature = "json")]
pub use json::JsonFormatter;
#[cfg(feature = "syslog")]
pub use syslog::{
    DEFAULT_ENTERPRISE_ID, DEFAULT_SD_NAME, Facility, ParseFacilityError, SyslogFormatter, severity,
};
pub use text::TextFormatter;
pub(crate) use timestamp::load_local_time_zone;
pub use timestamp::{TimestampFormat, write_timestamp};

use crate::record::{Record, Value};

/// Renders a [`Record`] as one line of bytes.
///
/// Implementations append to `out` (never clear it) and should end the line with
/// `\n`; the handlers add the `\n` when it is missing. Anything that may contain
/// a line break (message, field values, target) must be escaped, or a record
/// could forge a second line: [`escape()`] does that for text formats.
///
/// A custom format:
///
/// ```
/// use concurrent_log_handler::format::{escape, Formatter};
/// use concurrent_log_handler::{Level, Record};
///
/// struct Bare;
/// impl Formatter for Bare {
///     fn format(&self, record: &Record, out: &mut Vec<u8>) {
///         out.extend_from_slice(record.level().as_str().as_bytes());
///         out.push(b' ');
///         escape(record.message(), out);
///         out.push(b'\n');
///     }
/// }
///
/// let mut out = Vec::new();
/// Bare.format(&Record::new(Level::Info, "a\r\nb"), &mut out);
/// assert_eq!(out, b"INFO a\\r\\nb\n");
/// ```
pub trait Formatter: Send + Sync + 'static {
    /// Appends `record`, as one line, to `out`.
    fn format(&self, record: &Record, out: &mut Vec<u8>);
}

/// Appends a field value that is not text (a number or a boolean), as the
/// text formats write it; returns `false`, writing nothing, for text.
pub(crate) fn write_plain_value(value: &Value, out: &mut Vec<u8>) -> bool {
    match *value {
        Value::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::U64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::F64(x) => {
            use std::io::Write as _;
            let _ = write!(out, "{x}");
        }
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        _ => return false,
    }
    true
}

/// Adds the final `\n` a line may lack.
pub(crate) fn end_line(line: &mut Vec<u8>) {
    if line.last() != Some(&b'\n') {
        line.push(b'\n');
    }
}

/// An empty buffer for `record`'s line: a recycled one (see
/// `crate::buffers`), sized so that the line never regrows.
pub(crate) fn line_buffer(record: &Record) -> Vec<u8> {
    crate::buffers::take(
        96 + record.message().len()
            + record.target().len()
            + record
                .fields()
                .chain(record.span_fields())
                .map(|(k, v)| k.len() + v.as_str().map_or(20, str::len) + 4)
                .sum::<usize>(),
    )
}

/// Formats `record` at the end of `line`, ending in exactly one `\n`.
pub(crate) fn format_into(formatter: &dyn Formatter, record: &Record, line: &mut Vec<u8>) {
    formatter.format(record, line);
    end_line(line);
}
