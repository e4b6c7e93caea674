//! `NonBlockingConcurrentHandler`: the same writer behind a std thread.

use std::fs;
use std::time::{Duration, Instant};

use concurrent_log_handler::{
    ErrorKind, FallbackMode, Level, NonBlockingConcurrentHandler, Record,
};

use crate::fallback::{LockHolder, lock_path, record};
use crate::util::{TempLog, all_lines, assert_complete, check_records};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_record_goes_through_the_queue_and_reaches_the_file() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build");
    handler.emit(record(0, 0));
    handler.flush().expect("flush");
    assert_eq!(check_records(&all_lines(&log.path), true).per_writer[&0], 1);
    let stats = handler.stats();
    assert_eq!(
        (stats.queued, stats.written, stats.fallback),
        (1, 1, 0),
        "{stats:?}"
    );
}

#[test]
fn records_at_or_above_sync_level_are_written_before_emit_returns() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build");
    handler.emit(Record::new(Level::Error, "written before emit returns"));
    // No flush: the record is on disk because emit waited for it.
    assert!(
        fs::read_to_string(&log.path)
            .expect("read")
            .contains("written before emit returns")
    );
    // The handler was idle: the caller wrote its record itself.
    let stats = handler.stats();
    assert_eq!(
        (stats.emitted, stats.queued, stats.fallback, stats.written),
        (1, 0, 0, 1),
        "{stats:?}"
    );
}

#[test]
fn a_full_queue_makes_the_caller_wait_for_room_and_keeps_order() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .queue_capacity(4)
        .build()
        .expect("build");
    let holder = LockHolder::hold(&lock_path(&log));
    let emitter = {
        let handler = handler.clone();
        std::thread::spawn(move || {
            for seq in 0..100 {
                handler.emit(record(0, seq));
            }
        })
    };
    // The emitter fills the queue, then waits for room while the writer
    // waits for the lock.
    wait_until("the queue to fill", || handler.stats().fallback >= 1);
    holder.release();
    emitter.join().expect("emitter");
    handler.flush().expect("flush");
    let stats = handler.stats();
    assert_eq!((stats.written, stats.dropped), (100, 0), "{stats:?}");
    assert!(stats.fallback >= 1, "{stats:?}");
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 100);
}

#[test]
fn a_full_queue_without_fallback_drops_counts_and_reports() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .queue_capacity(4)
        .fallback_mode(FallbackMode::Drop)
        .build()
        .expect("build");
    let holder = LockHolder::hold(&lock_path(&log));
    let mut refused = 0;
    for seq in 0..100 {
        let before = handler.stats().dropped;
        handler.emit(record(0, seq));
        if handler.stats().dropped > before {
            refused += 1;
        }
    }
    holder.release();
    handler.flush().expect("flush");
    let stats = handler.stats();
    assert!(refused > 0);
    assert_eq!(stats.dropped, refused, "{stats:?}");
    assert_eq!(stats.written + stats.dropped, 100, "{stats:?}");
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer[&0] as u64, stats.written);
    assert_eq!(
        found.dropped_reported, refused,
        "the drops are reported in the log"
    );
}

#[test]
fn queue_depth_and_capacity_are_exact_while_the_writer_waits() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .queue_capacity(64)
        .build()
        .expect("build");
    assert_eq!(handler.stats().queue_capacity, 64);
    let holder = LockHolder::hold(&lock_path(&log));
    handler.emit(record(0, 0));
    // The writer takes that record and blocks on the lock; the rest stays queued.
    wait_until("the writer to take the first record", || {
        handler.stats().queue_depth == 0
    });
    for seq in 1..=5 {
        handler.emit(record(0, seq));
    }
    assert_eq!(handler.stats().queue_depth, 5);
    holder.release();
    handler.flush().expect("flush");
    let stats = handler.stats();
    assert_eq!(
        (stats.queue_depth, stats.written, stats.queued),
        (0, 6, 6),
        "{stats:?}"
    );
}

#[test]
fn stop_drains_refuses_later_records_and_start_resumes() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .queue_capacity(30_000)
        .build()
        .expect("build");
    for seq in 0..20_000 {
        handler.emit(record(0, seq));
    }
    handler.stop().expect("stop");
    assert!(handler.is_closed());
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 20_000);

    assert!(handler.try_emit(record(0, 20_000)).unwrap_err().is_closed());
    handler.emit(record(0, 20_000)); // dropped and counted
    assert!(matches!(handler.flush(), Err(ref e) if e.kind() == ErrorKind::Closed));
    assert_eq!(handler.stats().dropped, 1);
    handler.stop().expect("stopping twice is harmless");

    handler.start().expect("start");
    handler.emit(record(0, 20_001));
    handler.flush().expect("flush");
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer[&0], 20_001);
}

#[test]
fn many_threads_share_one_handler_in_order_without_loss() {
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .max_bytes(1 << 20)
        .backup_count(100)
        .queue_capacity(100_000)
        .build()
        .expect("build");
    let per_thread = 10_000;
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let handler = handler.clone();
            scope.spawn(move || {
                for seq in 0..per_thread {
                    handler.emit(record(writer, seq));
                }
            });
        }
    });
    drop(guard);
    let stats = handler.stats();
    assert_eq!(stats.fallback, 0, "the queue was large enough: {stats:?}");
    assert_eq!(stats.written, 8 * per_thread as u64);
    assert_complete(&check_records(&all_lines(&log.path), true), 8, per_thread);
}

#[test]
fn dropping_the_guard_writes_everything_accepted() {
    let log = TempLog::new();
    let handler = {
        let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        for seq in 0..5_000 {
            handler.emit(record(0, seq));
        }
        handler
    };
    assert!(handler.is_closed());
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 5_000);
}

#[test]
fn flush_and_stop_work_from_inside_an_async_runtime() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        handler.emit(record(0, 0));
        handler.flush().expect("flush");
        drop(guard);
    });
    assert_eq!(check_records(&all_lines(&log.path), true).per_writer[&0], 1);
}

#[test]
fn the_convenience_constructor_rotates() {
    let log = TempLog::new();
    let (handler, guard) =
        concurrent_log_handler::create_nonblocking_handler(&log.path, 2_000, 50).expect("build");
    for seq in 0..200 {
        handler.emit(record(0, seq));
    }
    drop(guard);
    assert!(handler.stats().rotations >= 5);
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 200);
}

#[test]
fn flush_timeout_gives_up_while_the_lock_is_held_and_loses_nothing() {
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build");
    let holder = LockHolder::hold(&lock_path(&log));
    for seq in 0..10 {
        handler.emit(record(0, seq));
    }
    let started = Instant::now();
    let err = handler
        .flush_timeout(Duration::from_millis(200))
        .expect_err("the lock is held elsewhere");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(handler.stats().written, 0);
    holder.release();
    handler
        .flush_timeout(Duration::from_secs(30))
        .expect("flushed once the lock is free");
    assert_complete(&check_records(&all_lines(&log.path), true), 1, 10);
}
