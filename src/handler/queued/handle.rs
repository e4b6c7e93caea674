//! [`QueuedHandle`]: what the clones of a queued handler share, fork-aware,
//! and the exit hook's drain.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::Settings;
use super::process::{Close, Queued};
use crate::clock::deadline_after;
use crate::error::{Error, Result};
use crate::fork::PerProcess;
use crate::handler::TryEmitError;
use crate::queue::Await;
use crate::record::{Level, Record};
use crate::stats::Stats;
use crate::sync::{block_on_until, blocking};

/// A cheap handle to one queued handler: what its clones share.
#[derive(Clone)]
pub(crate) struct QueuedHandle {
    shared: Arc<HandleShared>,
}

struct HandleShared {
    settings: Arc<Settings>,
    /// The queue and writer of this process (see [`crate::fork`]).
    state: PerProcess<Queued>,
}

impl crate::handler::exit::DrainAtExit for HandleShared {
    fn drain_at_exit(&self, wait: Duration) {
        let Some(queued) = self.state.existing() else {
            return;
        };
        let deadline = deadline_after(wait);
        // Stopped or shut down: nothing was left queued; a stopped handler's
        // sink may still hold records, which its close below counts.
        if !queued.queue.is_closed() {
            queued.write_at_exit(deadline, wait);
        }
        queued.core.close_forwarding(Some(deadline), "at exit");
    }
}

impl QueuedHandle {
    /// Opens the log and starts the writer; `runtime` is where `Nowait`
    /// writes go.
    pub(crate) fn start(settings: Settings, runtime: Option<Handle>) -> Result<QueuedHandle> {
        settings.check()?;
        let settings = Arc::new(settings);
        let queued = Queued::start(Arc::clone(&settings), runtime)?;
        let shared = Arc::new(HandleShared {
            settings,
            state: PerProcess::new(queued),
        });
        let weak: std::sync::Weak<dyn crate::handler::exit::DrainAtExit> =
            Arc::downgrade(&shared) as _;
        crate::handler::exit::register(weak);
        Ok(QueuedHandle { shared })
    }

    /// This process's queue and writer: those built, or in a forked child
    /// those it built for itself at its first use (`Nowait` falls back to
    /// `Drop` there unless the child runs a tokio runtime).
    fn current(&self) -> Option<&Queued> {
        let settings = &self.shared.settings;
        self.shared.state.get(
            || Queued::start(Arc::clone(settings), Handle::try_current().ok()),
            crate::report::report_to_stderr,
        )
    }

    fn current_or_closed(&self) -> Result<&Queued> {
        self.current().ok_or_else(Error::closed)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The `Debug` of a handler over this queue: path, policy and stats,
    /// never the file's mutex (it may wait behind another process's lock).
    pub(crate) fn fmt_as(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = self.settings();
        f.debug_struct(name)
            .field("path", &self.path())
            .field("fallback_mode", &settings.fallback_mode)
            .field("sync_level", &settings.sync_level)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }

    /// Whether the handler's filter lets a record of `target` at `level`
    /// through.
    pub(crate) fn enabled(&self, target: &str, level: Level) -> bool {
        self.shared.settings.common.passes(target, level)
    }

    fn filters_out(&self, record: &Record) -> bool {
        !self.enabled(record.target(), record.level())
    }

    pub(crate) fn emit(&self, record: Record) {
        if self.filters_out(&record) {
            return;
        }
        if let Some(queued) = self.current() {
            queued.emit(record);
        }
    }

    pub(crate) fn emit_text(&self, level: Level, text: Vec<u8>) {
        if let Some(queued) = self.current() {
            queued.emit_text(level, text);
        }
    }

    pub(crate) fn try_emit(&self, record: Record) -> std::result::Result<(), TryEmitError> {
        if self.filters_out(&record) {
            return Ok(());
        }
        match self.current() {
            Some(queued) => queued.try_emit(record),
            None => Err(TryEmitError::Closed(record)),
        }
    }

    pub(crate) async fn emit_wait(&self, record: Record) -> Result<()> {
        if self.filters_out(&record) {
            return Ok(());
        }
        self.current_or_closed()?.emit_wait(record).await
    }

    pub(crate) fn emit_wait_blocking(&self, record: Record) -> Result<()> {
        if self.filters_out(&record) {
            return Ok(());
        }
        self.current_or_closed()?.emit_wait_blocking(record)
    }

    pub(crate) async fn flush(&self) -> Result<()> {
        self.current_or_closed()?.flush(Await::Confirmed).await
    }

    pub(crate) fn flush_blocking(&self) -> Result<()> {
        self.current_or_closed()?.flush_blocking()
    }

    pub(crate) async fn rotate_now(&self) -> Result<()> {
        self.current_or_closed()?.rotate_now().await
    }

    /// [`flush_blocking`](Self::flush_blocking) with a deadline.
    pub(crate) fn flush_blocking_within(&self, timeout: Duration) -> Result<()> {
        let queued = self.current_or_closed()?;
        let started = std::time::Instant::now();
        let deadline = deadline_after(timeout);
        blocking(|| block_on_until(queued.flush(Await::Confirmed), Some(deadline)))
            .unwrap_or_else(|| Err(Error::timeout(started.elapsed())))
    }

    pub(crate) fn rotate_now_blocking(&self) -> Result<()> {
        let queued = self.current_or_closed()?;
        blocking(|| block_on_until(queued.rotate_now(), None).unwrap_or(Err(Error::closed())))
    }

    pub(crate) async fn shutdown(&self) -> Result<()> {
        self.current_or_closed()?.close(Close::Shutdown, None).await
    }

    pub(crate) async fn shutdown_within(&self, timeout: Duration) -> Result<()> {
        self.current_or_closed()?
            .close_within(Close::Shutdown, timeout)
            .await
    }

    pub(crate) fn shutdown_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        self.current_or_closed()?
            .close_blocking(Close::Shutdown, timeout)
    }

    pub(crate) fn stop_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        self.current_or_closed()?
            .close_blocking(Close::Stop, timeout)
    }

    pub(crate) fn start_again(&self) -> Result<()> {
        self.current_or_closed()?.reopen()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.current().is_none_or(|queued| queued.queue.is_closed())
    }

    pub(crate) fn stats(&self) -> Stats {
        self.current().unwrap_or(self.shared.state.first()).stats()
    }

    pub(crate) fn path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.path.clone()
    }

    pub(crate) fn lock_path(&self) -> std::path::PathBuf {
        self.shared.state.first().core.lock_path.clone()
    }

    /// Reports `error` through this handler's rate-limited reporter.
    pub(crate) fn report(&self, error: &Error) {
        match self.current() {
            Some(queued) => queued.core.errors.report(error),
            None => crate::report::report_to_stderr(error),
        }
    }
}
