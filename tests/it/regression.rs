//! The promises at the edges: order under overflow, stop and shutdown racing
//! the callers, restarts, retries while idle, forked children, durable
//! writes that cannot sync, limits, and code that panics or logs at odd
//! times. Each test states the claim it holds the crate to; the races are
//! repeated enough rounds to fail on code that breaks them.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use concurrent_log_handler::format::{Formatter, TextFormatter};
use concurrent_log_handler::{
    AsyncConcurrentHandler, Compression, ErrorKind, FallbackMode, Level, MAX_QUEUE_CAPACITY,
    NonBlockingConcurrentHandler, Record, Rotation,
};

use crate::fallback::{LockHolder, lock_path, record};
use crate::util::{
    Reports, TempLog, all_lines, assert_complete, check_records, spawn_child, wait_ok,
};

/// Waits for `done` with a generous bound; the bound is liveness only.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `f` on a thread and fails if it does not return within 60 s.
fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

// ---- Order: a producer's records in the order it emitted them ----------

#[test]
fn block_mode_keeps_each_tasks_records_in_order_when_the_queue_overflows() {
    let log = TempLog::new();
    let (tasks, per_task) = (4, 50_000);
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .max_bytes(4 << 20)
            .backup_count(100)
            .queue_capacity(64)
            .fallback_mode(FallbackMode::Block)
            .build()
            .expect("build");
        let joins: Vec<_> = (0..tasks)
            .map(|task| {
                let handler = handler.clone();
                tokio::spawn(async move {
                    for seq in 0..per_task {
                        handler.emit(record(task, seq));
                        if seq % 1_000 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for join in joins {
            join.await.expect("task");
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert!(stats.fallback > 0, "the queue never overflowed: {stats:?}");
        assert_eq!(stats.dropped, 0, "{stats:?}");
    });
    assert_complete(&check_records(&all_lines(&log.path), true), tasks, per_task);
}

#[test]
fn fallback_on_full_keeps_each_threads_records_in_order() {
    let log = TempLog::new();
    let (threads, per_thread) = (4, 50_000);
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .max_bytes(4 << 20)
        .backup_count(100)
        .queue_capacity(64)
        .build()
        .expect("build");
    let joins: Vec<_> = (0..threads)
        .map(|thread| {
            let handler = handler.clone();
            std::thread::spawn(move || {
                for seq in 0..per_thread {
                    handler.emit(record(thread, seq));
                }
            })
        })
        .collect();
    for join in joins {
        join.join().expect("thread");
    }
    drop(guard);
    assert!(handler.stats().fallback > 0, "{:?}", handler.stats());
    assert_complete(
        &check_records(&all_lines(&log.path), true),
        threads,
        per_thread,
    );
}

// ---- durable(true) on a file that cannot be synced -----------------------

/// A FIFO accepts writes but not `fdatasync` (EINVAL): with `durable`, no
/// caller may be told its record is on disk.
#[test]
fn a_failed_sync_fails_emit_wait_and_flush_and_counts_a_write_error() {
    let log = TempLog::new();
    let path = std::ffi::CString::new(log.path.to_str().expect("utf-8")).expect("path");
    // SAFETY: mkfifo with a valid NUL-terminated path; no memory is shared.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let reports = Reports::new();
    crate::util::current_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .durable(true)
            .on_error(reports.hook())
            .build()
            .expect("build");
        let err = handler
            .emit_wait(record(0, 0))
            .await
            .expect_err("the sync failed");
        assert_eq!(err.kind(), ErrorKind::Sync, "{err}");
        assert_eq!(
            err.io_error().and_then(std::io::Error::raw_os_error),
            Some(libc::EINVAL)
        );
        handler.emit(record(0, 1));
        handler
            .flush()
            .await
            .expect_err("flush after a failed sync");
        let stats = handler.stats();
        assert!(stats.write_errors >= 2, "{stats:?}");
        let _ = handler.shutdown().await;
    });
    let (thread, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .durable(true)
        .on_error(reports.hook())
        .build()
        .expect("build");
    thread
        .emit_wait(Record::new(Level::Error, "confirmed"))
        .expect_err("a confirmed record whose sync failed");
    thread.emit(record(0, 2));
    thread.flush().expect_err("flush after a failed sync");
    let sync_failed = format!(
        "cannot sync log file to disk {:?}: Invalid argument (os error 22)",
        log.path
    );
    reports.assert_each_contains(&sync_failed);
    assert!(reports.messages().len() >= 2, "each handler reported");
}

// ---- The thread handler's stop, flush and start racing the callers -------

/// Six threads emit while another flushes and the main thread stops the
/// handler: every `emit` that returned `Ok` is in the file and counted, every
/// other was refused with `Closed`, and nothing hangs.
#[test]
fn emits_and_flushes_racing_stop_are_written_or_refused_never_stranded() {
    for round in 0..150 {
        let log = TempLog::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .queue_capacity(256)
            .build()
            .expect("build");
        let accepted = Arc::new(AtomicU64::new(0));
        let emitters: Vec<_> = (0..6)
            .map(|writer| {
                let (handler, accepted) = (handler.clone(), Arc::clone(&accepted));
                std::thread::spawn(move || {
                    for seq in 0..5_000 {
                        let mut record = record(writer, seq);
                        // try_emit says what became of each record; a full
                        // queue hands it back to try again.
                        loop {
                            match handler.try_emit(record) {
                                Ok(()) => break,
                                Err(e) if e.is_full() => record = e.into_inner(),
                                Err(_) => return,
                            }
                        }
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let flusher = {
            let handler = handler.clone();
            std::thread::spawn(move || while handler.flush().is_ok() {})
        };
        std::thread::sleep(Duration::from_micros(300 + round * 13 % 700));
        let stopper = handler.clone();
        within_a_minute("stop", move || stopper.stop()).expect("stop");
        for emitter in emitters {
            emitter.join().expect("emitter");
        }
        within_a_minute("a flush racing stop", move || flusher.join()).expect("flusher");
        assert!(matches!(handler.flush(), Err(ref e) if e.kind() == ErrorKind::Closed));
        let found = check_records(&all_lines(&log.path), true);
        let lines: u64 = found.per_writer.values().map(|&n| n as u64).sum();
        let stats = handler.stats();
        let accepted = accepted.load(Ordering::Relaxed);
        assert_eq!(lines, accepted, "round {round}: {stats:?}");
        assert_eq!(stats.written, accepted, "round {round}: {stats:?}");
        assert_eq!(stats.emitted, stats.written + stats.dropped + stats.failed);
        drop(guard);
    }
}

/// A stop that timed out (the lock was held elsewhere) is followed by
/// `start()`: the handler accepts records again, writes all of them, and its
/// `is_closed`, `flush` and `stop` tell the truth; and again after a second
/// stop and start.
#[test]
fn start_after_a_timed_out_stop_gives_a_working_handler() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build");
    let holder = LockHolder::hold(&lock_path(&log));
    for seq in 0..10 {
        handler.emit(record(0, seq));
    }
    let err = handler
        .stop_timeout(Duration::from_millis(50))
        .expect_err("the lock is held elsewhere");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(handler.is_closed());
    assert!(handler.try_emit(record(0, 99)).unwrap_err().is_closed());
    handler.emit(record(0, 99)); // dropped and counted
    handler.start().expect("start");
    assert!(!handler.is_closed());
    for seq in 10..20 {
        handler.emit(record(0, seq));
    }
    holder.release();
    handler.flush().expect("flush");
    handler.stop().expect("stop");
    assert!(handler.is_closed());
    assert!(matches!(handler.flush(), Err(ref e) if e.kind() == ErrorKind::Closed));
    handler.start().expect("start again");
    for seq in 20..30 {
        handler.emit(record(0, seq))
    }
    handler.stop().expect("stop");
    // Record 99 was refused (and dropped once); 0..30 are there once, in order.
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 30);
    let stats = handler.stats();
    assert_eq!((stats.written, stats.dropped), (30, 1), "{stats:?}");
}

// ---- Every shutdown waits for the drain ----------------------------------

/// Two shutdowns while the writer cannot write (the lock is held elsewhere):
/// neither resolves before the records accepted earlier are written.
#[test]
fn a_second_shutdown_does_not_return_before_the_drain() {
    let log = TempLog::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("open");
        let holder = LockHolder::hold(&lock_path(&log));
        for seq in 1..100 {
            handler.emit(record(0, seq));
        }
        let first = tokio::spawn({
            let handler = handler.clone();
            async move { handler.shutdown().await }
        });
        let second = tokio::spawn({
            let handler = handler.clone();
            async move { handler.shutdown().await }
        });
        // While the lock is held neither can be done; this wait cannot pass
        // them by, it only gives them the chance to return too early.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!first.is_finished() && !second.is_finished());
        holder.release();
        first.await.expect("join").expect("first shutdown");
        second.await.expect("join").expect("second shutdown");
        assert_eq!(all_lines(&log.path).len(), 100);
        handler.shutdown().await.expect("a later shutdown");
    });
}

/// Whether the log's directory holds only archives and the log: every
/// compression finished.
fn compressions_done(log: &std::path::Path) -> bool {
    let dir = log.parent().expect("dir");
    fs::read_dir(dir).expect("read dir").all(|e| {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        name == "app.log" || name.starts_with(".__") || name.ends_with(".gz")
    })
}

/// Shutdowns that come while the first one waits for a large backup to be
/// compressed: each returns only once that compression finished, and every
/// record is in the files.
#[test]
fn concurrent_shutdowns_each_return_after_the_drain_and_the_compressions() {
    let runtime = crate::util::multi_thread();
    for round in 0..3 {
        let log = TempLog::new();
        // ~17.6 MB: one rotation of 16 MiB near the end, whose compression
        // is still running when the drain is done.
        let total = 180_000;
        runtime.block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .max_bytes(16 << 20)
                .backup_count(100)
                .compression(Compression::Gzip)
                .queue_capacity(200_000)
                .build()
                .expect("build");
            for seq in 0..total {
                handler.emit(record(0, seq));
            }
            let first = tokio::spawn({
                let handler = handler.clone();
                async move { handler.shutdown().await }
            });
            // The others come once the drain is done (a shutdown that came
            // earlier waits anyway), while the compression may still run.
            while handler.stats().written < total as u64 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let (handler, path) = (handler.clone(), log.path.clone());
                    tokio::spawn(async move {
                        handler.shutdown().await.expect("shutdown");
                        compressions_done(&path)
                    })
                })
                .collect();
            for other in others {
                assert!(
                    other.await.expect("join"),
                    "round {round}: a shutdown returned before the compression ended"
                );
            }
            first.await.expect("join").expect("shutdown");
        });
        let lines: Vec<String> = crate::compression::compressed_chain_of(&log.path, ".gz")
            .iter()
            .flat_map(|f| crate::compression::read_lines(f))
            .collect();
        assert_complete(&check_records(&lines, true), 1, total);
    }
}

