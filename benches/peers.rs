//! Side by side with the peers a Rust user would pick instead.
//!
//! `cargo bench -p clh-benches --bench peers` prints two tables: the caller's cost per event
//! (p50/p99/p99.9 of single calls) and sustained lines/s with 1 and 4
//! producers, with the lines lost, for every row. Each row writes a ~100-byte
//! event (`request served` with target `bench::http` and fields `seq`, `path`,
//! each peer in its own default text format) into files in a temp dir; lost
//! lines are counted by reading every file back after the handler was flushed
//! and shut down.
//!
//! Why a custom harness and not criterion: criterion reports means of batches,
//! not the per-call tail, and cannot count lost lines. Why one child process
//! per measurement: `log` (flexi_logger) can be installed once per process, and
//! a fresh process per row keeps writer threads, allocator state and page cache
//! of one row out of the next. The bench re-executes itself with
//! `--child <row> <scenario>`; the parent runs every row once per round,
//! `PEERS_ROUNDS` rounds (default 3), interleaved, and reports the median round,
//! so the noise of a shared machine hits all rows alike.
//!
//! Per-call cost: one producer emits flat out; the clock is read once per
//! call and each sample is the time between two consecutive reads (one
//! `Instant::now` plus one store of overhead, shown as the `clock only` row).
//!
//! Environment: `PEERS_ROUNDS` (3), `PEERS_LINES` lines per throughput run
//! (1,000,000), `PEERS_COST_CALLS` measured calls per cost run (200,000),
//! `PEERS_ONLY` a substring: run only the rows whose name contains it.

mod common;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

use common::{PATH_FIELD, env_u64, inversions, percentile, read_back, record};
use concurrent_log_handler::format::{Formatter, TextFormatter};
use concurrent_log_handler::{AsyncConcurrentHandler, FallbackMode, NonBlockingConcurrentHandler};

const MAX_BYTES: u64 = 10 << 20;
const BACKUPS: usize = 400;
const PACE: std::time::Duration = std::time::Duration::from_micros(2);

/// One row of the tables.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    Clock,
    OursAsyncBlock,
    OursAsyncBlockCallerFormats,
    OursAsyncDrop,
    OursAsyncDropNoYield,
    OursThread,
    OursThreadCallerFormats,
    OursLayer,
    OursFmtWriter,
    OursFmtWriterCachedTimer,
    TracingBlocking,
    TracingLossy,
    Spdlog,
    Flexi,
    Naive,
}

