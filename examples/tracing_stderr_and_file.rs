//! The usual `tracing` setup of a program: one subscriber, two outputs, each
//! with its own filter.
//!
//! - stderr, for the person watching: `tracing_subscriber::fmt`'s human
//!   format, `INFO` and above;
//! - a rotating log file, for later: the crate's [`ConcurrentLogLayer`]
//!   into a [`NonBlockingConcurrentHandler`], `DEBUG` and above for the
//!   program's own targets (`app`, `app::*`), `INFO` for its dependencies.
//!
//! Events keep the spans they happened in: a line of the file reads
//! `request{req_id=7 method=GET}:query{table=orders}: app::db: rows fetched rows=3`.
//! The `query` span is at `DEBUG`, so the stderr output shows only
//! `request{…}` around the `INFO` events. At the end, dropping the
//! [`WriterGuard`](concurrent_log_handler::WriterGuard) writes what is still
//! queued and stops the writer thread, as tracing-appender's `WorkerGuard`
//! does.
//!
//! Coming from tracing-appender, the file layer replaces
//! `fmt::layer().with_writer(non_blocking)`. To keep `fmt`'s own format in
//! the file instead, give the handler to it as the writer:
//! `fmt::layer().with_writer(handler).with_ansi(false)`. In a tokio service,
//! an [`AsyncConcurrentHandler`](concurrent_log_handler::AsyncConcurrentHandler)
//! goes into the same layer, and `let _guard = handler.guard();` in `main`
//! drains it after the runtime.
//!
//! Run it with `cargo run --example tracing_stderr_and_file`: the `INFO`
//! lines appear on stderr, and the program then prints what the log,
//! `target/tracing-stderr-and-file-example/logs/app.log`, holds (`target` is
//! `CARGO_TARGET_DIR` when that is set; the directory is recreated each run). `tests/it/examples.rs` runs [`run`]
//! and checks both outputs.

use std::error::Error;
use std::path::{Path, PathBuf};

use concurrent_log_handler::NonBlockingConcurrentHandler;
use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
use tracing::{debug, debug_span, info, info_span, warn};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = target_dir().join("tracing-stderr-and-file-example/logs");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let log = run(&dir)?;
    println!("{} now holds:", log.display());
    print!("{}", std::fs::read_to_string(&log)?);
    Ok(())
}

/// Installs the subscriber, logs the program's work to stderr and into
/// `dir/app.log`, and returns the log's path once every record is on disk.
///
/// It installs the global subscriber, which a process can do once: call it
/// once per process.
pub fn run(dir: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let path = dir.join("app.log");
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&path)
        .max_bytes(10 << 20)
        .backup_count(5)
        .build()?;

    // The file: the program's own targets from DEBUG, the rest from INFO.
    let file_filter = Targets::new()
        .with_target("app", LevelFilter::DEBUG)
        .with_default(LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(LevelFilter::INFO),
        )
        .with(ConcurrentLogLayer::new(handler).with_filter(file_filter))
        .try_init()?;

    info!(target: "app", version = "1.2.0", "starting");
    for req_id in [7, 8] {
        handle_request(req_id);
    }
    debug!(target: "hyper", "connection closed"); // a dependency's DEBUG: nowhere
    warn!(target: "hyper", peer = "10.0.0.9:4711", "connection reset");
    info!(target: "app", "stopping");

    // Writes everything still queued and stops the writer; keep it alive
    // until here (`let _guard = …` in a `main` that returns).
    drop(guard);
    Ok(path)
}

/// One request: a span carrying its id, DEBUG detail inside it, an INFO
/// summary at the end.
fn handle_request(req_id: u64) {
    let _request = info_span!(target: "app::http", "request", req_id, method = "GET").entered();
    debug!(target: "app::http", path = "/orders", "request received");
    {
        let _query = debug_span!(target: "app::db", "query", table = "orders").entered();
        debug!(target: "app::db", rows = 3, "rows fetched");
    }
    info!(target: "app::http", status = 200, "request served");
}

/// Cargo's target directory, where the example writes: `CARGO_TARGET_DIR`
/// when it is set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
