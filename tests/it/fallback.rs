//! What `emit` does when the queue is full, while another descriptor holds the
//! log's lock: it never stalls the runtime, and every record is accounted for.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use concurrent_log_handler::{AsyncConcurrentHandler, FallbackMode, Level, Record};

use crate::util::{TEST_TARGET, TempLog, all_lines, check_records, message};

/// Holds the exclusive lock on `lock_path` through a descriptor of its own (as
/// another process would) until `release` is sent or 30 s pass.
pub struct LockHolder {
    release: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl LockHolder {
    pub fn hold(lock_path: &Path) -> LockHolder {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .expect("open lock file");
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            fs4::FileExt::lock(&file).expect("lock");
            locked_tx.send(()).expect("signal");
            let _ = release_rx.recv_timeout(Duration::from_secs(30));
            fs4::FileExt::unlock(&file).expect("unlock");
        });
        locked_rx.recv().expect("holder locked");
        LockHolder { release, thread }
    }

    pub fn release(self) {
        let _ = self.release.send(());
        self.thread.join().expect("holder thread");
    }
}

pub fn lock_path(log: &TempLog) -> std::path::PathBuf {
    log.dir.path().join(".__app.lock")
}

pub fn record(writer: usize, seq: usize) -> Record {
    Record::new(Level::Info, message(writer, seq)).with_target(TEST_TARGET)
}

/// 100,000 records on a current-thread runtime while the lock is held: a ticker
/// on the same runtime keeps ticking, and afterwards every record is either in
/// the file or counted as dropped, and the drops are reported in the log.
fn emit_under_held_lock(mode: FallbackMode) {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .fallback_mode(mode)
            .build()
            .expect("build");
        let holder = LockHolder::hold(&lock_path(&log));
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let ticker = tokio::spawn(async move {
            let mut max_gap = Duration::ZERO;
            let mut last = Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break max_gap,
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
                max_gap = max_gap.max(last.elapsed());
                last = Instant::now();
            }
        });
        let total = 100_000;
        for seq in 0..total {
            handler.emit(record(0, seq));
            if seq % 256 == 0 {
                tokio::task::yield_now().await;
            }
        }
        // All of it was accepted, dropped or handed off while the lock was held.
        let stats = handler.stats();
        assert_eq!(stats.emitted, total as u64);
        assert_eq!(
            stats.written, 0,
            "nothing can be written while the lock is held"
        );
        assert!(stats.dropped > 0, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::task::spawn_blocking(move || holder.release())
            .await
            .expect("release");
        handler.flush().await.expect("flush");
        let _ = stop_tx.send(());
        let max_gap = ticker.await.expect("ticker");
        // A liveness bound, not a speed test: the runtime never stalled on the lock.
        assert!(
            max_gap < Duration::from_millis(200),
            "ticker stalled for {max_gap:?}"
        );

        let stats = handler.stats();
        assert_eq!(stats.failed, 0, "{stats:?}");
        assert_eq!(stats.written + stats.dropped, stats.emitted, "{stats:?}");
        let found = check_records(&all_lines(&log.path), mode == FallbackMode::Drop);
        assert_eq!(found.per_writer[&0] as u64, stats.written);
        assert_eq!(found.dropped_reported, stats.dropped, "drop reports add up");
        if mode == FallbackMode::Nowait {
            assert!(stats.fallback > 0, "{stats:?}");
        }
    });
}

#[test]
fn drop_mode_never_stalls_the_runtime_while_the_lock_is_held() {
    emit_under_held_lock(FallbackMode::Drop);
}

#[test]
fn nowait_mode_never_stalls_the_runtime_and_bounds_what_is_in_flight() {
    emit_under_held_lock(FallbackMode::Nowait);
}