const ROWS: [Row; 15] = [
    Row::Clock,
    Row::OursAsyncBlock,
    Row::OursAsyncBlockCallerFormats,
    Row::OursAsyncDrop,
    Row::OursAsyncDropNoYield,
    Row::OursThread,
    Row::OursThreadCallerFormats,
    Row::OursLayer,
    Row::OursFmtWriter,
    Row::OursFmtWriterCachedTimer,
    Row::TracingBlocking,
    Row::TracingLossy,
    Row::Spdlog,
    Row::Flexi,
    Row::Naive,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::Clock => "clock_only",
            Row::OursAsyncBlock => "ours_async_block",
            Row::OursAsyncBlockCallerFormats => "ours_async_block_caller_formats",
            Row::OursAsyncDrop => "ours_async_drop",
            Row::OursAsyncDropNoYield => "ours_async_drop_noyield",
            Row::OursThread => "ours_thread",
            Row::OursThreadCallerFormats => "ours_thread_caller_formats",
            Row::OursLayer => "ours_tracing_layer",
            Row::OursFmtWriter => "ours_fmt_writer",
            Row::OursFmtWriterCachedTimer => "ours_fmt_writer_cached_timer",
            Row::TracingBlocking => "tracing_appender_blocking",
            Row::TracingLossy => "tracing_appender_lossy",
            Row::Spdlog => "spdlog_async_pool",
            Row::Flexi => "flexi_logger_async",
            Row::Naive => "naive_mutex_bufwriter",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Row::Clock => "Instant::now per sample, no emit (harness overhead)",
            Row::OursAsyncBlock => {
                "AsyncConcurrentHandler::emit, FallbackMode::Block, 10 MB rotation, tasks yield / 1000"
            }
            Row::OursAsyncBlockCallerFormats => {
                "as ours_async_block, but each caller formats its record (format_on_writer(false))"
            }
            Row::OursAsyncDrop => {
                "AsyncConcurrentHandler::emit, FallbackMode::Drop, 10 MB rotation, tasks yield / 1000"
            }
            Row::OursAsyncDropNoYield => {
                "as ours_async_drop, but the tasks never yield (starves the drain task)"
            }
            Row::OursThread => {
                "NonBlockingConcurrentHandler::emit, Block (default), 10 MB rotation, threads"
            }
            Row::OursThreadCallerFormats => {
                "as ours_thread, but each caller formats its record (format_on_writer(false))"
            }
            Row::TracingBlocking => {
                "tracing fmt + tracing-appender non_blocking lossy(false), no rotation, threads"
            }
            Row::TracingLossy => {
                "tracing fmt + tracing-appender non_blocking lossy(true), no rotation, threads"
            }
            Row::OursLayer => {
                "tracing::info! through our ConcurrentLogLayer over the thread handler, threads"
            }
            Row::OursFmtWriter => {
                "tracing fmt().with_writer(thread handler), 10 MB rotation, threads (the migration from tracing-appender)"
            }
            Row::OursFmtWriterCachedTimer => {
                "as ours_fmt_writer, with .with_timer(CachedTimer::local()) (our cached timestamp)"
            }
            Row::Spdlog => "spdlog-rs AsyncPoolSink(Block) over RotatingFileSink 10 MB, threads",
            Row::Flexi => "flexi_logger WriteMode::Async, Criterion::Size 10 MB, threads",
            Row::Naive => {
                "Mutex<BufWriter<File>>, our formatter, no lock file, no rotation, threads"
            }
        }
    }

    fn from_name(name: &str) -> Row {
        ROWS.into_iter()
            .find(|r| r.name() == name)
            .unwrap_or_else(|| panic!("unknown row {name}"))
    }
}

// ---------------------------------------------------------------------------
// The logging paths under test, behind one interface for the child.

/// What a producer calls once per event.
type EmitFn = Arc<dyn Fn(u64) + Send + Sync>;

/// A logging path set up in `dir`: how to emit, and how to flush and stop it.
struct Sink {
    emit: EmitFn,
    /// Flushes and stops; returns extra `key=value` fields for the result
    /// (our handlers' counters).
    finish: Box<dyn FnOnce() -> String>,
    /// Producers run as tokio tasks on this runtime (our async handler).
    runtime: Option<Arc<tokio::runtime::Runtime>>,
    /// Producers must run inside this tracing dispatcher.
    dispatch: Option<tracing::Dispatch>,
    /// Tasks yield between chunks of events.
    yield_between: bool,
}

/// Our handler's counters that explain a result, as `key=value` fields.
fn counters(stats: &concurrent_log_handler::Stats) -> String {
    format!(
        "fallback={} dropped={} batches={}",
        stats.fallback, stats.dropped, stats.batches
    )
}

fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    )
}

/// A row that logs through `tracing::info!` into `dispatch`; dropping `guard`
/// flushes and stops its writer.
fn tracing_sink(dispatch: tracing::Dispatch, guard: impl Sized + 'static) -> Sink {
    Sink {
        emit: Arc::new(
            |i| tracing::info!(target: "bench::http", seq = i, path = PATH_FIELD, "request served"),
        ),
        finish: Box::new(move || {
            drop(guard);
            String::new()
        }),
        runtime: None,
        dispatch: Some(dispatch),
        yield_between: false,
    }
}