// ---- Lines kept for a retry are written while idle -----------------------

#[test]
fn lines_kept_after_a_failed_write_are_retried_without_new_records() {
    let log = TempLog::new();
    let dir = log.dir.path().join("logs");
    let path = dir.join("app.log");
    let reports = Reports::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&path)
        .on_error(reports.hook())
        .build()
        .expect("build");
    handler.emit(record(0, 0));
    handler.flush().expect("flush");
    fs::remove_dir_all(&dir).expect("rm -r");
    for seq in 1..6 {
        handler.emit(record(0, seq));
    }
    eventually("the failed write", || handler.stats().write_errors > 0);
    fs::create_dir(&dir).expect("mkdir");
    // Nothing else is logged: the writer retries on its own.
    eventually("the retried lines", || {
        fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 5)
    });
    assert_eq!(handler.stats().failed, 0);
    reports.assert_each_contains(&format!("directory {dir:?} does not exist"));
}

/// Lines kept after a failed write go into the file before the records
/// that followed a `rotate_now`: the write before the rotation fails (the
/// file is at the process's size limit), the rotation moves the full file
/// away, and the kept lines come first in the new file.
#[test]
fn lines_kept_after_a_failed_write_stay_before_records_that_follow_a_rotation() {
    let log = TempLog::new();
    let child = crate::util::spawn_child_capturing_stderr(
        "rotate_after_failed_write",
        &[("CLH_LOG", log.path.display().to_string())],
    );
    let out = child.wait_with_output().expect("child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The failed write was reported, and nothing else.
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("concurrent_log_handler: "))
        .collect();
    assert!(
        !reports.is_empty() && reports.iter().all(|l| l.contains("File too large")),
        "{stderr}"
    );
    let backup = std::fs::read_to_string(log.dir.path().join("app.log.1")).expect("backup");
    let current = std::fs::read_to_string(&log.path).expect("log");
    let lines: Vec<String> = backup
        .lines()
        .chain(current.lines())
        .map(str::to_owned)
        .collect();
    let found = check_records(&lines, true);
    let written = found.per_writer.get(&0).copied().unwrap_or(0);
    assert!(written > 600, "{written} records");
}

