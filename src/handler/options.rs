//! What every handler is configured with ([`Common`]) and the setters of
//! it every builder takes (`Builder`'s setters), so the three builders
//! cannot drift apart.

use std::sync::Arc;

use crate::file::FileConfig;
use crate::filter::Filter;
use crate::format::{Formatter, TextFormatter};
use crate::forward::SyslogConfig;
use crate::record::Level;
use crate::report::ErrorHook;

/// What every handler is configured with, whatever its queue: where and how
/// the file is written, how records become lines, and which are logged.
#[derive(Clone)]
pub(crate) struct Common {
    pub(crate) file: FileConfig,
    pub(crate) formatter: Arc<dyn Formatter>,
    /// Which records the handler logs at all; `None`: every one.
    pub(crate) filter: Option<Filter>,
    /// Also forward every record to this collector.
    pub(crate) syslog: Option<SyslogConfig>,
    /// Where the errors go that no caller receives; the default report
    /// without it.
    pub(crate) on_error: Option<ErrorHook>,
}

impl Common {
    /// Opens the log with this configuration (and starts forwarding, if
    /// configured).
    pub(crate) fn open(&self) -> crate::Result<Arc<crate::writer::Core>> {
        crate::writer::Core::open(
            &self.file,
            Arc::clone(&self.formatter),
            self.syslog.as_ref(),
            self.on_error.clone(),
        )
    }

    /// The defaults for the log at `path`.
    pub(crate) fn new(path: &std::path::Path) -> Common {
        Common {
            file: FileConfig::new(path.to_path_buf()),
            formatter: Arc::new(TextFormatter::new()),
            filter: None,
            syslog: None,
            on_error: None,
        }
    }

    /// Whether the filter lets a record of `target` at `level` through
    /// (every record, without a filter).
    pub(crate) fn passes(&self, target: &str, level: Level) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.enabled(target, level))
    }
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("file", &self.file)
            .field("filter", &self.filter)
            .field("syslog", &self.syslog)
            .finish_non_exhaustive()
    }
}