fn setup(row: Row, dir: &Path) -> Sink {
    match row {
        Row::Clock => Sink {
            emit: Arc::new(|i| {
                std::hint::black_box(i);
            }),
            finish: Box::new(String::new),
            runtime: None,
            dispatch: None,
            yield_between: false,
        },
        Row::OursAsyncBlock
        | Row::OursAsyncBlockCallerFormats
        | Row::OursAsyncDrop
        | Row::OursAsyncDropNoYield => {
            let rt = runtime();
            let mode = if matches!(row, Row::OursAsyncBlock | Row::OursAsyncBlockCallerFormats) {
                FallbackMode::Block
            } else {
                FallbackMode::Drop
            };
            let handler = rt.block_on(async {
                AsyncConcurrentHandler::builder(dir.join("app.log"))
                    .max_bytes(MAX_BYTES)
                    .backup_count(BACKUPS)
                    .fallback_mode(mode)
                    .format_on_writer(row != Row::OursAsyncBlockCallerFormats)
                    .build()
                    .expect("build")
            });
            let h = handler.clone();
            let rt2 = rt.clone();
            Sink {
                emit: Arc::new(move |i| h.emit(record(i))),
                finish: Box::new(move || {
                    rt2.block_on(handler.shutdown()).expect("shutdown");
                    counters(&handler.stats())
                }),
                runtime: Some(rt),
                dispatch: None,
                yield_between: row != Row::OursAsyncDropNoYield,
            }
        }
        Row::OursThread | Row::OursThreadCallerFormats => {
            let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.join("app.log"))
                .max_bytes(MAX_BYTES)
                .backup_count(BACKUPS)
                .format_on_writer(row == Row::OursThread)
                .build()
                .expect("build");
            let stats = handler.clone();
            Sink {
                emit: Arc::new(move |i| handler.emit(record(i))),
                finish: Box::new(move || {
                    drop(guard);
                    counters(&stats.stats())
                }),
                runtime: None,
                dispatch: None,
                yield_between: false,
            }
        }
        Row::OursLayer => {
            use tracing_subscriber::layer::SubscriberExt;
            let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.join("app.log"))
                .max_bytes(MAX_BYTES)
                .backup_count(BACKUPS)
                .build()
                .expect("build");
            let subscriber = tracing_subscriber::registry().with(
                concurrent_log_handler::integrations::tracing::ConcurrentLogLayer::new(handler),
            );
            tracing_sink(tracing::Dispatch::new(subscriber), guard)
        }
        Row::OursFmtWriter | Row::OursFmtWriterCachedTimer => {
            let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.join("app.log"))
                .max_bytes(MAX_BYTES)
                .backup_count(BACKUPS)
                .build()
                .expect("build");
            let fmt = tracing_subscriber::fmt()
                .with_writer(handler)
                .with_ansi(false);
            let dispatch = if row == Row::OursFmtWriterCachedTimer {
                use concurrent_log_handler::integrations::tracing::CachedTimer;
                tracing::Dispatch::new(fmt.with_timer(CachedTimer::local()).finish())
            } else {
                tracing::Dispatch::new(fmt.finish())
            };
            tracing_sink(dispatch, guard)
        }
        Row::TracingBlocking | Row::TracingLossy => {
            let appender = tracing_appender::rolling::never(dir, "app.log");
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .lossy(row == Row::TracingLossy)
                .finish(appender);
            let subscriber = tracing_subscriber::fmt()
                .with_writer(writer)
                .with_ansi(false)
                .finish();
            tracing_sink(tracing::Dispatch::new(subscriber), guard)
        }
        Row::Spdlog => {
            use spdlog::sink::{AsyncPoolSink, RotatingFileSink, RotationPolicy};
            let file_sink = RotatingFileSink::builder()
                .base_path(dir.join("app.log"))
                .rotation_policy(RotationPolicy::FileSize(MAX_BYTES))
                .max_files(BACKUPS)
                .build_arc()
                .expect("rotating sink");
            let pool = spdlog::ThreadPool::builder()
                .build_arc()
                .expect("thread pool");
            let async_sink = AsyncPoolSink::builder()
                .sink(file_sink)
                .thread_pool(pool.clone())
                .build_arc()
                .expect("async sink");
            let logger = spdlog::Logger::builder()
                .sink(async_sink)
                .build_arc()
                .expect("logger");
            let last = logger.clone();
            Sink {
                emit: Arc::new(
                    move |i| spdlog::info!(logger: logger, "bench::http: request served seq={} path={}", i, PATH_FIELD),
                ),
                finish: Box::new(move || {
                    // `emit` is dropped by now: dropping the last logger and
                    // then the pool joins the pool's thread after it ran every
                    // queued task (the flush included); the rotating sink
                    // flushes its buffer when dropped.
                    last.flush();
                    drop(last);
                    drop(pool);
                    String::new()
                }),
                runtime: None,
                dispatch: None,
                yield_between: false,
            }
        }
        Row::Flexi => {
            use flexi_logger::{Cleanup, Criterion, FileSpec, Logger, Naming, WriteMode};
            let handle = Logger::try_with_str("info")
                .expect("spec")
                .log_to_file(FileSpec::default().directory(dir).basename("app"))
                .format_for_files(flexi_logger::opt_format)
                .write_mode(WriteMode::Async)
                .rotate(
                    Criterion::Size(MAX_BYTES),
                    Naming::Numbers,
                    Cleanup::KeepLogFiles(BACKUPS),
                )
                .start()
                .expect("flexi_logger");
            Sink {
                emit: Arc::new(
                    |i| log::info!(target: "bench::http", "request served seq={} path={}", i, PATH_FIELD),
                ),
                finish: Box::new(move || {
                    handle.shutdown();
                    String::new()
                }),
                runtime: None,
                dispatch: None,
                yield_between: false,
            }
        }
        Row::Naive => {
            let file = File::options()
                .create(true)
                .append(true)
                .open(dir.join("app.log"))
                .expect("open");
            let shared = Arc::new(Mutex::new(BufWriter::new(file)));
            let s2 = shared.clone();
            let formatter = TextFormatter::new();
            Sink {
                emit: Arc::new(move |i| {
                    let mut line = Vec::with_capacity(128);
                    formatter.format(&record(i), &mut line);
                    shared
                        .lock()
                        .expect("lock")
                        .write_all(&line)
                        .expect("write");
                }),
                finish: Box::new(move || {
                    s2.lock().expect("lock").flush().expect("flush");
                    String::new()
                }),
                runtime: None,
                dispatch: None,
                yield_between: false,
            }
        }
    }
}

