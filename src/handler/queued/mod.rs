//! What the two queued handlers are made of. The async and the thread
//! handler are faces of [`QueuedHandle`]; they differ only where awaiting and
//! blocking differ (`emit_wait().await` and `emit_wait()`, `shutdown().await`
//! and `stop()`).
//!
//! - `settings`: [`Settings`], what a queued handler is built from (kept to
//!   build it again in a forked child);
//! - `process`: `Queued`, one process's queue, writer thread and counters,
//!   and every step from a record to the queue: admission, fallback, a
//!   waiting caller writing alone, waits, close;
//! - `handle`: [`QueuedHandle`], the handle the handlers' clones share,
//!   which finds (or, in a forked child, builds) this process's `Queued`,
//!   and the exit hook's drain.

mod handle;
mod process;
mod settings;

pub(crate) use handle::QueuedHandle;
pub(crate) use settings::Settings;
