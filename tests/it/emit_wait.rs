//! `emit_wait`: proof of delivery, group commit, errors and recovery.

use std::fs;
use std::time::{Duration, Instant};

use concurrent_log_handler::{AsyncConcurrentHandler, ErrorKind, Level, Record};

use crate::fallback::{LockHolder, lock_path, record};
use crate::util::{Reports, TempLog, all_lines, check_records};

fn runtime() -> tokio::runtime::Runtime {
    crate::util::multi_thread()
}

#[test]
fn emit_wait_resolves_only_once_the_line_is_in_the_file() {
    let log = TempLog::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        for seq in 0..50 {
            handler.emit_wait(record(0, seq)).await.expect("emit_wait");
            let text = fs::read_to_string(&log.path).expect("read");
            assert!(
                text.contains(&format!("s{seq:09}")),
                "record {seq} not on disk"
            );
        }
    });
}

#[test]
fn a_thousand_concurrent_waiters_share_a_few_lock_cycles() {
    let log = TempLog::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        // Hold the lock so that the waiters pile up in the queue; the writer then
        // takes them in batches of up to 1,024, each under one lock.
        let holder = LockHolder::hold(&lock_path(&log));
        let waiters: Vec<_> = (0..1_000)
            .map(|seq| {
                let handler = handler.clone();
                tokio::spawn(async move { handler.emit_wait(record(0, seq)).await })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while handler.stats().queued < 1_000 {
            assert!(Instant::now() < deadline, "waiters never queued");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::task::spawn_blocking(move || holder.release())
            .await
            .expect("release");
        for waiter in waiters {
            waiter.await.expect("task").expect("emit_wait");
        }
        let stats = handler.stats();
        assert_eq!(stats.written, 1_000);
        assert!(
            stats.batches <= 3,
            "1,000 waiters took {} lock cycles",
            stats.batches
        );
        let found = check_records(&all_lines(&log.path), false);
        assert_eq!(found.per_writer[&0], 1_000);
    });
}

#[test]
fn emit_wait_reports_a_failed_write_and_the_handler_recovers_without_restart() {
    let log = TempLog::new();
    let reports = Reports::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .on_error(reports.hook())
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("first write");
        // Make the log unwritable (a directory at its path: refused even for root).
        let aside = log.dir.path().join("aside.log");
        fs::rename(&log.path, &aside).expect("mv");
        fs::create_dir(&log.path).expect("mkdir");

        handler.emit(record(0, 1)); // fire-and-forget: kept and retried
        let err = handler
            .emit_wait(record(0, 2))
            .await
            .expect_err("unwritable");
        assert!(err.kind() == ErrorKind::OpenLog, "{err}");
        assert_eq!(err.path(), Some(log.path.as_path()));
        assert!(handler.stats().write_errors >= 1);

        fs::remove_dir(&log.path).expect("rmdir");
        handler.emit_wait(record(0, 3)).await.expect("recovered");
        handler.flush().await.expect("flush");
        let text = fs::read_to_string(&log.path).expect("read");
        assert!(
            text.contains("s000000001"),
            "the retried record was written"
        );
        assert!(
            !text.contains("s000000002"),
            "the failed emit_wait record is the caller's"
        );
        assert!(text.contains("s000000003"));
        assert!(
            text.find("s000000001") < text.find("s000000003"),
            "the record kept for a retry went in first: {text}"
        );
        let stats = handler.stats();
        assert_eq!(stats.failed, 1, "{stats:?}");
        assert_eq!(stats.written, 3, "{stats:?}");
        assert_eq!(stats.written + stats.failed + stats.dropped, stats.emitted);
    });
    // Reported too, for the record kept without a caller to tell.
    reports.assert_each_contains("Is a directory");
}

#[test]
fn emit_wait_after_shutdown_is_closed() {
    let log = TempLog::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        handler.shutdown().await.expect("shutdown");
        let err = handler
            .emit_wait(Record::new(Level::Critical, "late"))
            .await
            .expect_err("closed");
        assert!(err.is_closed());
        assert!(handler.flush().await.expect_err("closed").is_closed());
    });
}