/// Events per chunk; tokio tasks yield between chunks.
const CHUNK: u64 = 1_000;

/// What a producer runs for a range of sequence numbers.
type Body = Arc<dyn Fn(std::ops::Range<u64>) + Send + Sync>;

/// Runs `producers` producers, producer `p` calling `body` on its sequence
/// numbers `p * per .. (p + 1) * per` in chunks of [`CHUNK`], as tokio tasks or
/// threads according to the sink, inside its dispatcher if any.
fn run_producers(sink: &Sink, producers: usize, per: u64, body: Body) {
    let chunks = move |p: usize| {
        let base = p as u64 * per;
        (base..base + per)
            .step_by(CHUNK as usize)
            .map(move |lo| lo..(lo + CHUNK).min(base + per))
    };
    if let Some(rt) = &sink.runtime {
        // Tasks, not threads: that is how a tokio service logs. A task yields
        // between chunks, as a service's tasks do at their awaits: a task that
        // never yields keeps the handler's drain task, woken into the same
        // worker's LIFO slot, from running (rows `*_noyield`).
        let yield_between = sink.yield_between;
        rt.block_on(async {
            let tasks: Vec<_> = (0..producers)
                .map(|p| {
                    let body = body.clone();
                    tokio::spawn(async move {
                        for range in chunks(p) {
                            body(range);
                            if yield_between {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("task");
            }
        });
        return;
    }
    let barrier = Arc::new(Barrier::new(producers));
    std::thread::scope(|scope| {
        for p in 0..producers {
            let body = body.clone();
            let barrier = barrier.clone();
            let dispatch = sink.dispatch.clone();
            scope.spawn(move || {
                barrier.wait();
                let run = || {
                    for range in chunks(p) {
                        body(range);
                    }
                };
                match dispatch {
                    Some(d) => tracing::dispatcher::with_default(&d, run),
                    None => run(),
                }
            });
        }
    });
}

/// The child: one row, one scenario; prints one `RESULT` line.
fn child(row: Row, scenario: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = setup(row, dir.path());
    let result = if scenario.starts_with("cost") {
        let paced = scenario == "cost_paced";
        let calls = env_u64("PEERS_COST_CALLS", 200_000) as usize;
        let warmup = 20_000u64;
        let emit = sink.emit.clone();
        run_producers(
            &sink,
            1,
            warmup,
            Arc::new(move |range| {
                for i in range {
                    emit(i);
                }
            }),
        );
        let state = Arc::new(Mutex::new((vec![0u64; calls], Instant::now())));
        let emit = sink.emit.clone();
        let out = state.clone();
        run_producers(
            &sink,
            1,
            calls as u64,
            Arc::new(move |range| {
                let mut guard = out.lock().expect("samples");
                let (s, prev) = &mut *guard;
                for i in range {
                    if paced {
                        // One call every 2 µs (500k/s, below every row's
                        // sustained rate): the hot path without backpressure.
                        let start = Instant::now();
                        emit(warmup + i);
                        s[i as usize] = start.elapsed().as_nanos() as u64;
                        while start.elapsed() < PACE {
                            std::hint::spin_loop();
                        }
                    } else {
                        emit(warmup + i);
                        let now = Instant::now();
                        s[i as usize] = (now - *prev).as_nanos() as u64;
                        *prev = now;
                    }
                }
            }),
        );
        drop(sink.emit);
        let started = Instant::now();
        let extra = (sink.finish)();
        let finish = started.elapsed();
        let mut s = std::mem::take(&mut state.lock().expect("samples").0);
        s.sort_unstable();
        let mean = s.iter().sum::<u64>() as f64 / s.len() as f64;
        let expected = if row == Row::Clock {
            0
        } else {
            warmup + calls as u64
        };
        let (lines, other, bytes) = read_back(dir.path());
        format!(
            "p50={} p99={} p999={} max={} mean={mean:.1} expected={expected} lines={lines} other={other} bytes={bytes} finish_ms={}",
            percentile(&s, 0.5),
            percentile(&s, 0.99),
            percentile(&s, 0.999),
            s[s.len() - 1],
            finish.as_millis()
        ) + " "
            + &extra
    } else {
        let producers: usize = scenario
            .strip_prefix("tput")
            .and_then(|p| p.parse().ok())
            .expect("scenario tputN");
        let total = env_u64("PEERS_LINES", 1_000_000);
        let per = total / producers as u64;
        let emit = sink.emit.clone();
        let started = Instant::now();
        run_producers(
            &sink,
            producers,
            per,
            Arc::new(move |range| {
                for i in range {
                    emit(i);
                }
            }),
        );
        let emitted = started.elapsed();
        drop(sink.emit);
        let extra = (sink.finish)();
        let elapsed = started.elapsed();
        let expected = if row == Row::Clock {
            0
        } else {
            per * producers as u64
        };
        let (lines, other, bytes) = read_back(dir.path());
        let inverted = inversions(dir.path(), per);
        format!(
            "total_s={:.4} emit_s={:.4} expected={expected} lines={lines} other={other} bytes={bytes} inversions={inverted} {extra}",
            elapsed.as_secs_f64(),
            emitted.as_secs_f64()
        )
    };
    println!("RESULT {result}");
}

// ---------------------------------------------------------------------------
// The parent: runs the children and prints the tables.

type Fields = std::collections::HashMap<String, f64>;

fn run_child(row: Row, scenario: &str) -> Fields {
    let exe: PathBuf = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args(["--child", row.name(), scenario])
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "{} {scenario} failed: {}\n{}",
                row.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}

/// The median round by `key`.
fn median_by(runs: &[Fields], key: &str) -> Fields {
    let mut sorted: Vec<&Fields> = runs.iter().collect();
    sorted.sort_by(|a, b| a[key].total_cmp(&b[key]));
    sorted[sorted.len() / 2].clone()
}

fn lost(f: &Fields) -> i64 {
    f["expected"] as i64 - f["lines"] as i64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(Row::from_name(&args[pos + 1]), &args[pos + 2]);
        return;
    }
    // A filter argument is not supported (use PEERS_ONLY).
    if !common::measuring(&args) {
        return;
    }
    let rounds = env_u64("PEERS_ROUNDS", 3) as usize;
    let only = std::env::var("PEERS_ONLY").unwrap_or_default();
    let rows: Vec<Row> = ROWS
        .into_iter()
        .filter(|r| only.is_empty() || r.name().contains(&only) || *r == Row::Clock)
        .collect();
    let scenarios = ["cost", "cost_paced", "tput1", "tput4"];
    let mut results: Vec<Vec<Vec<Fields>>> = vec![vec![Vec::new(); scenarios.len()]; rows.len()];
    let started = Instant::now();
    for round in 0..rounds {
        for (si, scenario) in scenarios.iter().enumerate() {
            for (ri, row) in rows.iter().enumerate() {
                if *row == Row::Clock && !scenario.starts_with("cost") {
                    continue;
                }
                let f = run_child(*row, scenario);
                eprintln!(
                    "round {}/{rounds} {scenario:6} {:28} {:?}",
                    round + 1,
                    row.name(),
                    f
                );
                results[ri][si].push(f);
            }
        }
    }
    eprintln!("took {:.1?}", started.elapsed());
    println!();
    println!(
        "rows (median of {rounds} interleaved rounds, each row and scenario in a fresh process):"
    );
    for row in &rows {
        println!("  {:28} {}", row.name(), row.describe());
    }
    println!();
    let mut p = std::collections::HashMap::new();
    for (si, title) in [
        (
            0,
            "per-call cost of emit, 1 producer flat out (ns between consecutive returns; clock_only is the harness overhead)",
        ),
        (
            1,
            "per-call cost of emit, 1 producer paced at one call per 2 us, no backpressure (ns per call incl. one clock read)",
        ),
    ] {
        println!("{title}:");
        println!(
            "| {:28} | {:>6} | {:>7} | {:>8} | {:>7} | {:>6} | {:>6} |",
            "row", "p50", "p99", "p99.9", "mean", "lost", "B/line"
        );
        println!("|{}|", "-".repeat(94));
        for (ri, row) in rows.iter().enumerate() {
            let f = median_by(&results[ri][si], "p50");
            let p99 = median_by(&results[ri][si], "p99")["p99"];
            let bpl = if f["lines"] > 0.0 {
                f["bytes"] / f["lines"]
            } else {
                0.0
            };
            println!(
                "| {:28} | {:>6} | {:>7} | {:>8} | {:>7.0} | {:>6} | {:>6.0} |",
                row.name(),
                f["p50"],
                p99,
                median_by(&results[ri][si], "p999")["p999"],
                f["mean"],
                lost(&f),
                bpl
            );
            p.insert((si, row.name()), (f["p50"], p99));
        }
        println!();
    }
    let lines = env_u64("PEERS_LINES", 1_000_000);
    println!(
        "sustained throughput, {lines} lines per run, until flushed and shut down (M lines/s; lost = expected - lines read back):"
    );
    println!(
        "| {:28} | {:>9} | {:>9} | {:>7} | {:>7} | {:>7} | {:>12} | {:>9} |",
        "row", "1 prod", "4 prod", "lost 1", "lost 4", "inv 4", "4p emit-only", "vs naive"
    );
    println!("|{}|", "-".repeat(114));
    let naive_rate = rows.iter().position(|r| *r == Row::Naive).map(|ri| {
        let f = median_by(&results[ri][3], "total_s");
        f["expected"] / f["total_s"] / 1e6
    });
    let mut t = std::collections::HashMap::new();
    for (ri, row) in rows.iter().enumerate() {
        if *row == Row::Clock {
            continue;
        }
        let one = median_by(&results[ri][2], "total_s");
        let four = median_by(&results[ri][3], "total_s");
        let rate = |f: &Fields, k: &str| f["expected"] / f[k] / 1e6;
        let vs_naive = naive_rate.map_or("-".to_owned(), |n| {
            format!("{:.2}x", rate(&four, "total_s") / n)
        });
        println!(
            "| {:28} | {:>9.3} | {:>9.3} | {:>7} | {:>7} | {:>7} | {:>12.3} | {:>9} |",
            row.name(),
            rate(&one, "total_s"),
            rate(&four, "total_s"),
            lost(&one),
            lost(&four),
            four["inversions"],
            rate(&four, "emit_s"),
            vs_naive,
        );
        t.insert(row.name(), (rate(&four, "total_s"), lost(&four)));
    }
    println!();
    // Ratios against the performance targets.
    let ours = "ours_async_block";
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("targets, {ours}:");
    for (si, what) in [(0, "flat out"), (1, "paced")] {
        if let Some(&(p50, p99)) = p.get(&(si, ours)) {
            println!(
                "  [{what}] emit p50 {p50:.0} ns <= 150 ns: {}",
                mark(p50 <= 150.0)
            );
            println!(
                "  [{what}] emit p99 {p99:.0} ns <= 1000 ns: {}",
                mark(p99 <= 1000.0)
            );
        }
    }
    if let (Some(&(r, l)), Some(&(sr, _)), Some(&(tr, _)), Some(&(nr, _))) = (
        t.get(ours),
        t.get("spdlog_async_pool"),
        t.get("tracing_appender_blocking"),
        t.get("naive_mutex_bufwriter"),
    ) {
        let inv = median_by(
            &results[rows.iter().position(|r| r.name() == ours).unwrap()][3],
            "total_s",
        )["inversions"];
        println!(
            "  4 tasks >= 1.5x the naive Mutex<BufWriter> ({nr:.3}): {:.2}x: {}",
            r / nr,
            mark(r >= 1.5 * nr)
        );
        println!(
            "  4 tasks >= 3x spdlog-rs ({sr:.3}): {:.2}x: {}",
            r / sr,
            mark(r >= 3.0 * sr)
        );
        println!(
            "  4 tasks >= 5x tracing-appender blocking ({tr:.3}): {:.2}x: {}",
            r / tr,
            mark(r >= 5.0 * tr)
        );
        println!(
            "  4 tasks 0 lost, 0 per-producer inversions: lost {l}, inversions {inv}: {}",
            mark(l == 0 && inv == 0.0)
        );
        if let Some(&(fr, _)) = t.get("ours_fmt_writer") {
            println!(
                "  fmt().with_writer(handler), 4 threads, >= 2x tracing-appender blocking: {:.2}x: {}",
                fr / tr,
                mark(fr >= 2.0 * tr)
            );
            if let Some(&(lr, _)) = t.get("ours_tracing_layer") {
                println!(
                    "  fmt().with_writer within 1.2x of the layer path ({lr:.3}): {:.2}x slower: {}",
                    lr / fr,
                    mark(lr <= 1.2 * fr)
                );
                if let Some(&(cr, _)) = t.get("ours_fmt_writer_cached_timer") {
                    println!(
                        "  (with .with_timer(CachedTimer::local()): {:.2}x slower than the layer, {:.2}x tracing-appender)",
                        lr / cr,
                        cr / tr
                    );
                }
            }
        }
    }
}
