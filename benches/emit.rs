//! Hot-path and throughput benchmarks of the handlers, side by side.
//!
//! `cargo bench -p clh-benches --bench emit` runs them all. Every group
//! writes real files in a temp dir; the figures to compare are ratios between
//! rows of one run.
//!
//! - `caller/*`: building and formatting a record, the caller's own work.
//! - `caller/*`: building and formatting a record, the caller's own work.
//! - `emit/*`: the cost of one `emit` call to the caller (async and thread handler).
//! - `throughput/*`: lines/s into a log rotating every 10 MB, 1 and 4 producers
//!   (tasks for the async handler, threads for the thread handler), including
//!   the wait for the writer to finish.
//! - `emit_wait/*`: 1,000 concurrent `emit_wait` callers (group commit), and a
//!   lone `emit_wait` on an idle handler.
//! - `blocking/*`: the blocking handler, one line per lock vs. batches of 100.
//! - `compression/*`: lines/s of 4 tasks into a log rotating every 4 MB, with
//!   no compression, gzip and zstd; timed until everything is written (flush),
//!   not until the background compressions finish.

use std::time::{Duration, Instant};

use concurrent_log_handler::{
    AsyncConcurrentHandler, Compression, ConcurrentRotatingFileHandler, FallbackMode, Level,
    NonBlockingConcurrentHandler, Record,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A ~100-byte line once formatted.
fn record(i: u64) -> Record {
    Record::new(Level::Info, "request served")
        .with_target("bench::http")
        .with_field("seq", i)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn emit_cost(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("emit");
    group.throughput(Throughput::Elements(1));
    let handler = rt.block_on(async {
        AsyncConcurrentHandler::builder(dir.path().join("emit.log"))
            .max_bytes(10 << 20)
            .backup_count(3)
            .fallback_mode(FallbackMode::Block)
            .build()
            .expect("build")
    });
    let _guard = rt.enter();
    let mut i = 0;
    group.bench_function("async_emit", |b| {
        b.iter(|| {
            i += 1;
            handler.emit(record(i));
        })
    });
    let (thread_handler, guard) =
        NonBlockingConcurrentHandler::builder(dir.path().join("thread.log"))
            .max_bytes(10 << 20)
            .backup_count(3)
            .build()
            .expect("build");
    group.bench_function("thread_emit", |b| {
        b.iter(|| {
            i += 1;
            thread_handler.emit(record(i));
        })
    });
    group.finish();
    drop(guard);
    rt.block_on(handler.shutdown()).expect("shutdown");
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("throughput");
    group.sample_size(10);
    let per_run: u64 = 200_000;
    group.throughput(Throughput::Elements(per_run));
    for producers in [1u64, 4] {
        group.bench_function(format!("async_{producers}_tasks"), |b| {
            let rt = runtime();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    total += rt.block_on(async {
                        let handler = AsyncConcurrentHandler::builder(dir.path().join("t.log"))
                            .max_bytes(10 << 20)
                            .backup_count(20)
                            .fallback_mode(FallbackMode::Block)
                            .build()
                            .expect("build");
                        let started = Instant::now();
                        let tasks: Vec<_> = (0..producers)
                            .map(|_| {
                                let handler = handler.clone();
                                tokio::spawn(async move {
                                    for i in 0..per_run / producers {
                                        handler.emit(record(i));
                                    }
                                })
                            })
                            .collect();
                        for t in tasks {
                            t.await.expect("task");
                        }
                        handler.shutdown().await.expect("shutdown");
                        let elapsed = started.elapsed();
                        let stats = handler.stats();
                        assert_eq!(stats.written, per_run, "lost lines: {stats:?}");
                        elapsed
                    });
                }
                total
            })
        });
    }
    for producers in [1u64, 4] {
        group.bench_function(format!("thread_{producers}_threads"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let (handler, guard) =
                        NonBlockingConcurrentHandler::builder(dir.path().join("t.log"))
                            .max_bytes(10 << 20)
                            .backup_count(20)
                            .build()
                            .expect("build");
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..producers {
                            let handler = handler.clone();
                            scope.spawn(move || {
                                for i in 0..per_run / producers {
                                    handler.emit(record(i));
                                }
                            });
                        }
                    });
                    drop(guard);
                    total += started.elapsed();
                    assert_eq!(handler.stats().written, per_run, "lost lines");
                }
                total
            })
        });
    }
    group.finish();
}

