//! The axum and actix examples, end to end over real HTTP on an ephemeral
//! loopback port: start the server, send requests, stop it gracefully, then
//! read the log files.
//!
//! The examples are compiled into this test crate (`#[path]`) and their
//! `serve` functions called, rather than spawning the example binaries: cargo
//! builds examples before tests, but offers no path to them (`CARGO_BIN_EXE_*`
//! exists only for bins), and an in-process server can be stopped without
//! signals. Their `main`, which stops on SIGTERM as on Ctrl-C, runs in a
//! child process (this test binary, started again) that the test stops with
//! SIGTERM.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use concurrent_log_handler::AsyncConcurrentHandler;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::util::{Reports, TempLog, all_lines, parse_line};

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

/// The handler reported the failed write of the audit record (its caller
/// got the error too, and answered 500).
fn assert_reported_the_failed_checkout(reports: &Reports, log: &TempLog) {
    reports.assert_each_contains(&format!(
        "cannot open log file {:?}: Is a directory (os error 21)",
        log.path
    ));
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
    let reports = Reports::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .on_error(reports.hook())
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
    assert_reported_the_failed_checkout(&reports, &log);
}

#[test]
fn actix_example_logs_requests_and_audits_checkouts_over_http() {
    let log = TempLog::new();
    let reports = Reports::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .on_error(reports.hook())
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
    assert_reported_the_failed_checkout(&reports, &log);
}

/// The child's side: runs the `main` of the example named by
/// `CLH_WEB_EXAMPLE` (`axum` or `actix`).
#[test]
#[ignore = "entry point of the child process the SIGTERM tests start"]
fn example_main() {
    match std::env::var("CLH_WEB_EXAMPLE").as_deref() {
        Ok("axum") => axum_example::main().expect("axum example"),
        Ok("actix") => actix_example::main().expect("actix example"),
        other => panic!("CLH_WEB_EXAMPLE={other:?}"),
    }
}

/// Runs the example's `main` in a child process listening on an ephemeral
/// port with `CARGO_TARGET_DIR` in a temporary directory, serves a request
/// and an audited checkout, sends SIGTERM, and checks that the child exited
/// successfully after writing both records into the target directory.
fn stops_on_sigterm(example: &str) {
    let target = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args(["--ignored", "--exact", "example_main", "--nocapture"])
        .env("CLH_WEB_EXAMPLE", example)
        .env("ADDR", "127.0.0.1:0")
        .env("CARGO_TARGET_DIR", target.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let addr = listening_address(&mut child);
    crate::util::current_thread().block_on(async {
        assert_eq!(
            request(addr, "GET", "/hello/ann").await,
            (200, "hello ann\n".to_owned())
        );
        assert_eq!(
            request(addr, "POST", "/checkout/7").await,
            (200, "paid\n".to_owned())
        );
    });
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions; `pid` is our own child,
    // not yet waited for, so the id cannot have been reused.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill");
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).expect("read");
    assert!(
        status.success(),
        "{example} after SIGTERM: {status}\n{stderr}"
    );

    let log = target
        .path()
        .join(format!("{example}-example/logs/app.log"));
    let rest: Vec<String> = all_lines(&log)
        .iter()
        .map(|line| parse_line(line).rest)
        .collect();
    assert_eq!(
        rest,
        [
            format!("{example}_example::http: hello served name=ann"),
            format!("{example}_example::audit: audit: order paid order=7"),
        ]
    );
}

/// The address the child prints (`listening on http://…`) once it listens.
fn listening_address(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout");
    let (found, address) = std::sync::mpsc::channel();
    // A thread, so that the wait for the line has a deadline.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, addr)) = line.split_once("listening on http://") {
                let _ = found.send(addr.trim().parse::<SocketAddr>().expect("address"));
            }
        }
    });
    match address.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => addr,
        Err(_) => {
            let _ = child.kill();
            panic!("the example did not print its address within a minute");
        }
    }
}

/// Waits for `child` at most `limit`, killing it (and failing) after that.
fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the example did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn axum_example_stops_gracefully_on_sigterm() {
    stops_on_sigterm("axum");
}

#[test]
fn actix_example_stops_gracefully_on_sigterm() {
    stops_on_sigterm("actix");
}