/// The child of the test above: fills the log up to a 64 KiB file size
/// limit until a write fails, then rotates and goes on, in one go.
pub fn rotate_after_failed_write(log: std::path::PathBuf) {
    crate::child::set_file_size_limit(64 * 1024);
    crate::util::current_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log)
            .backup_count(1)
            .build()
            .expect("build");
        let mut seq = 0;
        loop {
            assert!(seq < 10_000, "the limit was never hit");
            let waited = seq % 20 == 19;
            if waited {
                if handler.emit_wait(record(0, seq)).await.is_err() {
                    seq += 1;
                    break;
                }
            } else {
                handler.emit(record(0, seq)); // kept for a retry if it fails
            }
            seq += 1;
        }
        // The awaited record failed and is gone; the ones before it wait for
        // a retry. These go in one batch with the rotation.
        for _ in 0..5 {
            handler.emit(record(0, seq));
            seq += 1;
        }
        let rotated = tokio::spawn({
            let handler = handler.clone();
            async move { handler.rotate_now().await }
        });
        // Its task queues the rotation now, before the records below.
        tokio::task::yield_now().await;
        for _ in 0..5 {
            handler.emit(record(0, seq));
            seq += 1;
        }
        rotated.await.expect("join").expect("rotated");
        handler.shutdown().await.expect("everything written");
        let stats = handler.stats();
        assert_eq!(stats.failed, 1, "only the awaited record: {stats:?}");
    });
}

