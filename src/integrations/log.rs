//! `log` integration: a [`log::Log`] backend, [`ConcurrentLogger`], with a
//! [`Filter`] in `RUST_LOG` syntax that a [`FilterHandle`] changes at run
//! time, and [`init_log`] / [`init_log_from_env`] to install it.
//!
//! Per-module filters, and a reload at run time (from a signal handler, an
//! admin endpoint, a config watcher):
//!
//! ```
//! use concurrent_log_handler::{Filter, NonBlockingConcurrentHandler};
//! use concurrent_log_handler::integrations::log::init_log;
//!
//! let dir = tempfile::tempdir()?;
//! let log_path = dir.path().join("app.log");
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(&log_path).build()?;
//! let filter = init_log(handler, "info,app::db=debug".parse::<Filter>()?)?;
//! assert_eq!(log::max_level(), log::LevelFilter::Debug);
//!
//! log::info!(target: "app::http", "GET /orders");
//! log::debug!(target: "app::db", user = 42; "query");
//! log::debug!(target: "app::http", "headers"); // below `info`: not written
//!
//! filter.set_filter_str("warn,app::http=debug")?; // `log::set_max_level` follows
//! log::debug!(target: "app::http", "headers again");
//! log::info!(target: "app::db", "query again"); // below `warn` now
//! log::logger().flush(); // the thread handler waits for its queue
//! drop(guard);
//!
//! let text = std::fs::read_to_string(&log_path)?;
//! let messages: Vec<&str> = text.lines().map(|l| l.splitn(4, ' ').nth(3).unwrap()).collect();
//! assert_eq!(
//!     messages,
//!     ["app::http: GET /orders", "app::db: query user=42", "app::http: headers again"]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`init_log_from_env`] reads the filter from `RUST_LOG` instead (`error`
//! when it is unset, as `env_logger`; a bad value is an error, not a silent
//! default). A simple level still works: `init_log(handler,
//! log::LevelFilter::Info)`.
//!
//! The filter is the logger's own: `log::set_max_level` alone only
//! pre-filters, it cannot let through what the filter refuses. Change what
//! passes with [`FilterHandle::set_filter`], which also sets `log`'s
//! maximum level so that `log`'s macros skip what nothing would write.
//!
//! A logger used without installing it, through [`log::Log`] directly:
//!
//! ```
//! use concurrent_log_handler::NonBlockingConcurrentHandler;
//! use concurrent_log_handler::integrations::log::ConcurrentLogger;
//! use log::Log;
//!
//! let dir = tempfile::tempdir()?;
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
//! let logger = ConcurrentLogger::new(handler, "warn,app=trace".parse::<concurrent_log_handler::Filter>()?);
//! let debug = |target| log::Metadata::builder().level(log::Level::Debug).target(target).build();
//! assert!(logger.enabled(&debug("app::cache")));
//! assert!(!logger.enabled(&debug("hyper")));
//!
//! logger.handle().set_filter(log::LevelFilter::Debug);
//! assert!(logger.enabled(&debug("hyper")));
//! assert_eq!(logger.max_level(), log::LevelFilter::Debug);
//! drop(guard);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::QueuedHandler;
use crate::filter::{Filter, ParseFilterError};
use crate::record::{Level, Record, Value};

/// A [`log::Log`] that logs through a handler what its [`Filter`] passes.
///
/// Each `log` record becomes a [`Record`] in the caller's thread: level
/// (`Error` → [`Level::Error`] … `Trace` → [`Level::Trace`]), target, message,
/// and the record's key-values as fields. It then goes through the handler's
/// `emit`, so `sync_level` and the fallback apply.
///
/// The filter is checked in [`enabled`](log::Log::enabled) and again in
/// [`log`](log::Log::log), which `log`'s macros call without asking
/// `enabled` first. Reading it takes no lock: it sits behind an
/// [`ArcSwap`], one atomic load per record, however many
/// threads log, while [`FilterHandle::set_filter`] swaps it. Clones of a
/// logger share one filter.
///
/// [`flush`](log::Log::flush) waits for the queue of a
/// [`NonBlockingConcurrentHandler`](crate::NonBlockingConcurrentHandler); for an
/// [`AsyncConcurrentHandler`](crate::AsyncConcurrentHandler) it does nothing
/// (blocking there could wait on the runtime thread that must do the writing):
/// `flush().await` or `shutdown().await` that handler instead.
#[derive(Debug, Clone)]
pub struct ConcurrentLogger<H> {
    handler: H,
    filter: Arc<SharedFilter>,
}

