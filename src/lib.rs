//! Many processes, threads and tokio tasks logging into the same rotating files,
//! without blocking the code that logs and without losing or tearing a line.
//!
//! A record travels one way, and each module owns one step:
//!
//! ```text
//! caller ─► Record ─► format ─► queue front-end ─► writer ─► locked file ─► disk
//!          (record)  (format,    (asynchronous,     (writer)   (file: lock,
//!                     caller's    nonblocking)         │        stale check,
//!                     thread)                          │        rotation)
//!                       ▲   written lines' buffers     │
//!                       └──── recycled (buffers) ◄─────┘
//! ```
//!
//! - [`AsyncConcurrentHandler`]: for tokio services. `emit` never awaits; a
//!   bounded queue feeds one writer on the blocking pool, which writes each
//!   batch under one lock. `emit_wait` resolves once the record is on disk.
//! - [`NonBlockingConcurrentHandler`]: the same writer behind one std thread,
//!   for code without a tokio runtime; a [`WriterGuard`] drains it on drop.
//! - [`ConcurrentRotatingFileHandler`]: the locked rotating file itself,
//!   blocking. Its lock file (`.__app.lock`), rollover rule and backup names
//!   (`app.log.1` …, or `app.log.2026-11-23` with [`Rotation`]) are those of
//!   Python's `concurrent-log-handler`, so Python and Rust processes can write
//!   one log at once. Rotated backups can be compressed in the background
//!   ([`Compression`]) and retained by count and age.
//!
//! Every handler's builder takes the same file options (`max_bytes`,
//! `backup_count`, `rotate_every`, `compression`, `max_age`, `durable`, …);
//! the README's "Guarantees" section says what is never lost, what may be lost
//! in which mode, and what a crash can leave.
//! - [`integrations`]: a `tracing` layer and `fmt` writer (feature `tracing`)
//!   and a `log` backend (feature `log`) on top of the queued handlers;
//!   `format::JsonFormatter` (feature `json`); `config::HandlerConfig`,
//!   settings from TOML or JSON with Python CLH's option names (feature
//!   `config`). All four features are on by default.
//!
//! ```
//! use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log"))
//!     .max_bytes(10 << 20)
//!     .backup_count(5)
//!     .build()?;
//! handler.emit(Record::new(Level::Info, "started").with_field("port", 8080));
//! handler.emit_wait(Record::new(Level::Warn, "config reloaded")).await?;
//! handler.shutdown().await?;
//! let log = std::fs::read_to_string(dir.path().join("app.log"))?;
//! assert!(log.contains(" INFO ") && log.contains("started port=8080"));
//! assert_eq!(log.lines().count(), 2);
//! # Ok(())
//! # }
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The lock is flock(2) and a rotated file is recognised by (dev, ino): both
// are Unix. Say so plainly rather than fail deep inside a dependency.
#[cfg(not(unix))]
compile_error!(
    "concurrent-log-handler runs on Unix only: it locks with flock(2) and identifies \
     files by (dev, ino), as Python's concurrent-log-handler does on Linux"
);

mod buffers;
mod clock;
#[cfg(feature = "config")]
pub mod config;
mod error;
mod file;
mod fork;
pub mod format;
mod handler;
pub mod integrations;
#[cfg(feature = "syslog")]
mod net;
mod queue;
mod record;
mod report;
mod rest;
mod stats;
mod sync;
mod writer;

pub use clock::{Clock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use file::{
    Compression, DEFAULT_BACKUP_COUNT, DEFAULT_FILE_MODE, DEFAULT_MAX_BYTES, Rotation, Weekday,
};
pub use handler::asynchronous::{
    AsyncConcurrentHandler, AsyncConcurrentHandlerBuilder, DEFAULT_ASYNC_FALLBACK_MODE,
    DEFAULT_ASYNC_SYNC_LEVEL, DEFAULT_NOWAIT_LIMIT, DEFAULT_QUEUE_CAPACITY, MAX_NOWAIT_LIMIT,
};
pub use handler::nonblocking::{
    DEFAULT_STOP_TIMEOUT, DEFAULT_THREAD_FALLBACK_MODE, DEFAULT_THREAD_SYNC_LEVEL,
    NonBlockingConcurrentHandler, NonBlockingConcurrentHandlerBuilder, WriterGuard,
    create_nonblocking_handler,
};
pub use handler::{
    ConcurrentRotatingFileHandler, ConcurrentRotatingFileHandlerBuilder, FallbackMode,
    ParseFallbackModeError, TryEmitError,
};
#[cfg(feature = "syslog")]
#[doc(hidden)]
pub use net::bench_api as __syslog_bench;
#[cfg(feature = "syslog")]
pub use net::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BACKOFF,
    DEFAULT_RELP_WINDOW, SinkStats, SyslogConfig,
};
pub use queue::MAX_QUEUE_CAPACITY;
pub use record::{Fields, Level, ParseLevelError, Record, Value};
pub use stats::Stats;
