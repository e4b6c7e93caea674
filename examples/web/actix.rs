//! An actix-web service logging through an [`AsyncConcurrentHandler`] kept in
//! `web::Data`.
//!
//! - `GET /hello/{name}`: logs with `emit`, fire-and-forget (never awaits the file).
//! - `POST /checkout/{order}`: writes a `CRITICAL` audit record with
//!   `emit_wait` and answers `500` when that record could not be written.
//! - On Ctrl-C or SIGTERM the server stops gracefully, then
//!   `shutdown().await` writes everything still queued.
//!
//! actix runs each worker on its own single-thread runtime; the handler was
//! built on the main runtime and is used from all of them: `emit` only queues,
//! and `emit_wait` awaits a tokio channel, which works across runtimes.
//!
//! Run it with `cargo run --example actix` (set `ADDR` to listen elsewhere than
//! `127.0.0.1:3000`). Logs land in `target/actix-example/logs/app.log`
//! (`target` is `CARGO_TARGET_DIR` when that is set). The test
//! (`examples/web/tests/http.rs`) drives [`serve`] over real HTTP, and runs
//! `main` in a child process that it stops with SIGTERM.

use std::future::Future;

use actix_web::{App, HttpResponse, HttpServer, web};
use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
use tokio::signal::unix::{SignalKind, signal};

/// The routes; the handler comes from `web::Data`. Resources (rather than
/// `App::route`) answer `405` to a wrong method, as axum does.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hello/{name}").route(web::get().to(hello)))
        .service(web::resource("/checkout/{order}").route(web::post().to(checkout)));
}

async fn hello(log: web::Data<AsyncConcurrentHandler>, name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    // Formats here and queues: the request never waits for the file.
    log.emit(
        Record::new(Level::Info, "hello served")
            .with_target("actix_example::http")
            .with_field("name", &name),
    );
    HttpResponse::Ok().body(format!("hello {name}\n"))
}

async fn checkout(log: web::Data<AsyncConcurrentHandler>, order: web::Path<u64>) -> HttpResponse {
    let audit = Record::new(Level::Critical, "audit: order paid")
        .with_target("actix_example::audit")
        .with_field("order", order.into_inner());
    // Awaits (without blocking the worker) until the record is on disk.
    match log.emit_wait(audit).await {
        Ok(()) => HttpResponse::Ok().body("paid\n"),
        Err(_) => HttpResponse::InternalServerError().body("audit log unavailable\n"),
    }
}

/// Serves [`routes`] on `listener` until `shutdown` resolves, stops gracefully,
/// then drains and closes the log.
pub async fn serve(
    listener: std::net::TcpListener,
    handler: AsyncConcurrentHandler,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error>> {
    let data = web::Data::new(handler.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
        .workers(2)
        // Shutdown is ours to trigger (Ctrl-C or SIGTERM in `main`, a
        // channel in tests).
        .disable_signals()
        .listen(listener)?
        .run();
    let server_handle = server.handle();
    let stopper = async move {
        shutdown.await;
        // Graceful: stop accepting, let the requests in flight finish.
        server_handle.stop(true).await;
    };
    let (served, ()) = tokio::join!(server, stopper);
    served?;
    // After the server: no request can emit any more, so nothing is lost.
    handler.shutdown().await?;
    Ok(())
}

/// Serves on `ADDR` until Ctrl-C or SIGTERM, logging into
/// `target/actix-example/logs/app.log`.
#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = target_dir().join("actix-example/logs");
    let handler = AsyncConcurrentHandler::builder(dir.join("app.log"))
        .max_bytes(10 << 20)
        .backup_count(5)
        .build()?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = std::net::TcpListener::bind(&addr)?;
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
