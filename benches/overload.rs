//! Memory under sustained overload: `cargo bench -p clh-benches --bench overload`.
//!
//! For each fallback mode of the async handler (`Drop`, `Block`, `Nowait`) and
//! for the thread handler (`Block` and `Drop`), a fresh child process
//! runs 4 producers (tokio tasks yielding every 1,000 events, or threads) that
//! emit flat out for `OVERLOAD_SECS` (default 10) while the disk path is
//! throttled: a "lock hog" thread holds the log's flock `OVERLOAD_HOLD_MS`
//! (default 29) ms out of every `+1` ms, as a busy neighbour process would, so
//! the producers offer many times what the writer can put on disk. A sampler
//! reads VmRSS and VmHWM from `/proc/self/status` every 100 ms. The table shows
//! the rates (offered = emit calls/s, written = lines/s on disk during the
//! window), RSS at 1 s, 2 s, half-way and the end, the peak (VmHWM), the most
//! threads seen, and
//! whether RSS is flat (end − 2 s < 4 MiB). After the window the hog stops,
//! the handler is shut down and its counters are checked against the lines read
//! back. `OVERLOAD_ONLY=<substring>` runs only the matching modes.

mod common;

use std::fs::File;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{env_u64, lines_in, record};
use concurrent_log_handler::{
    AsyncConcurrentHandler, FallbackMode, NonBlockingConcurrentHandler, Stats,
};

const MODES: [&str; 5] = [
    "async_drop",
    "async_block",
    "async_nowait",
    "thread_fallback",
    "thread_drop",
];
const PRODUCERS: usize = 4;

/// (VmRSS, VmHWM) in KiB, and the number of threads.
fn rss() -> (u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"), field("Threads:"))
}

