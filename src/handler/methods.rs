//! The methods both queued handlers have in the same words, written once.

/// The methods both queued handlers have in the same words: `enabled`,
/// `try_emit`, `stats`, `path`, `lock_path`, and the crate's `emit_line`.
/// `$builder` is the handler's builder, for the link to its `filter`.
macro_rules! queued_handler_methods {
    ($builder:ident) => {
        /// [`emit`](Self::emit) for a line formatted elsewhere (the `tracing` fmt
        /// writer): same counters, `sync_level` and fallback. A missing final `\n`
        /// is added; an empty line is not logged.
        #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
        pub(crate) fn emit_line(&self, level: Level, line: Vec<u8>) {
            self.queued.emit_text(level, line);
        }

        /// Whether the handler's [`filter`]($builder::filter) logs a record of
        /// `target` at `level` (always `true` without a filter). Records it
        /// refuses cost nothing, but checking first spares building one.
        pub fn enabled(&self, target: &str, level: Level) -> bool {
            self.queued.enabled(target, level)
        }

        /// Queues `record` if there is room right now, and never waits or
        /// falls back.
        ///
        /// # Errors
        ///
        /// [`TryEmitError::Full`] or [`TryEmitError::Closed`], each handing the
        /// record back. Neither is counted as a drop: the caller still holds it.
        pub fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
            self.queued.try_emit(record)
        }

        /// A snapshot of the queue and the counters.
        #[must_use]
        pub fn stats(&self) -> Stats {
            self.queued.stats()
        }

        /// The absolute path of the log file.
        pub fn path(&self) -> std::path::PathBuf {
            self.queued.path()
        }

        /// The path of the lock file.
        pub fn lock_path(&self) -> std::path::PathBuf {
            self.queued.lock_path()
        }
    };
}
pub(crate) use queued_handler_methods;
