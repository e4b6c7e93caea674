//! An axum service logging through an [`AsyncConcurrentHandler`] kept in the
//! router's state.
//!
//! - `GET /hello/{name}`: logs with `emit`, fire-and-forget (never awaits the file).
//! - `POST /checkout/{order}`: writes a `CRITICAL` audit record with
//!   `emit_wait` and answers `500` when that record could not be written: no
//!   audit, no sale.
//! - On Ctrl-C or SIGTERM the server stops accepting, finishes its requests,
//!   and then `shutdown().await` writes everything still queued.
//!
//! Run it with `cargo run --example axum` (set `ADDR` to listen elsewhere than
//! `127.0.0.1:3000`), then `curl localhost:3000/hello/ann` and
//! `curl -X POST localhost:3000/checkout/42`. Logs land in
//! `target/axum-example/logs/app.log` (`target` is `CARGO_TARGET_DIR` when
//! that is set). The test (`examples/web/tests/http.rs`) drives [`serve`]
//! over real HTTP, and runs `main` in a child process that it stops with
//! SIGTERM.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// The routes, with the handler as their state (a clone is one `Arc`).
pub fn app(handler: AsyncConcurrentHandler) -> Router {
    Router::new()
        .route("/hello/{name}", get(hello))
        .route("/checkout/{order}", post(checkout))
        .with_state(handler)
}

async fn hello(State(log): State<AsyncConcurrentHandler>, Path(name): Path<String>) -> String {
    // Formats here and queues: the request never waits for the file.
    log.emit(
        Record::new(Level::Info, "hello served")
            .with_target("axum_example::http")
            .with_field("name", &name),
    );
    format!("hello {name}\n")
}

async fn checkout(
    State(log): State<AsyncConcurrentHandler>,
    Path(order): Path<u64>,
) -> (StatusCode, &'static str) {
    let audit = Record::new(Level::Critical, "audit: order paid")
        .with_target("axum_example::audit")
        .with_field("order", order);
    // Awaits (without blocking the runtime) until the record is on disk.
    match log.emit_wait(audit).await {
        Ok(()) => (StatusCode::OK, "paid\n"),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "audit log unavailable\n"),
    }
}

/// Serves [`app`] on `listener` until `shutdown` resolves, lets the requests in
/// flight finish, then drains and closes the log.
pub async fn serve(
    listener: TcpListener,
    handler: AsyncConcurrentHandler,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error>> {
    axum::serve(listener, app(handler.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    // After the server: no request can emit any more, so nothing is lost.
    handler.shutdown().await?;
    Ok(())
}

/// Serves on `ADDR` until Ctrl-C or SIGTERM, logging into
/// `target/axum-example/logs/app.log`.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = target_dir().join("axum-example/logs");
    let handler = AsyncConcurrentHandler::builder(dir.join("app.log"))
        .max_bytes(10 << 20)
        .backup_count(5)
        .build()?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Registered before serving, so that a SIGTERM sent as soon as the
    // address is printed already stops the server gracefully.
    let mut terminate = signal(SignalKind::terminate())?;
    serve(listener, handler, async move {
        // Ctrl-C at a terminal; SIGTERM from `kill`, systemd, Kubernetes.
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    })
    .await
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when it is set, else the
/// workspace's `target/`, two levels above this package.
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    )
}