/// The filter a logger and its handles share.
struct SharedFilter {
    /// What passes now; loaded once per record without a lock. arc-swap's
    /// per-thread slots fall back to a shared one inside thread-local
    /// destructors, so logging from those keeps working.
    current: ArcSwap<Filter>,
    /// Serialises changes: the filter stored last must also be the one whose
    /// maximum level `log` keeps, which two unsynchronised setters could
    /// each get half right.
    update: Mutex<()>,
}

impl fmt::Debug for SharedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The filter's own syntax reads better than its fields.
        write!(f, "{:?}", self.current.load().to_string())
    }
}

impl<H: QueuedHandler> ConcurrentLogger<H> {
    /// A logger into `handler` that passes what `filter` passes: a
    /// [`Filter`], a [`log::LevelFilter`] or a [`Level`].
    pub fn new(handler: H, filter: impl Into<Filter>) -> Self {
        ConcurrentLogger {
            handler,
            filter: Arc::new(SharedFilter {
                current: ArcSwap::from_pointee(filter.into()),
                update: Mutex::new(()),
            }),
        }
    }

    /// The most verbose `log` level the filter can pass now
    /// ([`Filter::max_level`]; `Off` when it passes only `Critical`, which
    /// `log` has not).
    #[must_use]
    pub fn max_level(&self) -> log::LevelFilter {
        log_max_level(&self.filter.current.load())
    }

    /// The filter now in force.
    #[must_use]
    pub fn filter(&self) -> Filter {
        Filter::clone(&self.filter.current.load())
    }

    /// A handle that changes this logger's filter. It leaves
    /// `log::max_level` alone (this logger may not be the installed one):
    /// when you install the logger yourself, set `log::set_max_level` to
    /// [`FilterHandle::max_level`] after each change, or use [`init_log`],
    /// whose handle does it.
    #[must_use]
    pub fn handle(&self) -> FilterHandle {
        FilterHandle {
            shared: Arc::clone(&self.filter),
            global: false,
        }
    }
}

/// Changes what a [`ConcurrentLogger`] passes, at run time; a cheap clone.
///
/// From [`init_log`] it also sets `log`'s global maximum level to match,
/// so raising the filter to `debug` makes `log::debug!` records appear.
/// Records logged while the filter changes meet the old filter or the new
/// one; once [`set_filter`](Self::set_filter) returns, every record meets
/// the new one.
///
/// ```
/// use concurrent_log_handler::{Filter, Level, NonBlockingConcurrentHandler};
/// use concurrent_log_handler::integrations::log::ConcurrentLogger;
///
/// let dir = tempfile::tempdir()?;
/// let (handler, _guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// let logger = ConcurrentLogger::new(handler, log::LevelFilter::Info);
/// let handle = logger.handle();
/// handle.set_filter_str("info,app::db=trace")?;
/// assert_eq!(logger.filter(), "info,app::db=trace".parse::<Filter>()?);
/// assert_eq!(handle.max_level(), log::LevelFilter::Trace);
///
/// let err = handle.set_filter_str("app::db=loud").unwrap_err();
/// assert_eq!(err.directive(), "app::db=loud");
/// assert_eq!(handle.filter().to_string(), "info,app::db=trace", "unchanged");
///
/// handle.set_filter(Level::Critical);
/// assert_eq!(handle.max_level(), log::LevelFilter::Off, "`log` has no critical");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FilterHandle {
    shared: Arc<SharedFilter>,
    /// Whether changes also set `log::set_max_level`: only for the logger
    /// [`init_log`] installed, whose maximum level is ours to keep.
    global: bool,
}

