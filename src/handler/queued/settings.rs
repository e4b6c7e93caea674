//! [`Settings`]: what a queued handler is built from, kept to build it again
//! in a forked child.

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
