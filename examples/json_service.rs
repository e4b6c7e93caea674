//! A tokio service writing JSON lines, for a log shipper or `jq`.
//!
//! Four worker tasks handle five requests each. Every request logs one
//! record with [`emit`](AsyncConcurrentHandler::emit), which never awaits
//! the file; its fields keep their types in the JSON (`"status":200`,
//! `"latency_ms":2.31`, `"cache_hit":true`), and the request's id and
//! worker go in a `request` span (`"span":{"req_id":7,"worker":1}`). A
//! checkout also writes a `CRITICAL` audit record with
//! [`emit_wait`](AsyncConcurrentHandler::emit_wait), which resolves only
//! once the record is on disk: when it fails, the request answers `500`
//! instead of taking the order. At the end,
//! [`shutdown`](AsyncConcurrentHandler::shutdown) writes what is still
//! queued, and the handler's [`Stats`] are printed.
//!
//! A line of the log:
//!
//! ```text
//! {"timestamp":"2026-11-23T08:07:37.042Z","level":"CRITICAL","pid":4242,"target":"service::audit","message":"audit: order paid","fields":{"order":9003,"amount_cents":1750,"currency":"EUR"},"span":{"req_id":3,"worker":0},"spans":[{"name":"request","fields":{"req_id":3,"worker":0}}]}
//! ```
//!
//! Run it with `cargo run --example json_service`. The log lands in
//! `target/json-service-example/logs/service.log` (`target` is
//! `CARGO_TARGET_DIR` when that is set; the directory is recreated each run); `jq -c 'select(.level == "CRITICAL") | .fields'`
//! on it lists the audit records. `tests/it/examples.rs` runs [`run`] and
//! parses every line.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use concurrent_log_handler::format::JsonFormatter;
use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record, Stats, Value};

/// Worker tasks the service runs.
pub const WORKERS: u64 = 4;

/// Requests each worker handles; request ids run from 1 to
/// `WORKERS * REQUESTS_PER_WORKER`.
pub const REQUESTS_PER_WORKER: u64 = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = target_dir().join("json-service-example/logs");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let (log, stats) = run(&dir).await?;
    println!("{stats}");
    println!("{} now holds:", log.display());
    print!("{}", std::fs::read_to_string(&log)?);
    Ok(())
}

/// Runs the service into `dir/service.log` until every request is handled,
/// shuts the handler down, and returns the log's path and the handler's
/// final stats.
pub async fn run(dir: &Path) -> Result<(PathBuf, Stats), Box<dyn Error>> {
    let path = dir.join("service.log");
    let handler = AsyncConcurrentHandler::builder(&path)
        .max_bytes(10 << 20)
        .backup_count(5)
        .formatter(JsonFormatter::new().utc(true))
        .build()?;
    handler.emit(
        Record::new(Level::Info, "service started")
            .with_target("service")
            .with_field("version", "1.2.0")
            .with_field("workers", WORKERS),
    );

    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let log = handler.clone(); // one `Arc`
            tokio::spawn(async move {
                for n in 0..REQUESTS_PER_WORKER {
                    handle_request(&log, worker, worker * REQUESTS_PER_WORKER + n + 1).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }

    handler.emit(
        Record::new(Level::Info, "service stopping")
            .with_target("service")
            .with_field("requests", WORKERS * REQUESTS_PER_WORKER),
    );
    // Writes everything accepted, then stops the writer: after this the
    // stats are final.
    handler.shutdown().await?;
    Ok((path, handler.stats()))
}

/// One simulated request. Every third one is a checkout, which needs its
/// audit record on disk; every seventh fails upstream.
async fn handle_request(log: &AsyncConcurrentHandler, worker: u64, req_id: u64) {
    let started = Instant::now();
    let checkout = req_id.is_multiple_of(3);
    let span = [
        ("req_id", Value::from(req_id)),
        ("worker", Value::from(worker)),
    ];
    tokio::time::sleep(Duration::from_millis(1 + req_id % 3)).await; // the work

    if req_id.is_multiple_of(7) {
        log.emit(
            Record::new(Level::Warn, "request failed")
                .with_target("service::http")
                .with_span("request", span)
                .with_field("status", 503_u16)
                .with_field("error", "upstream timeout")
                .with_field("latency_ms", millis_since(started)),
        );
        return;
    }

    let status: u16 = if checkout {
        let audit = Record::new(Level::Critical, "audit: order paid")
            .with_target("service::audit")
            .with_span("request", span.clone())
            .with_field("order", 9000 + req_id)
            .with_field("amount_cents", 1000 + 250 * req_id)
            .with_field("currency", "EUR");
        // Awaits, without blocking the runtime, until the record is on
        // disk. No audit, no sale.
        match log.emit_wait(audit).await {
            Ok(()) => 200,
            Err(_) => 500,
        }
    } else {
        200
    };
    log.emit(
        Record::new(Level::Info, "request served")
            .with_target("service::http")
            .with_span("request", span)
            .with_field("method", if checkout { "POST" } else { "GET" })
            .with_field("status", status)
            .with_field("latency_ms", millis_since(started))
            .with_field("cache_hit", req_id.is_multiple_of(2)),
    );
}

/// Milliseconds since `start`, to the microsecond: a JSON number
/// (`2.31`, not `2.3100000000000001`).
fn millis_since(start: Instant) -> f64 {
    start.elapsed().as_micros() as f64 / 1000.0
}

/// Cargo's target directory, where the example writes: `CARGO_TARGET_DIR`
/// when it is set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
