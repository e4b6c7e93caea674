//! `emit_wait`: proof of delivery, group commit, errors and recovery.

use std::fs;
use std::time::{Duration, Instant};

use concurrent_log_handler::{AsyncConcurrentHandler, ErrorKind, Level, Record};

use crate::fallback::{LockHolder, lock_path, record};
use crate::util::{TempLog, all_lines, check_records};

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
    runtime().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
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
        let stats = handler.stats();
        assert_eq!(stats.failed, 1, "{stats:?}");
        assert_eq!(stats.written, 3, "{stats:?}");
        assert_eq!(stats.written + stats.failed + stats.dropped, stats.emitted);
    });
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
