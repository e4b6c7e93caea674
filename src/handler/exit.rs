//! What happens to records still queued when the process exits without
//! stopping its handlers (`std::process::exit`, or a handler kept in a
//! static or a global subscriber that is never dropped).
//!
//! At the first queued handler, a `libc::atexit` hook is registered. At exit
//! it gives every live handler of this process a last, bounded flush
//! ([`EXIT_FLUSH_WAIT`]); whatever still is not written then is counted as
//! dropped (so `emitted == written + dropped + failed` holds) and said on
//! stderr with the count and the log's path. Nothing is lost silently. The
//! hook holds handlers weakly: it keeps none alive, and one that was shut
//! down has nothing left to do. An abort or SIGKILL runs no hook at all.

use std::sync::{Mutex, Once, Weak};
use std::time::Duration;

use crate::sync::lock_unpoisoned;

/// How long the exit hook waits for each handler's queue to drain.
pub(crate) const EXIT_FLUSH_WAIT: Duration = Duration::from_secs(2);

/// A handler the exit hook can drain.
pub(crate) trait DrainAtExit: Send + Sync {
    /// Writes what it can within `wait`; counts and reports the rest.
    fn drain_at_exit(&self, wait: Duration);
}

static LIVE: Mutex<Vec<Weak<dyn DrainAtExit>>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Registers `handler` for the exit hook (installing the hook once).
pub(crate) fn register(handler: Weak<dyn DrainAtExit>) {
    HOOK.call_once(|| {
        // SAFETY: `atexit` only records the function pointer; `at_exit` is
        // an `extern "C" fn` that never unwinds (it catches panics) and
        // runs at most once, when `exit` runs the hooks. If registration
        // fails, handlers behave as without the hook.
        let _ = unsafe { libc::atexit(at_exit) };
    });
    let mut live = lock_unpoisoned(&LIVE);
    live.retain(|weak| weak.strong_count() > 0);
    live.push(handler);
}

extern "C" fn at_exit() {
    // A panic must not cross the C boundary.
    let _ = std::panic::catch_unwind(|| {
        let live: Vec<_> = match LIVE.try_lock() {
            Ok(live) => live.iter().filter_map(Weak::upgrade).collect(),
            // Another thread holds it at exit: nothing can be done safely.
            Err(_) => return,
        };
        for handler in live {
            handler.drain_at_exit(EXIT_FLUSH_WAIT);
        }
    });
}