impl FilterHandle {
    /// Replaces the filter: a [`Filter`], a [`log::LevelFilter`] or a
    /// [`Level`]. From [`init_log`], `log::set_max_level` follows.
    pub fn set_filter(&self, filter: impl Into<Filter>) {
        let filter = filter.into();
        let max = log_max_level(&filter);
        // Nothing in the section can panic; a poisoned lock is no reason to
        // stop reloading.
        let _serial = self
            .shared
            .update
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Filter first, maximum level second: a record that gets past the
        // new maximum already meets the new filter. A record racing a raise
        // may still be stopped by the old maximum, the old filter's answer.
        self.shared.current.store(Arc::new(filter));
        if self.global {
            log::set_max_level(max);
        }
    }

    /// Parses `spec` ([`Filter`]'s `RUST_LOG` syntax) and replaces the
    /// filter with it.
    ///
    /// # Errors
    ///
    /// A [`ParseFilterError`] when `spec` is not a valid filter; then
    /// nothing changes.
    pub fn set_filter_str(&self, spec: &str) -> Result<(), ParseFilterError> {
        self.set_filter(spec.parse::<Filter>()?);
        Ok(())
    }

    /// The filter now in force.
    #[must_use]
    pub fn filter(&self) -> Filter {
        Filter::clone(&self.shared.current.load())
    }

    /// The most verbose `log` level the filter can pass now (what
    /// [`init_log`]'s handle keeps in `log::max_level`).
    #[must_use]
    pub fn max_level(&self) -> log::LevelFilter {
        log_max_level(&self.shared.current.load())
    }
}

impl From<log::LevelFilter> for Filter {
    /// Every target at `level` and above (`Off`: nothing). `Error` also
    /// passes [`Level::Critical`].
    fn from(level: log::LevelFilter) -> Self {
        match level.to_level() {
            Some(level) => Filter::from_level(level_of(level)),
            None => Filter::off(),
        }
    }
}

/// `log`'s maximum level for a filter; `log` has no `Critical`, so a
/// filter that passes only that lets no `log` record through.
fn log_max_level(filter: &Filter) -> log::LevelFilter {
    match filter.max_level() {
        None | Some(Level::Critical) => log::LevelFilter::Off,
        Some(Level::Error) => log::LevelFilter::Error,
        Some(Level::Warn) => log::LevelFilter::Warn,
        Some(Level::Info) => log::LevelFilter::Info,
        Some(Level::Debug) => log::LevelFilter::Debug,
        Some(Level::Trace) => log::LevelFilter::Trace,
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
        let (target, level) = (metadata.target(), level_of(metadata.level()));
        self.filter.current.load().enabled(target, level) && self.handler.passes(target, level)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // The macros' target is the module path, which `log` also hands
        // out as a `&'static str`: no copy then.
        let target: Cow<'static, str> = match record.module_path_static() {
            Some(path) if path == record.target() => Cow::Borrowed(path),
            _ => Cow::Owned(record.target().to_owned()),
        };
        // A message without arguments is a `&'static str`: no copy; one with
        // arguments is rendered into a recycled buffer.
        let level = level_of(record.level());
        let mut ours = match record.args().as_str() {
            Some(text) => Record::new(level, text),
            None => {
                let mut ours = Record::new(level, "");
                ours.write_message(|message| {
                    let _ = std::fmt::Write::write_fmt(message, *record.args());
                });
                ours
            }
        }
        .with_target(target);
        // Only `Fields` itself could fail the visit, and it never does.
        let _ = record.key_values().visit(&mut Fields(&mut ours));
        self.handler.emit_record(ours);
    }

    fn flush(&self) {
        self.handler.flush_blocking();
    }
}

