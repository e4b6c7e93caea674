//! A `log`-based command-line program with per-module filters: it logs
//! through the `log` facade into a rotating file (the thread handler, no
//! tokio), starting from `info,app::db=debug`, and halfway changes its
//! filter at run time, as a SIGHUP handler or an admin command would.
//!
//! Run it with `cargo run --example filters`; set `RUST_LOG` to start from
//! another filter. The log lands in `target/filters-example/logs/app.log`
//! (`target` is `CARGO_TARGET_DIR` when that is set; the directory is
//! recreated each run), and the program prints what it
//! wrote. `tests/it/filters.rs` runs [`run`] and checks every line.

use std::error::Error;
use std::path::{Path, PathBuf};

use concurrent_log_handler::integrations::log::{FilterHandle, init_log};
use concurrent_log_handler::{DEFAULT_FILTER_ENV, Filter, NonBlockingConcurrentHandler};

/// The filter the program starts with when `RUST_LOG` is not set: `info`
/// everywhere, `debug` for the database layer.
pub const START_FILTER: &str = "info,app::db=debug";

/// The filter it switches to halfway: quiet, except for the HTTP layer
/// being investigated.
pub const RELOADED_FILTER: &str = "warn,app::http=debug";

fn main() -> Result<(), Box<dyn Error>> {
    let dir = target_dir().join("filters-example/logs");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let filter = Filter::from_env_or(DEFAULT_FILTER_ENV, START_FILTER.parse::<Filter>()?)?;
    let log = run(&dir, filter)?;
    println!("{} now holds:", log.display());
    print!("{}", std::fs::read_to_string(&log)?);
    Ok(())
}

/// Logs the program's work into `dir/app.log` with `filter`, switching to
/// [`RELOADED_FILTER`] halfway, and returns the log's path once every
/// record is on disk.
///
/// It installs the global `log` logger, which a process can do once: call
/// it once per process.
pub fn run(dir: &Path, filter: Filter) -> Result<PathBuf, Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("app.log");
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&path)
        .max_bytes(1 << 20)
        .backup_count(3)
        .build()?;
    // Keep the handle: it is how the filter changes later.
    let filter = init_log(handler, filter)?;

    log::info!(target: "app", version = "1.2.0"; "starting");
    for req in 1..=2 {
        handle_request(req);
    }

    reload(&filter, RELOADED_FILTER)?;
    handle_request(3);
    log::warn!(target: "app::db", ms = 1500; "slow query");
    log::info!(target: "app", "done"); // below `warn` now: not written

    // Dropping the guard writes everything queued and stops the writer.
    drop(guard);
    Ok(path)
}

/// What a SIGHUP handler would do: read the new filter, swap it in, say so.
fn reload(handle: &FilterHandle, spec: &str) -> Result<(), Box<dyn Error>> {
    handle.set_filter_str(spec)?;
    let now = handle.filter().to_string();
    log::warn!(target: "app", filter = now.as_str(); "filter reloaded");
    Ok(())
}

/// One request through the HTTP and database layers, logging at each.
fn handle_request(req: u32) {
    log::debug!(target: "app::http", req = req; "request received");
    log::debug!(target: "app::db", req = req; "query");
    log::trace!(target: "app::db::pool", req = req; "connection checked out");
    log::info!(target: "app::http", req = req, status = 200; "request served");
}

/// Cargo's target directory, where the example writes: `CARGO_TARGET_DIR`
/// when it is set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
