//! A handler's settings, as the Python side validated them, onto the
//! crate's builders.

use std::path::PathBuf;
use std::time::Duration;

use concurrent_log_handler::format::{Formatter, TextFormatter};
use concurrent_log_handler::{
    AsyncConcurrentHandler, AsyncConcurrentHandlerBuilder, Compression, FallbackMode,
    NonBlockingConcurrentHandler, NonBlockingConcurrentHandlerBuilder, Record, Rotation, Weekday,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The settings the Python classes pass (already checked there, with errors
/// naming Python CLH's arguments; what is checked again here would be a bug
/// on the Python side, still refused cleanly).
#[derive(Debug, FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Options {
    pub(crate) filename: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) backup_count: usize,
    /// `"gzip"`, `"zstd"` or `None`.
    pub(crate) compression: Option<String>,
    pub(crate) lock_file_directory: Option<PathBuf>,
    /// `("every", seconds)`, `("days", n)` or `("weekly", 0..=6)`.
    pub(crate) rotation: Option<(String, u64)>,
    pub(crate) utc: bool,
    pub(crate) file_mode: u32,
    pub(crate) durable: bool,
    pub(crate) syslog: Option<String>,
    pub(crate) queue_size: usize,
    /// `"block"`, `"drop"` or `"nowait"`.
    pub(crate) fallback: String,
    /// Records at or above this `levelno` are on disk when `emit` returns.
    pub(crate) sync_level: Option<i64>,
    /// Python CLH's `unicode_error_policy`: `"ignore"`, `"replace"`, `"strict"`.
    pub(crate) errors: String,
    pub(crate) terminator: String,
}

/// Writes a record's message as it is: the message is the line the
/// Python side rendered (terminator included), so the bytes in the file are
/// exactly those Python's formatter produced. The engine's own records (the
/// warning that counts dropped records) have no terminator and carry
/// fields: they get the crate's text format, counts included.
#[derive(Debug)]
struct AsRendered(TextFormatter);

impl Formatter for AsRendered {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let message = record.message();
        if message.ends_with('\n') && record.fields().len() == 0 {
            out.extend_from_slice(message.as_bytes());
        } else {
            self.0.format(record, out);
        }
    }
}

/// The settings every builder takes, applied to `$builder`.
macro_rules! apply_common {
    ($options:expr, $builder:expr) => {{
        let o = $options;
        let mut b = $builder
            .max_bytes(o.max_bytes)
            .backup_count(o.backup_count)
            .rotate_in_utc(o.utc)
            .file_mode(o.file_mode)
            .durable(o.durable)
            .queue_capacity(o.queue_size)
            // The Python side decides what waits (it knows Python's levels).
            .sync_level(None)
            .formatter(AsRendered(TextFormatter::new()));
        if let Some(dir) = &o.lock_file_directory {
            b = b.lock_file_directory(dir);
        }
        if let Some(compression) = compression(o)? {
            b = b.compression(compression);
        }
        if let Some(rotation) = rotation(o)? {
            b = b.rotate_every(rotation);
        }
        if let Some(url) = &o.syslog {
            let config = concurrent_log_handler::SyslogConfig::new(url.as_str())
                .map_err(|e| crate::errors::to_py(&e))?;
            b = b.syslog(config);
        }
        b
    }};
}

impl Options {
    /// The crate's fallback mode.
    pub(crate) fn fallback_mode(&self) -> PyResult<FallbackMode> {
        self.fallback
            .parse()
            .map_err(|e| PyValueError::new_err(format!("fallback mode: {e}")))
    }

    pub(crate) fn thread_builder(&self) -> PyResult<NonBlockingConcurrentHandlerBuilder> {
        let builder = apply_common!(self, NonBlockingConcurrentHandler::builder(&self.filename));
        Ok(builder.fallback_mode(self.fallback_mode()?))
    }

    pub(crate) fn async_builder(&self) -> PyResult<AsyncConcurrentHandlerBuilder> {
        let builder = apply_common!(self, AsyncConcurrentHandler::builder(&self.filename));
        Ok(builder.fallback_mode(self.fallback_mode()?))
    }
}

fn compression(options: &Options) -> PyResult<Option<Compression>> {
    match options.compression.as_deref() {
        None => Ok(None),
        Some("gzip") => Ok(Some(Compression::Gzip)),
        Some("zstd") => Ok(Some(Compression::Zstd)),
        Some(other) => Err(PyValueError::new_err(format!(
            "compression={other:?}: expected 'gzip' or 'zstd'"
        ))),
    }
}

fn rotation(options: &Options) -> PyResult<Option<Rotation>> {
    let Some((kind, n)) = &options.rotation else {
        return Ok(None);
    };
    let n = *n;
    match kind.as_str() {
        "every" if n > 0 => Ok(Some(Rotation::Every(Duration::from_secs(n)))),
        "days" if n == 1 => Ok(Some(Rotation::Daily)),
        "days" if n > 1 && n <= u64::from(u32::MAX) => Ok(Some(Rotation::Days(n as u32))),
        "weekly" if n < 7 => Ok(Some(Rotation::Weekly(Weekday::ALL[n as usize]))),
        _ => Err(PyValueError::new_err(format!(
            "when/interval: no rotation {kind} {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_rotation(kind: &str, n: u64) -> Options {
        Options {
            filename: PathBuf::from("a.log"),
            max_bytes: 0,
            backup_count: 1,
            compression: None,
            lock_file_directory: None,
            rotation: Some((kind.to_owned(), n)),
            utc: false,
            file_mode: 0o644,
            durable: false,
            syslog: None,
            queue_size: 1,
            fallback: "block".to_owned(),
            sync_level: None,
            errors: "strict".to_owned(),
            terminator: "\n".to_owned(),
        }
    }

    #[test]
    fn python_weekdays_count_from_monday() {
        let weekly = |n| rotation(&with_rotation("weekly", n)).expect("valid");
        assert_eq!(weekly(0), Some(Rotation::Weekly(Weekday::Monday)));
        assert_eq!(weekly(3), Some(Rotation::Weekly(Weekday::Thursday)));
        assert_eq!(weekly(6), Some(Rotation::Weekly(Weekday::Sunday)));
        assert!(rotation(&with_rotation("weekly", 7)).is_err());
    }
}
