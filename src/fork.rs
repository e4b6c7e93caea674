//! Handlers in a child made by `fork()`.
//!
//! A child made by `fork()` without `exec` (Python's `multiprocessing` fork
//! start method, a pre-forking server) has one thread: the one that forked.
//! A handler inherited that way has no writer or compressor thread, and its
//! mutexes may have been held by threads that no longer exist. So each
//! handler keeps its state in a [`PerProcess`]: in the process that built it
//! the state is used as is; in a forked child the state is built again from
//! the handler's settings at its first use, and the parent's copy is never
//! touched again (records the parent had queued stay the parent's to write).
//! The process id comes from [`current_pid`], a cached value that a
//! `pthread_atfork` handler clears in the child.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Once, OnceLock};

use crate::error::{Error, Result};

/// A handler's state for the process that built it, and for each forked
/// child the state it built for itself.
#[derive(Debug)]
pub(crate) struct PerProcess<T> {
    value: T,
    pid: u32,
    /// The state a forked child built (`None` if that failed; it was
    /// reported). A grandchild finds its own one level further down.
    child: OnceLock<Option<Box<PerProcess<T>>>>,
}

impl<T> PerProcess<T> {
    pub(crate) fn new(value: T) -> PerProcess<T> {
        PerProcess {
            value,
            pid: current_pid(),
            child: OnceLock::new(),
        }
    }

    /// The state as built, whichever process looks (for what never changes:
    /// paths, settings).
    pub(crate) fn first(&self) -> &T {
        &self.value
    }

    /// This process's state if it exists already (never builds one).
    pub(crate) fn existing(&self) -> Option<&T> {
        if self.pid == current_pid() {
            return Some(&self.value);
        }
        self.child.get()?.as_deref()?.existing()
    }

    /// This process's state, building it with `rebuild` in a forked child;
    /// `None` when that failed (`report` was told why).
    pub(crate) fn get(
        &self,
        rebuild: impl Fn() -> Result<T> + Copy,
        report: impl Fn(&Error) + Copy,
    ) -> Option<&T> {
        if self.pid == current_pid() {
            return Some(&self.value);
        }
        let child = self.child.get_or_init(|| match rebuild() {
            Ok(value) => Some(Box::new(PerProcess::new(value))),
            Err(e) => {
                report(&e);
                None
            }
        });
        child.as_deref()?.get(rebuild, report)
    }
}

/// This process's id, cached: `getpid` is a real system call (glibc no longer
/// caches it), and profiling put it at 17 % of the cost of logging a record.
static PID: AtomicU32 = AtomicU32::new(0);
static RESET_PID_AFTER_FORK: Once = Once::new();

pub(crate) fn current_pid() -> u32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    RESET_PID_AFTER_FORK.call_once(|| {
        // SAFETY: `pthread_atfork` only records the function pointers; the
        // child handler runs in the child right after fork() and does nothing
        // but an atomic store, which is async-signal-safe. Without it a child
        // made by fork() without exec would stamp its records with its parent's
        // pid (tested by `crash::a_forked_child_reopens_the_lock…`). If the
        // registration fails, the cache stays off.
        let registered = unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) } == 0;
        if !registered {
            PID_CACHE_OFF.store(true, Ordering::Relaxed);
        }
    });
    let pid = std::process::id();
    if !PID_CACHE_OFF.load(Ordering::Relaxed) {
        PID.store(pid, Ordering::Relaxed);
    }
    pid
}

static PID_CACHE_OFF: AtomicBool = AtomicBool::new(false);

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}
