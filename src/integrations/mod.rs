//! Bridges from the logging ecosystems to the handlers.
//!
//! They sit on top of the front-ends ([`AsyncConcurrentHandler`] and
//! [`NonBlockingConcurrentHandler`]) and know nothing of files: an event becomes
//! a [`Record`] in the caller's thread and goes through the handler's `emit`,
//! with its queue, `sync_level` and fallback.
//!
//! - [`tracing`](mod@self::tracing) (feature `tracing`): a `tracing-subscriber`
//!   [`Layer`](tracing_subscriber::Layer), [`ConcurrentLogLayer`](self::tracing::ConcurrentLogLayer),
//!   and `fmt::MakeWriter` for both handlers, so `tracing_subscriber::fmt()`
//!   can keep its format and only swap the writer.
//! - [`log`](mod@self::log) (feature `log`): a `log::Log` backend and
//!   [`init_log`](self::log::init_log).
//!
//! # Filters
//!
//! The `log` backend filters with this crate's [`Filter`](crate::Filter)
//! (`RUST_LOG` syntax, `"info,app::db=debug"`), changed at run time through
//! a [`FilterHandle`](self::log::FilterHandle). `tracing` users keep
//! `tracing-subscriber`'s filters on the layer: `EnvFilter` (enable
//! `tracing-subscriber`'s `env-filter` feature in your own dependency; this
//! crate does not need it) or `filter::Targets`, which reads the same
//! directives without span filters, and `reload` to change them at run
//! time:
//!
//! ```
//! # #[cfg(feature = "tracing")] {
//! use concurrent_log_handler::NonBlockingConcurrentHandler;
//! use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
//! use tracing_subscriber::filter::Targets;
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::{Layer, reload};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(&log).build()?;
//! let (filter, reload) = reload::Layer::new("info,app::db=debug".parse::<Targets>()?);
//! let subscriber =
//!     tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler).with_filter(filter));
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::debug!(target: "app::db", "query");
//!     tracing::debug!(target: "app::http", "headers"); // below `info`: not written
//!     reload.reload("warn,app::http=debug".parse::<Targets>()?)?;
//!     tracing::debug!(target: "app::http", "headers again");
//!     tracing::info!(target: "app::db", "query again"); // below `warn` now
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! drop(guard);
//!
//! let text = std::fs::read_to_string(&log)?;
//! assert!(text.contains(" app::db: query\n"), "{text}");
//! assert!(text.contains(" app::http: headers again\n"), "{text}");
//! assert_eq!(text.lines().count(), 2, "{text}");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::record::{Level, Record};
use crate::{AsyncConcurrentHandler, NonBlockingConcurrentHandler};

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;

/// The handlers the integrations log into: the two queued ones,
/// [`AsyncConcurrentHandler`] and [`NonBlockingConcurrentHandler`]. Sealed:
/// the integrations rely on how these two queue, count and fall back.
pub trait QueuedHandler: sealed::Sealed + Clone + Send + Sync + std::fmt::Debug + 'static {}

impl QueuedHandler for AsyncConcurrentHandler {}
impl QueuedHandler for NonBlockingConcurrentHandler {}

pub(crate) mod sealed {
    use super::{Level, Record};

    /// What the integrations need of a handler; errors are already counted in
    /// the handler's `Stats` and reported, so these return nothing.
    pub trait Sealed {
        /// `emit`, fire-and-forget.
        fn emit_record(&self, record: Record);
        /// `emit` of a line formatted elsewhere.
        #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
        fn emit_formatted(&self, level: Level, line: Vec<u8>);
        /// The handler's own filter.
        fn passes(&self, target: &str, level: Level) -> bool;
        /// Waits for queued records where that cannot deadlock.
        #[cfg_attr(not(feature = "log"), allow(dead_code))]
        fn flush_blocking(&self);
    }
}

impl sealed::Sealed for AsyncConcurrentHandler {
    fn emit_record(&self, record: Record) {
        self.emit(record);
    }

    fn passes(&self, target: &str, level: Level) -> bool {
        self.enabled(target, level)
    }

    fn emit_formatted(&self, level: Level, line: Vec<u8>) {
        self.emit_line(level, line);
    }

    fn flush_blocking(&self) {
        // Blocking on the async flush from a runtime thread could wait for
        // the very thread that must run the writer: `flush().await` is the
        // way.
    }
}

impl sealed::Sealed for NonBlockingConcurrentHandler {
    fn emit_record(&self, record: Record) {
        self.emit(record);
    }

    fn passes(&self, target: &str, level: Level) -> bool {
        self.enabled(target, level)
    }

    fn emit_formatted(&self, level: Level, line: Vec<u8>) {
        self.emit_line(level, line);
    }

    fn flush_blocking(&self) {
        let _ = self.flush();
    }
}