fn child(mode: &str) {
    let secs = env_u64("OVERLOAD_SECS", 10);
    let hold = Duration::from_millis(env_u64("OVERLOAD_HOLD_MS", 29));
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let stop = Arc::new(AtomicBool::new(false));
    let emitted = Arc::new(AtomicU64::new(0));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    enum H {
        Async(AsyncConcurrentHandler),
        Thread(
            NonBlockingConcurrentHandler,
            concurrent_log_handler::WriterGuard,
        ),
    }
    let handler = if let Some(m) = mode.strip_prefix("async_") {
        let fallback = match m {
            "drop" => FallbackMode::Drop,
            "block" => FallbackMode::Block,
            _ => FallbackMode::Nowait,
        };
        H::Async(rt.block_on(async {
            AsyncConcurrentHandler::builder(&log)
                .max_bytes(10 << 20)
                // Room for every line of the window (a `Block` mode writes
                // ~1 GB in 10 s): retention must not delete what the counts
                // compare with the files.
                .backup_count(1000)
                .fallback_mode(fallback)
                .build()
                .expect("build")
        }))
    } else {
        let (h, g) = NonBlockingConcurrentHandler::builder(&log)
            .max_bytes(10 << 20)
            .backup_count(1000)
            .fallback_mode(if mode == "thread_fallback" {
                FallbackMode::Block
            } else {
                FallbackMode::Drop
            })
            .build()
            .expect("build");
        H::Thread(h, g)
    };
    let stats = |h: &H| -> Stats {
        match h {
            H::Async(h) => h.stats(),
            H::Thread(h, _) => h.stats(),
        }
    };

    // The lock hog: a neighbour holding the log's flock most of the time.
    let hog_stop = Arc::new(AtomicBool::new(false));
    let hog = {
        let lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.path().join(".__app.lock"))
            .expect("lock file");
        let hog_stop = hog_stop.clone();
        std::thread::spawn(move || {
            while !hog_stop.load(Ordering::Relaxed) {
                lock.lock().expect("flock");
                std::thread::sleep(hold);
                lock.unlock().expect("unlock");
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    let started = Instant::now();
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (r, h, t) = rss();
                samples.push((started.elapsed().as_secs_f64(), r, h, t));
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        })
    };
    // Producers.
    match &handler {
        H::Async(h) => {
            let tasks: Vec<_> = (0..PRODUCERS)
                .map(|_| {
                    let h = h.clone();
                    let stop = stop.clone();
                    let emitted = emitted.clone();
                    rt.spawn(async move {
                        let mut i = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            for _ in 0..1_000 {
                                h.emit(record(i));
                                i += 1;
                            }
                            emitted.fetch_add(1_000, Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
            rt.block_on(async {
                for t in tasks {
                    t.await.expect("task");
                }
            });
        }
        H::Thread(h, _) => {
            std::thread::scope(|scope| {
                for _ in 0..PRODUCERS {
                    let h = h.clone();
                    let stop = stop.clone();
                    let emitted = emitted.clone();
                    scope.spawn(move || {
                        let mut i = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            for _ in 0..1_000 {
                                h.emit(record(i));
                                i += 1;
                            }
                            emitted.fetch_add(1_000, Ordering::Relaxed);
                        }
                    });
                }
                std::thread::sleep(Duration::from_secs(secs));
                stop.store(true, Ordering::Relaxed);
            });
        }
    }
    let window = started.elapsed().as_secs_f64();
    let in_window = stats(&handler);
    let samples = sampler.join().expect("sampler");
    hog_stop.store(true, Ordering::Relaxed);
    hog.join().expect("hog");
    let final_stats = match handler {
        H::Async(h) => {
            rt.block_on(h.shutdown()).expect("shutdown");
            h.stats()
        }
        H::Thread(h, guard) => {
            drop(guard);
            h.stats()
        }
    };
    let on_disk = lines_in(dir.path());
    let at = |t: f64| {
        samples
            .iter()
            .find(|s| s.0 >= t)
            .or(samples.last())
            .map_or(0, |s| s.1)
    };
    let peak = samples.iter().map(|s| s.2).max().unwrap_or(0);
    let threads = samples.iter().map(|s| s.3).max().unwrap_or(0);
    let end = samples.last().map_or(0, |s| s.1);
    println!(
        "RESULT offered={:.0} written={:.0} rss1={} rss2={} rssmid={} rssend={} hwm={} threads={threads} emitted={} written_total={} dropped={} fallback={} failed={} on_disk={} samples={}",
        emitted.load(Ordering::Relaxed) as f64 / window,
        in_window.written as f64 / window,
        at(1.0),
        at(2.0),
        at(secs as f64 / 2.0),
        end,
        peak,
        final_stats.emitted,
        final_stats.written,
        final_stats.dropped,
        final_stats.fallback,
        final_stats.failed,
        on_disk,
        samples.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1]);
        return;
    }
    if !common::measuring(&args) {
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    println!();
    println!(
        "memory under sustained overload: {PRODUCERS} producers flat out for {} s, lock held {} of every {} ms by a neighbour (RSS in MiB)",
        env_u64("OVERLOAD_SECS", 10),
        env_u64("OVERLOAD_HOLD_MS", 29),
        env_u64("OVERLOAD_HOLD_MS", 29) + 1
    );
    println!(
        "| {:15} | {:>10} | {:>10} | {:>7} | {:>5} | {:>5} | {:>5} | {:>5} | {:>6} | {:>6} | {:>10} | {:>10} | {:>7} | {:>8} |",
        "mode",
        "offered/s",
        "written/s",
        "overld",
        "1s",
        "2s",
        "mid",
        "end",
        "peak",
        "flat",
        "dropped",
        "fallback",
        "threads",
        "counts"
    );
    println!("|{}|", "-".repeat(143));
    let only = std::env::var("OVERLOAD_ONLY").unwrap_or_default();
    for mode in MODES.into_iter().filter(|m| m.contains(&only)) {
        let out = Command::new(&exe)
            .args(["--child", mode])
            .output()
            .expect("spawn child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
            println!(
                "| {mode:15} | failed: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        };
        eprintln!("{mode}: {line}");
        let f: std::collections::HashMap<&str, f64> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, v.parse().unwrap_or(f64::NAN)))
            .collect();
        let mib = |k: &str| f[k] / 1024.0;
        let flat = f["rssend"] - f["rss2"] < 4096.0;
        let counts_ok = f["emitted"] == f["written_total"] + f["dropped"] + f["failed"]
            && f["on_disk"] == f["written_total"];
        println!(
            "| {:15} | {:>10.0} | {:>10.0} | {:>6.1}x | {:>5.1} | {:>5.1} | {:>5.1} | {:>5.1} | {:>6.1} | {:>6} | {:>10} | {:>10} | {:>7} | {:>8} |",
            mode,
            f["offered"],
            f["written"],
            f["offered"] / f["written"].max(1.0),
            mib("rss1"),
            mib("rss2"),
            mib("rssmid"),
            mib("rssend"),
            mib("hwm"),
            if flat { "yes" } else { "NO" },
            f["dropped"],
            f["fallback"],
            f["threads"],
            if counts_ok { "ok" } else { "MISMATCH" }
        );
    }
}
