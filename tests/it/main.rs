//! Integration tests, one crate. Modules:
//!
//! - `util`: temp dirs, child-process launcher, loss/tear/duplicate checker
//! - `child`: the entry point child processes run (re-executing this binary)
//! - `rotation`: size rotation, backup names and shifting, stale-file detection
//! - `multiprocess`: several real processes (and threads) on one rotating log
//! - `fallback`: queue-full behaviour of each fallback mode, liveness under a held lock
//! - `emit_wait`: group commit, errors and recovery
//! - `nonblocking`: the std-thread handler: queuing, sync level, fallback, stop/start, guard
//! - `lifecycle`: flush, shutdown, drop of handles and runtimes
//! - `api`: Send/Sync/Debug of the public types, formats
//! - `json`: the JSON-lines formatter against hostile input (feature `json`)
//! - `integrations`: the `tracing` layer and writer, the `log` backend
//! - `config`: `HandlerConfig` from TOML and JSON, and its errors (feature `config`)
//! - `http`: the axum and actix examples driven over real loopback HTTP

mod api;
mod child;
#[cfg(feature = "config")]
mod config;
mod emit_wait;
mod fallback;
mod http;
#[cfg(all(feature = "tracing", feature = "log", feature = "json"))]
mod integrations;
#[cfg(feature = "json")]
mod json;
mod lifecycle;
mod multiprocess;
mod nonblocking;
mod rotation;
mod util;
