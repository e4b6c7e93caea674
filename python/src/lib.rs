//! `concurrent_log_handler_rs._engine`: what the Python handlers run on.
//!
//! The `logging.Handler` classes live in Python (`concurrent_log_handler_rs`);
//! each holds an `engine::Engine`: one of the crate's queued
//! handlers, plus the compiled form of the handler's `logging.Formatter`.
//! A record becomes its line here, in Rust, in the calling thread (the GIL
//! is held: the values are Python objects), exactly as Python's `Formatter`
//! would render it; the line then travels through the crate's queue to its
//! writer thread, which never touches Python. File work happens with the
//! GIL released.
//!
//! - `format`: `%`- and `{`-style format strings, rendered natively.
//! - `engine`: the handler core: emit, wait, flush, stop, stats.
//! - `bridge`: awaitables resolved on an asyncio loop from Rust.
//! - `options`: the handler's settings onto the crate's builders.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use pyo3::prelude::*;

mod block;
mod bridge;
mod engine;
mod errors;
mod format;
mod options;

/// The extension module.
#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<engine::Engine>()?;
    m.add_class::<bridge::LoopBridge>()?;
    errors::register(m)?;
    Ok(())
}