/// A record's waiting caller on an idle handler writes it itself: nothing
/// is queued and no thread is woken. Anything that would make it wait or
/// do more than append goes to the writer thread instead: a lock held by
/// another process, a rotation due, a `durable` log.
#[test]
fn an_idle_handlers_waiting_caller_writes_its_own_record_unless_that_would_block() {
    let log = TempLog::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .max_bytes(1_000)
            .backup_count(5)
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("idle");
        let stats = handler.stats();
        assert_eq!(
            (stats.emitted, stats.queued, stats.written),
            (1, 0, 1),
            "{stats:?}"
        );

        // The lock held elsewhere: the record waits in the queue, not in
        // the caller's thread, and is written once the lock is free.
        let holder = LockHolder::hold(&lock_path(&log));
        let waiting = {
            let handler = handler.clone();
            tokio::spawn(async move { handler.emit_wait(record(0, 1)).await })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while handler.stats().queued < 1 {
            assert!(Instant::now() < deadline, "the record was never queued");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!waiting.is_finished(), "resolved while the lock was held");
        tokio::task::spawn_blocking(move || holder.release())
            .await
            .expect("release");
        waiting.await.expect("task").expect("written after release");

        // Lines of ~90 bytes into a 1,000-byte log: every rotation is the
        // writer's, and the records still land in order.
        let before = handler.stats();
        for seq in 2..40 {
            handler.emit_wait(record(0, seq)).await.expect("emit_wait");
        }
        let stats = handler.stats();
        assert!(stats.rotations >= 3, "{stats:?}");
        assert!(
            stats.queued - before.queued >= stats.rotations,
            "rotations went through the queue: {stats:?}"
        );
        assert!(
            stats.queued - before.queued < 38,
            "plain appends were the callers': {stats:?}"
        );
        let found = check_records(&all_lines(&log.path), true);
        assert_eq!(found.per_writer[&0], 40);
    });

    let durable = TempLog::new();
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&durable.path)
            .durable(true)
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("durable");
        let stats = handler.stats();
        assert_eq!((stats.queued, stats.written), (1, 1), "{stats:?}");
    });
}

/// The default format, slowed down on the writer thread: the writer then
/// spends a while between taking records off the queue and writing them.
#[derive(Debug, Default)]
struct SlowOnTheWriter(concurrent_log_handler::format::TextFormatter);

impl concurrent_log_handler::format::Formatter for SlowOnTheWriter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        if std::thread::current().name() == Some("clh-writer") {
            std::thread::sleep(Duration::from_micros(50));
        }
        self.0.format(record, out);
    }
}

/// A caller that writes its own record must never pass a record queued
/// before it: here a task queues a few fire-and-forget records and then
/// waits for one, thousands of times, and the writer (its formatting
/// slowed down) is often between taking the queued ones and writing them
/// when the wait begins. Each task's records must be in the file in the
/// order it emitted them.
#[test]
fn a_record_its_caller_writes_never_passes_records_queued_before_it() {
    let log = TempLog::new();
    let (tasks, rounds) = (1, 3_000);
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .formatter(SlowOnTheWriter::default())
            .max_bytes(4 << 20)
            .backup_count(20)
            .build()
            .expect("build");
        let producers: Vec<_> = (0..tasks)
            .map(|writer| {
                let handler = handler.clone();
                tokio::spawn(async move {
                    let mut seq = 0;
                    for round in 0..rounds {
                        for _ in 0..round % 4 {
                            handler.emit(record(writer, seq));
                            seq += 1;
                        }
                        handler
                            .emit_wait(record(writer, seq))
                            .await
                            .expect("emit_wait");
                        seq += 1;
                    }
                    seq
                })
            })
            .collect();
        let mut total = 0;
        for producer in producers {
            total += producer.await.expect("task");
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!(stats.written, total as u64, "{stats:?}");
        assert!(
            stats.queued < stats.emitted,
            "no caller wrote its own record: {stats:?}"
        );
    });
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer.len(), tasks);
}

/// The same on the thread handler, whose `emit_wait` blocks, with records
/// at `sync_level` as the waiting ones: they too are written by their
/// caller when it is alone, and never pass what it queued before.
#[test]
fn the_thread_handlers_waiting_callers_keep_their_order_too() {
    let log = TempLog::new();
    let (handler, guard) = concurrent_log_handler::NonBlockingConcurrentHandler::builder(&log.path)
        .formatter(SlowOnTheWriter::default())
        .sync_level(Level::Warn)
        .build()
        .expect("build");
    let mut seq = 0;
    for round in 0..3_000 {
        for _ in 0..round % 4 {
            handler.emit(record(0, seq));
            seq += 1;
        }
        // Long enough for the resting writer to take them, not to write
        // them: it formats each for 50 µs.
        std::thread::sleep(Duration::from_micros(60 + 20 * (round % 3) as u64));
        let waited = Record::new(Level::Warn, crate::util::message(0, seq))
            .with_target(crate::util::TEST_TARGET);
        if round % 2 == 0 {
            handler.emit(waited); // at sync_level: emit waits
        } else {
            handler.emit_wait(waited).expect("emit_wait");
        }
        seq += 1;
    }
    drop(guard);
    let stats = handler.stats();
    assert_eq!(stats.written, seq as u64, "{stats:?}");
    assert!(
        stats.queued < stats.emitted,
        "no caller wrote its own record: {stats:?}"
    );
    let lines = all_lines(&log.path);
    assert_eq!(lines.len(), seq);
    // Records in the order emitted, whatever their level.
    let order: Vec<usize> = lines
        .iter()
        .map(|line| {
            crate::util::try_parse_record(line)
                .expect("a whole record")
                .1
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "out of order");
}
