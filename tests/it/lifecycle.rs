//! Flush, shutdown, and handles or runtimes going away.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use concurrent_log_handler::{AsyncConcurrentHandler, ErrorKind};

use crate::fallback::record;
use crate::util::{TempLog, all_lines, assert_complete, check_records};

#[test]
fn shutdown_writes_everything_accepted_and_closes_every_clone() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(60_000)
            .build()
            .expect("build");
        let clone = handler.clone();
        for seq in 0..50_000 {
            handler.emit(record(0, seq));
        }
        assert_eq!(handler.stats().dropped, 0);
        clone.shutdown().await.expect("shutdown");
        let found = check_records(&all_lines(&log.path), true);
        assert_complete(&found, 1, 50_000);

        assert!(handler.is_closed());
        handler.emit(record(0, 50_000));
        let stats = handler.stats();
        assert_eq!((stats.written, stats.dropped), (50_000, 1), "{stats:?}");
        handler
            .shutdown()
            .await
            .expect("a second shutdown is harmless");
    });
}

#[test]
fn flush_waits_for_everything_emitted_before_it() {
    let log = TempLog::new();
    let runtime = crate::util::multi_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        for round in 0..5 {
            for seq in 0..2_000 {
                handler.emit(record(0, round * 2_000 + seq));
            }
            handler.flush().await.expect("flush");
            let found = check_records(&all_lines(&log.path), true);
            assert_eq!(found.per_writer[&0], (round + 1) * 2_000);
        }
    });
}

#[test]
fn dropping_the_last_handle_still_writes_what_was_accepted() {
    let log = TempLog::new();
    let runtime = crate::util::multi_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        for seq in 0..5_000 {
            handler.emit(record(0, seq));
        }
        drop(handler);
        // Best effort while the runtime lives: poll with a generous bound.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = all_lines(&log.path);
            if lines.len() == 5_000 {
                assert_complete(&check_records(&lines, true), 1, 5_000);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {} lines written",
                lines.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// A handle kept alive elsewhere (a global subscriber, a leaked clone) must
/// not hang the runtime's shutdown: the writer never parks a loop on the
/// blocking pool.
fn runtime_drop_with_live_handle(multi_thread: bool) {
    let log = TempLog::new();
    let path = log.path.clone();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread().build()
        }
        .expect("runtime");
        let handler = runtime.block_on(async {
            let handler = AsyncConcurrentHandler::builder(&path)
                .build()
                .expect("build");
            for seq in 0..1_000 {
                handler.emit(record(0, seq));
            }
            handler
                .emit_wait(record(0, 1_000))
                .await
                .expect("emit_wait");
            handler
        });
        let leaked: &'static AsyncConcurrentHandler = Box::leak(Box::new(handler.clone()));
        drop(runtime);
        // The runtime is gone: the writer runs on its own thread, so the
        // survivor still logs, and its futures run on any executor.
        leaked.emit(record(0, 1_001));
        futures::executor::block_on(leaked.flush()).expect("flush without the runtime");
        let stats = leaked.stats();
        let _ = done_tx.send(stats);
        drop(handler);
    });
    let stats = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("dropping the runtime hung");
    assert_eq!(
        (stats.written, stats.dropped),
        (1_002, 0),
        "the record after the runtime's end is written too: {stats:?}"
    );
}

#[test]
fn dropping_a_multi_thread_runtime_with_a_live_handle_returns_promptly() {
    runtime_drop_with_live_handle(true);
}

#[test]
fn dropping_a_current_thread_runtime_with_a_live_handle_returns_promptly() {
    runtime_drop_with_live_handle(false);
}

#[test]
fn nowait_outside_a_runtime_is_a_typed_error_and_other_modes_build_anywhere() {
    let log = TempLog::new();
    let err = AsyncConcurrentHandler::builder(&log.path)
        .fallback_mode(concurrent_log_handler::FallbackMode::Nowait)
        .build()
        .expect_err("no runtime");
    assert!(err.kind() == ErrorKind::NoRuntime, "{err}");
    let handler = AsyncConcurrentHandler::builder(&log.path)
        .build()
        .expect("Drop and Block need no runtime");
    handler.emit(record(0, 0));
    futures::executor::block_on(handler.shutdown()).expect("shutdown on a plain thread");
    assert_eq!(handler.stats().written, 1);
    let runtime = crate::util::current_thread();
    let _guard = runtime.enter();
    let err = AsyncConcurrentHandler::builder(&log.path)
        .queue_capacity(0)
        .build()
        .expect_err("zero capacity");
    assert!(err.kind() == ErrorKind::InvalidConfig, "{err}");
}