// ---- Forked children -------------------------------------------------------

/// A fork while the writer thread formats its first record (and loads the
/// local time zone for it) leaves a child that logs and stops like any
/// process. Each delay is a fresh process, so each fork meets the writer at
/// another moment of its first batch.
#[test]
fn a_fork_while_the_writer_formats_its_first_record_leaves_a_working_child() {
    for delay_us in (0..600).step_by(10) {
        let log = TempLog::new();
        wait_ok(spawn_child(
            "fork_while_writing",
            &[
                ("CLH_LOG", log.path.display().to_string()),
                ("CLH_COUNT", delay_us.to_string()),
            ],
        ));
    }
}

#[test]
fn both_queued_handlers_work_in_a_forked_child_with_compression() {
    let log = TempLog::new();
    let count = 500;
    wait_ok(spawn_child(
        "fork_queued",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", count.to_string()),
            ("CLH_MAX_BYTES", "0".to_owned()),
            ("CLH_BACKUPS", "0".to_owned()),
        ],
    ));
    for name in ["app.log", "async.log"] {
        let path = log.dir.path().join(name);
        let chain = crate::compression::compressed_chain_of(&path, ".gz");
        assert!(chain.len() > 10, "{name}: {chain:?}");
        let lines: Vec<String> = chain
            .iter()
            .flat_map(|f| crate::compression::read_lines(f))
            .collect();
        // Parent and child each wrote 0..count, the parent's first 10 before
        // the fork (queued then, written by the parent only).
        assert_complete(&check_records(&lines, true), 2, count);
    }
}

