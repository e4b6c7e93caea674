//! `log` integration: a [`log::Log`] backend, [`ConcurrentLogger`], and
//! [`init_log`] to install it.
//!
//! ```
//! use concurrent_log_handler::NonBlockingConcurrentHandler;
//! use concurrent_log_handler::integrations::log::init_log;
//!
//! let dir = tempfile::tempdir()?;
//! let log_path = dir.path().join("app.log");
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(&log_path).build()?;
//! init_log(handler, log::LevelFilter::Info)?;
//!
//! log::info!(target: "app::db", user = 42; "connected");
//! log::debug!("filtered out");
//! log::logger().flush(); // the thread handler waits for its queue
//! drop(guard);
//!
//! let text = std::fs::read_to_string(&log_path)?;
//! assert!(text.contains(" INFO "), "{text}");
//! assert!(text.contains(" app::db: connected user=42\n"), "{text}");
//! assert!(!text.contains("filtered out"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use super::QueuedHandler;
use crate::record::{Level, Record, Value};

/// A [`log::Log`] that logs through a handler, at most at `max_level`.
///
/// Each `log` record becomes a [`Record`] in the caller's thread: level
/// (`Error` → [`Level::Error`] … `Trace` → [`Level::Trace`]), target, message,
/// and the record's key-values as fields. It then goes through the handler's
/// `emit`, so `sync_level` and the fallback apply.
///
/// [`flush`](log::Log::flush) waits for the queue of a
/// [`NonBlockingConcurrentHandler`](crate::NonBlockingConcurrentHandler); for an
/// [`AsyncConcurrentHandler`](crate::AsyncConcurrentHandler) it does nothing
/// (blocking there could wait on the runtime thread that must do the writing):
/// `flush().await` or `shutdown().await` that handler instead.
#[derive(Debug, Clone)]
pub struct ConcurrentLogger<H> {
    handler: H,
    max_level: log::LevelFilter,
}

impl<H: QueuedHandler> ConcurrentLogger<H> {
    /// A logger into `handler` that passes records up to `max_level`.
    pub fn new(handler: H, max_level: log::LevelFilter) -> Self {
        ConcurrentLogger { handler, max_level }
    }

    /// The most verbose level this logger passes.
    pub fn max_level(&self) -> log::LevelFilter {
        self.max_level
    }
}

/// Our level for a `log` level; `log` has nothing above `Error`.
fn level_of(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug => Level::Debug,
        log::Level::Trace => Level::Trace,
    }
}

/// Collects the key-values of a `log` record into our record's fields.
struct Fields<'r>(&'r mut Record);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        self.0.push_field(key.as_str().to_owned(), value_of(&value));
        Ok(())
    }
}

/// A `log` key-value as our typed value: numbers and booleans stay what
/// they are; anything else becomes its text (strings unquoted).
fn value_of(value: &log::kv::Value<'_>) -> Value {
    if let Some(n) = value.to_i64() {
        return Value::I64(n);
    }
    if let Some(n) = value.to_u64() {
        return Value::U64(n);
    }
    if let Some(b) = value.to_bool() {
        return Value::Bool(b);
    }
    if let Some(x) = value.to_f64() {
        return Value::F64(x);
    }
    Value::display(value)
}

impl<H: QueuedHandler> log::Log for ConcurrentLogger<H> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.max_level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A message without arguments is a `&'static str`: no copy.
        let message: Cow<'static, str> = match record.args().as_str() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(record.args().to_string()),
        };
        let mut ours =
            Record::new(level_of(record.level()), message).with_target(record.target().to_owned());
        // Only `Fields` itself could fail the visit, and it never does.
        let _ = record.key_values().visit(&mut Fields(&mut ours));
        self.handler.emit_record(ours);
    }

    fn flush(&self) {
        self.handler.flush_blocking();
    }
}

/// Installs a [`ConcurrentLogger`] into `handler` as the global `log` logger,
/// and sets `log`'s global maximum level to `max_level`.
///
/// # Errors
///
/// [`InitLogError`] when a global logger was already installed (then nothing
/// changed).
pub fn init_log<H: QueuedHandler>(
    handler: H,
    max_level: log::LevelFilter,
) -> Result<(), InitLogError> {
    log::set_boxed_logger(Box::new(ConcurrentLogger::new(handler, max_level)))
        .map_err(|source| InitLogError { source })?;
    log::set_max_level(max_level);
    Ok(())
}

/// The error of [`init_log`]: a global `log` logger was already installed.
#[derive(Debug)]
pub struct InitLogError {
    source: log::SetLoggerError,
}

impl fmt::Display for InitLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot install the concurrent log handler as the `log` logger: one is already installed")
    }
}

impl std::error::Error for InitLogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_one_to_one() {
        let pairs = [
            (log::Level::Error, Level::Error),
            (log::Level::Warn, Level::Warn),
            (log::Level::Info, Level::Info),
            (log::Level::Debug, Level::Debug),
            (log::Level::Trace, Level::Trace),
        ];
        for (theirs, ours) in pairs {
            assert_eq!(level_of(theirs), ours);
        }
    }
}