/// Installs a [`ConcurrentLogger`] into `handler` as the global `log` logger
/// with `filter` (a [`Filter`], a [`log::LevelFilter`] or a [`Level`]), and
/// sets `log`'s global maximum level to match.
///
/// Returns the [`FilterHandle`] that changes the filter later, and `log`'s
/// maximum level with it. Dropping the handle is harmless: the filter then
/// stays as it is.
///
/// # Errors
///
/// [`InitLogError`] when a global logger was already installed (then nothing
/// changed).
pub fn init_log<H: QueuedHandler>(
    handler: H,
    filter: impl Into<Filter>,
) -> Result<FilterHandle, InitLogError> {
    let logger = ConcurrentLogger::new(handler, filter);
    let handle = FilterHandle {
        shared: Arc::clone(&logger.filter),
        global: true,
    };
    let max = handle.max_level();
    log::set_boxed_logger(Box::new(logger)).map_err(|source| InitLogError {
        kind: InitLogErrorKind::AlreadyInstalled(source),
    })?;
    // Nobody else holds the handle yet, so no change can race this one.
    log::set_max_level(max);
    Ok(handle)
}

/// [`init_log`] with the filter in `RUST_LOG` ([`Filter::from_default_env`]):
/// `error` when the variable is not set, as `env_logger` does.
///
/// For another default, read the variable yourself:
/// `init_log(handler, Filter::from_env_or(DEFAULT_FILTER_ENV, Level::Info)?)`.
///
/// # Errors
///
/// [`InitLogError`] when `RUST_LOG` holds no valid filter
/// ([`InitLogError::filter_error`]), or a global logger was already
/// installed; in both cases nothing changed.
///
/// ```
/// use concurrent_log_handler::{Filter, NonBlockingConcurrentHandler};
/// use concurrent_log_handler::integrations::log::init_log_from_env;
///
/// let dir = tempfile::tempdir()?;
/// let (handler, _guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// let filter = init_log_from_env(handler)?;
/// assert_eq!(filter.filter(), Filter::from_default_env()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`DEFAULT_FILTER_ENV`]: crate::DEFAULT_FILTER_ENV
pub fn init_log_from_env<H: QueuedHandler>(handler: H) -> Result<FilterHandle, InitLogError> {
    let filter = Filter::from_default_env().map_err(|source| InitLogError {
        kind: InitLogErrorKind::Filter(source),
    })?;
    init_log(handler, filter)
}

/// The error of [`init_log`] and [`init_log_from_env`]: a global `log` logger
/// was already installed, or `RUST_LOG` holds no valid filter.
///
/// ```
/// use concurrent_log_handler::NonBlockingConcurrentHandler;
/// use concurrent_log_handler::integrations::log::init_log;
///
/// let dir = tempfile::tempdir()?;
/// let (handler, _guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// init_log(handler.clone(), log::LevelFilter::Info)?;
/// let err = init_log(handler, log::LevelFilter::Trace).unwrap_err();
/// assert!(err.is_already_installed());
/// assert!(err.filter_error().is_none());
/// assert_eq!(log::max_level(), log::LevelFilter::Info, "nothing changed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct InitLogError {
    kind: InitLogErrorKind,
}

#[derive(Debug)]
enum InitLogErrorKind {
    AlreadyInstalled(log::SetLoggerError),
    Filter(ParseFilterError),
}

impl InitLogError {
    /// Whether another global `log` logger was installed first.
    #[must_use]
    pub fn is_already_installed(&self) -> bool {
        matches!(self.kind, InitLogErrorKind::AlreadyInstalled(_))
    }

    /// The filter error, when the environment held no valid filter.
    #[must_use]
    pub fn filter_error(&self) -> Option<&ParseFilterError> {
        match &self.kind {
            InitLogErrorKind::Filter(err) => Some(err),
            InitLogErrorKind::AlreadyInstalled(_) => None,
        }
    }
}

impl fmt::Display for InitLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot install the concurrent log handler as the `log` logger: ")?;
        match &self.kind {
            InitLogErrorKind::AlreadyInstalled(_) => f.write_str("one is already installed"),
            InitLogErrorKind::Filter(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for InitLogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            InitLogErrorKind::AlreadyInstalled(err) => Some(err),
            InitLogErrorKind::Filter(err) => Some(err),
        }
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
