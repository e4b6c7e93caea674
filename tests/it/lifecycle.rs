//! Flush, shutdown, and handles or runtimes going away.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use concurrent_log_handler::{AsyncConcurrentHandler, ErrorKind};

use crate::fallback::{LockHolder, lock_path, record};
use crate::util::{
    TempLog, all_lines, assert_complete, check_records, spawn_child_capturing_stderr,
};

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

fn exit_child(log: &TempLog, handler: &str, count: usize) -> std::process::Child {
    spawn_child_capturing_stderr(
        "exit_queued",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_HANDLER", handler.to_owned()),
            ("CLH_COUNT", count.to_string()),
        ],
    )
}

/// A CLI that calls `std::process::exit` right after logging, with no
/// shutdown, stop or guard: the exit hook drains the queue, so every record
/// is in the file, and nothing is said on stderr. Repeated, since how much
/// is still queued at the exit varies.
#[test]
fn process_exit_with_records_queued_writes_them_all() {
    for handler in ["async", "thread"] {
        for round in 0..3 {
            let log = TempLog::new();
            let count = 50_000;
            let out = exit_child(&log, handler, count)
                .wait_with_output()
                .expect("wait");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{handler} {round}: {}\n{stderr}",
                out.status
            );
            assert!(
                !stderr.contains("were not written"),
                "{handler} {round}: {stderr}"
            );
            assert_complete(&check_records(&all_lines(&log.path), true), 1, count);
        }
    }
}

/// The same exit while another process holds the log's lock: the hook waits
/// its bounded while, then the process exits anyway and says on stderr how
/// many records it could not write, and for which log.
#[test]
fn process_exit_while_the_lock_is_held_says_how_many_records_were_lost() {
    for handler in ["async", "thread"] {
        let log = TempLog::new();
        let holder = LockHolder::hold(&lock_path(&log));
        let count = 1_000;
        let started = Instant::now();
        let out = exit_child(&log, handler, count)
            .wait_with_output()
            .expect("wait");
        holder.release();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{handler}: {}\n{stderr}", out.status);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{handler}: the exit hook must be bounded"
        );
        let warning = format!("{count} records queued for {}", log.path.display());
        assert!(stderr.contains(&warning), "{handler}: {stderr}");
        assert!(all_lines(&log.path).is_empty(), "{handler}");
    }
}

/// The async handler's guard, kept in `main` while the handler lives
/// elsewhere: dropping it after the runtime writes everything accepted and
/// closes the handler; the counters add up.
#[test]
fn dropping_the_async_guard_shuts_the_handler_down_after_the_runtime() {
    let log = TempLog::new();
    let handler = AsyncConcurrentHandler::builder(&log.path)
        .queue_capacity(100_000)
        .build()
        .expect("build");
    let guard = handler.guard();
    let count = 50_000;
    {
        let runtime = crate::util::multi_thread();
        let h = handler.clone();
        runtime.block_on(async move {
            for seq in 0..count {
                h.emit(record(0, seq));
            }
        });
    }
    drop(guard);
    assert!(handler.is_closed());
    let stats = handler.stats();
    assert_eq!(stats.written, count as u64, "{stats}");
    assert_eq!(stats.emitted, stats.written + stats.lost(), "{stats}");
    assert_complete(&check_records(&all_lines(&log.path), true), 1, count);
}

/// A program that drops its runtime while `Nowait` writes still wait for
/// its blocking pool: they are counted as dropped, and stderr says why
/// (once, naming the log), instead of the records vanishing.
#[test]
fn nowait_writes_the_runtime_never_ran_are_counted_and_said() {
    let log = TempLog::new();
    let holder = LockHolder::hold(&lock_path(&log));
    let count = 200;
    let out = spawn_child_capturing_stderr(
        "nowait_runtime_dropped",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_COUNT", count.to_string()),
        ],
    )
    .wait_with_output()
    .expect("wait");
    holder.release();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    let said = format!("shut down before Nowait writes to {:?} ran", log.path);
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}\n{stdout}");
    let dropped: u64 = stdout
        .split("dropped=")
        .nth(1)
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("the child prints its stats");
    // All but the queued record and the writer's batch (stuck on the lock).
    assert!(dropped >= count - 2, "{dropped} of {count}\n{stdout}");
    let emitted: u64 = stdout
        .split("emitted=")
        .nth(1)
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("the child prints its stats");
    assert_eq!(emitted, count, "every record handed to emit is counted");
}