#[test]
fn block_mode_loses_nothing_under_overload() {
    let log = TempLog::new();
    let runtime = crate::util::multi_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .max_bytes(1 << 20)
            .backup_count(100)
            .queue_capacity(16)
            .fallback_mode(FallbackMode::Block)
            .build()
            .expect("build");
        let per_task = 10_000;
        let tasks: Vec<_> = (0..4)
            .map(|writer| {
                let handler = handler.clone();
                tokio::spawn(async move {
                    for seq in 0..per_task {
                        handler.emit(record(writer, seq));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!(stats.dropped, 0, "{stats:?}");
        assert_eq!(stats.written, 4 * per_task as u64, "{stats:?}");
        assert!(stats.fallback > 0, "the queue never overflowed: {stats:?}");
        let found = check_records(&all_lines(&log.path), false);
        crate::util::assert_complete(&found, 4, per_task);
    });
}

#[test]
fn drop_reports_in_the_log_add_up_to_the_dropped_count() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(8)
            .build()
            .expect("build");
        let mut seq = 0;
        for round in 0..3_usize {
            let holder = LockHolder::hold(&lock_path(&log));
            for _ in 0..2_500 {
                handler.emit(record(0, seq));
                seq += 1;
            }
            holder.release();
            handler.flush().await.expect("flush");
            let found = check_records(&all_lines(&log.path), true);
            // At least one report per flushed round; more when the writer,
            // running beside this task, took a batch mid-round more than a
            // second after the last report (a slow, loaded machine).
            assert!(
                found.drop_reports > round,
                "round {round}: {} reports",
                found.drop_reports
            );
            assert_eq!(found.dropped_reported, handler.stats().dropped);
            assert_eq!(found.drop_reports as u64, handler.stats().drop_reports);
        }
        let stats = handler.stats();
        assert!(stats.dropped > 7_000, "{stats:?}");
        assert_eq!(stats.written + stats.dropped, stats.emitted);
    });
}

#[test]
fn records_at_or_above_sync_level_are_written_before_emit_returns() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .sync_level(Level::Error)
            .build()
            .expect("build");
        handler.emit(Record::new(Level::Info, "queued first"));
        handler.emit(Record::new(Level::Error, "written before emit returns"));
        // No await in between, on a current-thread runtime: the ERROR is on
        // disk, and so is the INFO queued before it, in that order.
        let text = std::fs::read_to_string(&log.path).expect("read");
        let (first, sync) = (text.find("queued first"), text.find("written before"));
        assert!(first.is_some() && first < sync, "{text}");
        let stats = handler.stats();
        assert_eq!((stats.written, stats.fallback, stats.queued), (2, 0, 2));
    });
}

/// Callers waiting for their `sync_level` records at the same time share
/// batches (group commit). With the lock held elsewhere while eight threads
/// pile up, every record must still land once, each thread's in order, in
/// far fewer lock cycles than records.
#[test]
fn sync_level_callers_at_once_share_batches_and_lose_nothing() {
    use concurrent_log_handler::NonBlockingConcurrentHandler;
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .max_bytes(256 << 10)
        .backup_count(200)
        .sync_level(Level::Info)
        .build()
        .expect("build");
    let holder = LockHolder::hold(&lock_path(&log));
    let (writers, per_writer) = (8, 2_000);
    let threads: Vec<_> = (0..writers)
        .map(|writer| {
            let handler = handler.clone();
            std::thread::spawn(move || {
                for seq in 0..per_writer {
                    handler.emit(record(writer, seq));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    holder.release();
    for thread in threads {
        thread.join().expect("writer thread");
    }
    drop(guard);
    let stats = handler.stats();
    let total = (writers * per_writer) as u64;
    // A record whose caller found the handler idle is written by that
    // caller and not queued; every other one went through the queue.
    assert_eq!(
        (stats.emitted, stats.written, stats.failed),
        (total, total, 0),
        "{stats:?}"
    );
    assert!(
        stats.queued > total / 2,
        "the pile-up was queued: {stats:?}"
    );
    assert!(stats.batches < total / 2, "batches were shared: {stats:?}");
    let found = check_records(&all_lines(&log.path), true);
    crate::util::assert_complete(&found, writers, per_writer);
}
