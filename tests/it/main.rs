//! Integration tests, one crate. Modules:
//!
//! - `util`: temp dirs, child-process launcher, loss/tear/duplicate checker
//! - `chaos`: the collector killed, frozen, restarted, unreachable or
//!   stalled, for drawn combinations of transport, confirmation, fallback
//!   mode and handler (feature `syslog`)
//! - `child`: the entry point child processes run (re-executing this binary)
//! - `rotation`: size rotation, backup names and shifting, stale-file detection
//! - `multiprocess`: several real processes (and threads) on one rotating log
//! - `fallback`: queue-full behaviour of each fallback mode, liveness under a held lock
//! - `emit_wait`: group commit, errors and recovery
//! - `nonblocking`: the std-thread handler: queuing, sync level, fallback, stop/start, guard
//! - `lifecycle`: flush, shutdown, drop of handles and runtimes
//! - `timed`: time rotation with an injected clock, retention, processes rotating by time
//! - `compression`: gzip/zstd backups off the write path, crash repair
//! - `interop_python`: Python CLH and Rust processes on one log at once
//! - `faults`: lock file replaced, directory gone, disk full, size limit, symlinks, copytruncate
//! - `fiu`: libfiu's fault points, driven from inside a child process
//! - `injected`: real writer processes under injected I/O faults (libfiu)
//! - `crash`: SIGKILL mid-batch and mid-rotation, fork without exec
//! - `orphans`: rotations cut short, put back into the backups
//! - `hostile`: input that tries to break lines or memory
//! - `api`: Send/Sync/Debug of the public types, formats
//! - `messages`: the whole text of the errors a first hour meets (paths,
//!   config files, permissions)
//! - `json`: the JSON-lines formatter against hostile input (feature `json`)
//! - `integrations`: the `tracing` layer and writer, the `log` backend
//! - `filters`: `RUST_LOG`-style filters and their reload in the `log`
//!   backend, `init_log_from_env`, the `filters` example (feature `log`)
//! - `config`: `HandlerConfig` from TOML and JSON, and its errors (feature `config`)
//! - `examples`: the `tracing_stderr_and_file` example (stderr and the file,
//!   feature `tracing`) and the `json_service` example (every JSON line
//!   parsed, feature `json`)
//! - `regression`: promises at the edges: order under overflow, races with
//!   stop and shutdown, restarts, idle retries, forks, failed syncs, limits
//! - `reports`: the handler's reports of its own errors: the hook, one
//!   report per error, the count of those held back
//! - `rfc5424`: a strict checker of RFC 5424 messages (shared with the fuzz targets)
//! - `rsyslog`: a real rsyslogd as a child process, and parsers of what it received
//! - `syslog`: `SyslogFormatter` messages through rsyslogd, `SyslogConfig` (feature `syslog`)
//! - `forwarding`: the handlers forwarding to a collector: the file never
//!   waits on it, every wait on it ends by its deadline, what it never got
//!   is counted (feature `syslog`)

mod api;
#[cfg(feature = "syslog")]
mod chaos;
mod child;
mod compression;
#[cfg(feature = "config")]
mod config;
mod crash;
mod emit_wait;
#[cfg(any(feature = "tracing", feature = "json"))]
mod examples;
mod fallback;
mod faults;
#[cfg(feature = "log")]
mod filters;
mod fiu;
#[cfg(feature = "syslog")]
mod forwarding;
mod hostile;
mod injected;
#[cfg(all(feature = "tracing", feature = "log", feature = "json"))]
mod integrations;
mod interop_python;
#[cfg(feature = "json")]
mod json;
mod lifecycle;
mod messages;
mod multiprocess;
mod nonblocking;
mod orphans;
mod regression;
mod reports;
#[cfg(feature = "syslog")]
mod rfc5424;
mod rotation;
#[cfg(feature = "syslog")]
mod rsyslog;
#[cfg(feature = "syslog")]
mod syslog;
mod timed;
mod util;

/// Plain `cargo test` builds the crate's default features only: say, in one
/// note that the test harness does not capture, which features' tests that
/// left out.
#[test]
fn every_feature_is_under_test() {
    let features = [
        ("gzip", cfg!(feature = "gzip")),
        ("zstd", cfg!(feature = "zstd")),
        ("tracing", cfg!(feature = "tracing")),
        ("log", cfg!(feature = "log")),
        ("json", cfg!(feature = "json")),
        ("config", cfg!(feature = "config")),
        ("syslog", cfg!(feature = "syslog")),
        ("tls", cfg!(feature = "tls")),
    ];
    let off: Vec<&str> = features
        .iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| *name)
        .collect();
    if !off.is_empty() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: the tests of the features {} did not run; `cargo test --all-features` runs them all",
            off.join(", ")
        );
    }
}
