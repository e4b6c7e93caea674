//! [`Settings`]: what a queued handler is built from, kept to build it again
//! in a forked child; and the setters both queued builders share.

use crate::error::{Error, Result};
use crate::handler::FallbackMode;
use crate::handler::options::Common;
use crate::queue::MAX_QUEUE_CAPACITY;
use crate::record::Level;

/// Everything a queued handler is built from, kept to build it again in a
/// forked child.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) common: Common,
    pub(crate) queue_capacity: usize,
    pub(crate) fallback_mode: FallbackMode,
    pub(crate) sync_level: Option<Level>,
    pub(crate) nowait_limit: usize,
    /// Records travel to the writer as records and are formatted there.
    pub(crate) format_on_writer: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("file", &self.common.file)
            .field("filter", &self.common.filter)
            .field("queue_capacity", &self.queue_capacity)
            .field("fallback_mode", &self.fallback_mode)
            .field("sync_level", &self.sync_level)
            .field("nowait_limit", &self.nowait_limit)
            .field("format_on_writer", &self.format_on_writer)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The defaults for the log at `path`, with a handler's own
    /// `fallback_mode` and `sync_level`.
    pub(crate) fn new(
        path: &std::path::Path,
        fallback_mode: FallbackMode,
        sync_level: Option<Level>,
    ) -> Settings {
        Settings {
            common: Common::new(path),
            queue_capacity: crate::DEFAULT_QUEUE_CAPACITY,
            fallback_mode,
            sync_level,
            nowait_limit: crate::DEFAULT_NOWAIT_LIMIT,
            format_on_writer: true,
        }
    }

    /// The checks both builders make before anything is opened.
    pub(crate) fn check(&self) -> Result<()> {
        if self.queue_capacity == 0 || self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(Error::invalid_config(format!(
                "queue_capacity must be between 1 and {MAX_QUEUE_CAPACITY}, not {}",
                self.queue_capacity
            )));
        }
        Ok(())
    }
}

/// The options both queued builders share, as setters writing into the
/// `queue_capacity`, `fallback_mode` and `sync_level` of their `settings`.
macro_rules! queued_options {
    () => {
        /// How many records the queue holds (1 to
        /// [`MAX_QUEUE_CAPACITY`](crate::MAX_QUEUE_CAPACITY)). Its slots,
        /// about 64 bytes each, are reserved when the handler is built (the
        /// default: 640 KB); what the queued records hold (formatted lines,
        /// owned strings) comes on top, so memory is bounded by this times
        /// the size of a record.
        pub fn queue_capacity(mut self, capacity: usize) -> Self {
            self.settings.queue_capacity = capacity;
            self
        }

        /// What `emit` does when the queue is full; see
        /// [`FallbackMode`](crate::FallbackMode).
        pub fn fallback_mode(mut self, mode: crate::FallbackMode) -> Self {
            self.settings.fallback_mode = mode;
            self
        }

        /// Records at or above this level are queued behind the caller's
        /// earlier records and written before `emit` returns; `None` queues
        /// every level without waiting.
        pub fn sync_level(mut self, level: impl Into<Option<crate::Level>>) -> Self {
            self.settings.sync_level = level.into();
            self
        }

        /// Where records become lines. `true` (the default): a record
        /// travels through the queue as it is (level, strings, typed
        /// values; one pointer wide) and the writer thread formats it into
        /// the batch it writes, so the caller pays only for building the
        /// record and queueing it. When the writer falls more than a batch
        /// behind, callers format their records themselves (they would
        /// soon wait for room anyway), so producers that together outpace
        /// one formatting thread share the work; and a waiting caller that
        /// writes its record itself (`emit_wait` on an idle handler)
        /// formats it too. `false`: every caller
        /// formats its record before queueing it, which a
        /// [`Formatter`](crate::format::Formatter) of your own needs if it
        /// reads anything of the calling thread (its name, a thread-local,
        /// a task-local). A record's timestamp and pid are taken when it is
        /// built, so they are the same either way; records keep their order
        /// either way.
        ///
        /// ```
        /// # fn main() -> concurrent_log_handler::Result<()> {
        /// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
        ///
        /// let dir = tempfile::tempdir().unwrap();
        /// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log"))
        ///     .format_on_writer(false)
        ///     .build()?;
        /// handler.emit(Record::new(Level::Info, "formatted by the caller"));
        /// drop(guard);
        /// let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
        /// assert!(text.ends_with("formatted by the caller\n"));
        /// # Ok(())
        /// # }
        /// ```
        pub fn format_on_writer(mut self, on_writer: bool) -> Self {
            self.settings.format_on_writer = on_writer;
            self
        }
    };
}
pub(crate) use queued_options;
