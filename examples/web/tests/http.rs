//! The axum and actix examples, end to end over real HTTP on an ephemeral
//! loopback port: start the server, send requests, stop it gracefully, then
//! read the log files.
//!
//! The examples are compiled into this test crate (`#[path]`) and their
//! `serve` functions called, rather than spawning the example binaries: cargo
//! builds examples before tests, but offers no path to them (`CARGO_BIN_EXE_*`
//! exists only for bins), and an in-process server can be stopped without
//! signals.

use std::fs;
use std::net::SocketAddr;
use std::time::Duration;

use concurrent_log_handler::AsyncConcurrentHandler;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::util::{TempLog, all_lines, parse_line};

#[allow(dead_code)] // its `main` is for `cargo run --example axum`
#[path = "../axum.rs"]
mod axum_example;

#[allow(dead_code)] // its `main` is for `cargo run --example actix`
#[path = "../actix.rs"]
mod actix_example;

/// The crate's integration-test helpers (temp log, line parser, runtimes),
/// shared rather than copied; most of them serve other tests.
#[allow(dead_code)]
#[path = "../../../tests/it/util.rs"]
mod util;

/// One HTTP/1.1 request on a fresh connection; returns status and body.
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("receive");
        response
    };
    // A liveness bound, not a timing assertion.
    let response = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("the server answered");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Runs the server future while [`exercise`] drives it, then stops it and
/// checks that the graceful shutdown closed the handler.
async fn serve_exercise_and_stop<E: std::fmt::Display>(
    serve: impl std::future::Future<Output = Result<(), E>>,
    stop: oneshot::Sender<()>,
    addr: SocketAddr,
    log: &TempLog,
    handler: &AsyncConcurrentHandler,
) {
    let (served, ()) = tokio::join!(serve, async {
        exercise(addr, log, handler).await;
        stop.send(()).expect("server still running");
    });
    served
        .map_err(|e| e.to_string())
        .expect("graceful shutdown");
    assert!(handler.is_closed(), "serve shut the handler down");
}

/// The scenario both servers go through.
async fn exercise(addr: SocketAddr, log: &TempLog, handler: &AsyncConcurrentHandler) {
    for name in ["ann", "bob", "cy"] {
        let (status, body) = request(addr, "GET", &format!("/hello/{name}")).await;
        assert_eq!(
            (status, body.as_str()),
            (200, format!("hello {name}\n").as_str())
        );
    }
    let (status, body) = request(addr, "POST", "/checkout/1").await;
    assert_eq!((status, body.as_str()), (200, "paid\n"));
    // emit_wait: the audit record was on disk before the response was sent.
    let text = fs::read_to_string(&log.path).expect("read log");
    assert!(text.contains("audit: order paid order=1"), "{text}");

    // Make the log unwritable (a directory at its path: refused even for root).
    let aside = log.dir.path().join("aside.log");
    fs::rename(&log.path, &aside).expect("mv");
    fs::create_dir(&log.path).expect("mkdir");
    let (status, body) = request(addr, "POST", "/checkout/2").await;
    assert_eq!((status, body.as_str()), (500, "audit log unavailable\n"));
    fs::remove_dir(&log.path).expect("rmdir");

    let (status, _) = request(addr, "POST", "/checkout/3").await;
    assert_eq!(status, 200, "the handler recovered without a restart");
    let (status, _) = request(addr, "GET", "/checkout/4").await;
    assert_eq!(status, 405, "checkout is POST only");
    let stats = handler.stats();
    assert_eq!(stats.failed, 1, "{stats:?}");
}

/// Lines of the log before the break (`aside.log`) and after, checked.
fn check_logs(log: &TempLog, target: &str) {
    let mut lines = all_lines(&log.dir.path().join("aside.log"));
    lines.extend(all_lines(&log.path));
    let bodies: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            let parsed = parse_line(l);
            (parsed.level, parsed.rest)
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("INFO", format!("{target}::http: hello served name=ann")),
        ("INFO", format!("{target}::http: hello served name=bob")),
        ("INFO", format!("{target}::http: hello served name=cy")),
        (
            "CRITICAL",
            format!("{target}::audit: audit: order paid order=1"),
        ),
        (
            "CRITICAL",
            format!("{target}::audit: audit: order paid order=3"),
        ),
    ]
    .into_iter()
    .map(|(level, rest)| (level.to_owned(), rest))
    .collect();
    assert_eq!(bodies, want);
}

#[test]
fn axum_example_logs_requests_and_audits_checkouts_over_http() {
    let log = TempLog::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum_example::serve(listener, handler.clone(), async {
            let _ = stopped.await;
        });
        serve_exercise_and_stop(serve, stop, addr, &log, &handler).await;
    });
    check_logs(&log, "axum_example");
}

#[test]
fn actix_example_logs_requests_and_audits_checkouts_over_http() {
    let log = TempLog::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = actix_example::serve(listener, handler.clone(), async {
            let _ = stopped.await;
        });
        serve_exercise_and_stop(serve, stop, addr, &log, &handler).await;
    });
    check_logs(&log, "actix_example");
}