// ---- Limits and odd callers ----------------------------------------------

#[test]
fn a_queue_capacity_beyond_the_limit_is_refused_before_any_file_is_opened() {
    let log = TempLog::new();
    for capacity in [MAX_QUEUE_CAPACITY + 1, usize::MAX] {
        let err = NonBlockingConcurrentHandler::builder(&log.path)
            .queue_capacity(capacity)
            .build()
            .expect_err("too large");
        assert!(err.kind() == ErrorKind::InvalidConfig, "{err}");
        assert!(
            err.to_string().contains(&MAX_QUEUE_CAPACITY.to_string()),
            "{err}"
        );
        let err = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(capacity)
            .build()
            .expect_err("too large");
        assert!(err.kind() == ErrorKind::InvalidConfig, "{err}");
    }
    assert!(!log.path.exists(), "nothing was opened");
}

#[test]
fn a_rotation_interval_too_long_to_represent_never_rotates() {
    for rotation in [Rotation::Every(Duration::MAX), Rotation::Days(u32::MAX)] {
        let log = TempLog::new();
        let handler = concurrent_log_handler::ConcurrentRotatingFileHandler::builder(&log.path)
            .rotate_every(rotation)
            .build()
            .expect("build");
        for seq in 0..100 {
            handler.emit(record(0, seq)).expect("emit");
        }
        assert_eq!(handler.stats().rotations, 0, "{rotation:?}");
    }
}

#[test]
fn shutdown_polled_outside_tokio_waits_for_compression_without_panicking() {
    let log = TempLog::new();
    let handler = crate::util::current_thread().block_on(async {
        AsyncConcurrentHandler::builder(&log.path)
            .max_bytes(64 << 10)
            .backup_count(100)
            .compression(Compression::Gzip)
            .queue_capacity(100_000)
            .build()
            .expect("build")
    });
    for seq in 0..5_000 {
        handler.emit(record(0, seq));
    }
    within_a_minute("shutdown on a plain thread", {
        let handler = handler.clone();
        move || futures::executor::block_on(handler.shutdown())
    })
    .expect("shutdown");
    let stats = handler.stats();
    assert!(stats.rotations > 3, "{stats:?}");
    assert_eq!(stats.compressions, stats.rotations, "{stats:?}");
}

#[test]
fn logging_from_a_thread_local_destructor_neither_aborts_nor_loses_records() {
    let log = TempLog::new();
    wait_ok(spawn_child(
        "tls_destructor",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", "0".to_owned()),
            ("CLH_MAX_BYTES", "0".to_owned()),
            ("CLH_BACKUPS", "0".to_owned()),
        ],
    ));
    let text = fs::read_to_string(&log.path).expect("read");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("sync from a destructor"), "{text}");
}

/// Write errors must be seen even when this crate's tracing integration is
/// the only subscriber (it cannot log them into the failing handler).
#[test]
fn write_errors_reach_stderr_when_our_tracing_integration_is_the_only_subscriber() {
    for role in ["errors_only_layer", "errors_only_fmt"] {
        let log = TempLog::new();
        let path = log.dir.path().join("logs").join("app.log");
        let child = crate::util::spawn_child_capturing_stderr(
            role,
            &[
                ("CLH_LOG", path.display().to_string()),
                ("CLH_WRITER", "0".to_owned()),
                ("CLH_COUNT", "0".to_owned()),
                ("CLH_MAX_BYTES", "0".to_owned()),
                ("CLH_BACKUPS", "0".to_owned()),
            ],
        );
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{role}: {}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("concurrent_log_handler") && stderr.contains("cannot open lock file"),
            "{role}: the write error is not on stderr:\n{stderr}"
        );
    }
}