fn emit_wait(c: &mut Criterion) {
    let mut group = c.benchmark_group("emit_wait");
    group.sample_size(10);
    let rt = runtime();
    for durable in [false, true] {
        let waiters = 1_000u64;
        group.throughput(Throughput::Elements(waiters));
        let name = if durable {
            "1000_waiters_durable"
        } else {
            "1000_waiters"
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let handler = rt.block_on(async {
            AsyncConcurrentHandler::builder(dir.path().join("w.log"))
                .max_bytes(10 << 20)
                .backup_count(3)
                .durable(durable)
                .build()
                .expect("build")
        });
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let tasks: Vec<_> = (0..waiters)
                    .map(|i| {
                        let handler = handler.clone();
                        tokio::spawn(async move { handler.emit_wait(record(i)).await })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task").expect("emit_wait");
                }
            })
        });
    }
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let handler = rt.block_on(async {
        AsyncConcurrentHandler::builder(dir.path().join("lone.log"))
            .build()
            .expect("build")
    });
    group.bench_function("lone_waiter", |b| {
        b.to_async(&rt)
            .iter(|| async { handler.emit_wait(record(0)).await.expect("emit_wait") })
    });
    group.finish();
}

fn blocking(c: &mut Criterion) {
    let mut group = c.benchmark_group("blocking");
    let dir = tempfile::tempdir().expect("tempdir");
    let handler = ConcurrentRotatingFileHandler::builder(dir.path().join("b.log"))
        .max_bytes(10 << 20)
        .backup_count(3)
        .build()
        .expect("build");
    let line = b"2026-11-23T10:34:21.123+00:00 INFO 4242 bench::http: request served seq=123456 path=/api/v1\n";
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_line_per_lock", |b| {
        b.iter(|| handler.write_batch(line).expect("write"))
    });
    let batch: Vec<u8> = line.repeat(100);
    group.throughput(Throughput::Elements(100));
    group.bench_function("batch_of_100_per_lock", |b| {
        b.iter(|| handler.write_batch(&batch).expect("write"))
    });
    group.finish();
}

fn compression(c: &mut Criterion) {
    let mut group = c.benchmark_group("compression");
    group.sample_size(10);
    let per_run: u64 = 400_000; // ~40 MB: ten rotations at 4 MB
    group.throughput(Throughput::Elements(per_run));
    let rt = runtime();
    for (name, compression) in [
        ("none", None),
        ("gzip", Some(Compression::Gzip)),
        ("zstd", Some(Compression::Zstd)),
    ] {
        group.bench_function(format!("async_4_tasks_rotate_4mb_{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    total += rt.block_on(async {
                        let mut builder = AsyncConcurrentHandler::builder(dir.path().join("c.log"))
                            .max_bytes(4 << 20)
                            .backup_count(50)
                            .fallback_mode(FallbackMode::Block);
                        if let Some(compression) = compression {
                            builder = builder.compression(compression);
                        }
                        let handler = builder.build().expect("build");
                        let started = Instant::now();
                        let tasks: Vec<_> = (0..4u64)
                            .map(|_| {
                                let handler = handler.clone();
                                tokio::spawn(async move {
                                    for i in 0..per_run / 4 {
                                        handler.emit(record(i));
                                    }
                                })
                            })
                            .collect();
                        for t in tasks {
                            t.await.expect("task");
                        }
                        handler.flush().await.expect("flush");
                        let elapsed = started.elapsed();
                        // Untimed: let the background compressions finish.
                        handler.shutdown().await.expect("shutdown");
                        assert_eq!(handler.stats().written, per_run);
                        elapsed
                    });
                }
                total
            })
        });
    }
    group.finish();
}

/// What `emit` does in the caller before queueing: build the record (clock,
/// pid, fields) and format it into one line.
fn record_and_format(c: &mut Criterion) {
    use concurrent_log_handler::format::{Formatter, TextFormatter};
    let mut group = c.benchmark_group("caller");
    group.throughput(Throughput::Elements(1));
    let formatter = TextFormatter::new();
    let mut line = Vec::with_capacity(256);
    let mut i = 0;
    group.bench_function("record_new_and_format", |b| {
        b.iter(|| {
            i += 1;
            line.clear();
            formatter.format(&record(i), &mut line);
            std::hint::black_box(&line);
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    record_and_format,
    emit_cost,
    throughput,
    emit_wait,
    blocking,
    compression
);
criterion_main!(benches);
