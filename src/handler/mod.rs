//! The three handlers: how records reach the writer and the file.
//!
//! - [`asynchronous`]: [`AsyncConcurrentHandler`](crate::AsyncConcurrentHandler), for tokio code: `emit`
//!   never awaits, `emit_wait` awaits the write.
//! - [`nonblocking`]: [`NonBlockingConcurrentHandler`](crate::NonBlockingConcurrentHandler), the same queue and
//!   writer thread with blocking confirmations, `stop`/`start` and a guard.
//! - [`blocking`]: [`ConcurrentRotatingFileHandler`], no queue: each call
//!   writes under the lock before it returns.
//!
//! They share one grammar: `emit` logs a record and applies the handler's
//! policy, `try_emit` never waits, `emit_wait` returns once the record is on
//! disk (awaited on the async handler, blocking on the thread handler),
//! `flush` waits for what was accepted, `stats` counts. [`builder`] is the
//! one builder of all three; [`intake`] holds the steps every handler takes
//! with a record before it is queued or written.

pub(crate) mod asynchronous;
pub(crate) mod blocking;
pub mod builder;
mod exit;
mod fallback;
mod guard;
mod intake;
mod methods;
pub(crate) mod nonblocking;
mod nowait;
mod options;
mod queued;
mod try_emit;

pub use blocking::{ConcurrentRotatingFileHandler, ConcurrentRotatingFileHandlerBuilder};
pub use fallback::{FallbackMode, ParseFallbackModeError};
pub use guard::{DEFAULT_STOP_TIMEOUT, WriterGuard};
pub use try_emit::TryEmitError;