/// A formatter that panics on one record: that record is counted as failed
/// and reported, the rest are written, and the writer keeps working (also
/// when the panic hits the handler's own drop report, formatted on the
/// writer thread).
#[test]
fn a_panicking_formatter_loses_only_its_record_and_never_the_writer() {
    #[derive(Debug)]
    struct Fussy;
    impl Formatter for Fussy {
        fn format(&self, record: &Record, out: &mut Vec<u8>) {
            if record.message().contains("boom") || record.target() == "concurrent_log_handler" {
                panic!("this formatter does not like {:?}", record.message());
            }
            TextFormatter::new().format(record, out);
        }
    }
    // Formatted on the writer (the default) and in the callers.
    for on_writer in [true, false] {
        let log = TempLog::new();
        let reports = Reports::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .on_error(reports.hook())
            .formatter(Fussy)
            .format_on_writer(on_writer)
            .queue_capacity(1)
            .fallback_mode(FallbackMode::Drop)
            .build()
            .expect("build");
        handler.emit(record(0, 0));
        let err = handler
            .emit_wait(Record::new(Level::Info, "boom"))
            .expect_err("the formatter panicked");
        assert_eq!(err.kind(), ErrorKind::FormatterPanicked);
        handler.emit(Record::new(Level::Info, "boom, fire and forget"));
        handler.flush().expect("the writer survived");
        // Overflow the one-slot queue, so that a drop report is due.
        let holder = LockHolder::hold(&lock_path(&log));
        let mut dropped = 0;
        for seq in 1..50 {
            if handler.try_emit(record(0, seq)).is_err() {
                handler.emit(record(0, seq)); // dropped and counted
                dropped += 1;
            }
        }
        holder.release();
        handler
            .flush()
            .expect("the writer survived the drop report's panic");
        handler.emit(record(0, 1_000));
        drop(guard);
        let stats = handler.stats();
        assert!(dropped > 0, "{stats:?}");
        assert_eq!(stats.failed, 2, "on_writer {on_writer}: {stats:?}");
        assert_eq!(
            stats.emitted,
            stats.written + stats.dropped + stats.failed,
            "{stats:?}"
        );
        let lines = all_lines(&log.path);
        assert_eq!(lines.len() as u64, stats.written);
        assert!(lines.iter().all(|line| !line.contains("boom")), "{lines:?}");
        assert!(
            lines.iter().any(|line| line.contains("s000001000")),
            "{lines:?}"
        );
        reports.assert_each_contains("the log formatter panicked; the record was not logged");
    }
}

/// Records still queued when their runtime shuts down are written: the
/// writer does not run on the runtime (on a `current_thread` runtime that was
/// never yielded to, nothing of the runtime's ever ran).
#[test]
fn records_queued_when_the_runtime_shuts_down_are_still_written() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    let handler = runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(100_000)
            .build()
            .expect("build");
        for seq in 0..20_000 {
            handler.emit(record(0, seq));
        }
        handler
    });
    drop(runtime);
    futures::executor::block_on(handler.shutdown()).expect("shutdown");
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 20_000);
}

/// While `flush` waits for `Nowait` writes in flight, records that overflow
/// are written as usual, not dropped because the flush holds their budget.
#[test]
fn nowait_records_overflowing_during_a_flush_are_not_dropped() {
    let log = TempLog::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(1)
            .fallback_mode(FallbackMode::Nowait)
            .nowait_limit(8)
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("open");
        let holder = LockHolder::hold(&lock_path(&log));
        for seq in 1..4 {
            handler.emit(record(0, seq));
        }
        let flushing = Arc::new(AtomicBool::new(false));
        let flush = tokio::spawn({
            let (handler, flushing) = (handler.clone(), Arc::clone(&flushing));
            async move {
                flushing.store(true, Ordering::SeqCst);
                handler.flush().await
            }
        });
        eventually_async(&flushing).await;
        for seq in 4..7 {
            handler.emit(record(0, seq));
        }
        holder.release();
        flush.await.expect("join").expect("flush");
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!((stats.written, stats.dropped), (7, 0), "{stats:?}");
    });
    assert_complete(&check_records(&all_lines(&log.path), false), 1, 7);
}

async fn eventually_async(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}
