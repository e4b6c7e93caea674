//! `emit_wait` under load: `cargo bench -p clh-benches --bench waiters`.
//!
//! - 1,000 tokio tasks each loop `emit_wait` for `WAITERS_SECS` seconds (default
//!   3): confirmed records/s, and p50/p99/p99.9 of each call's latency (from the
//!   call to the resolution, measured by the task with `Instant`). Plain and
//!   `durable(true)` (fdatasync per batch).
//! - A lone `emit_wait` on an idle handler: one task, one call, then 1 ms of
//!   sleep so the writer is parked again, 2,000 times: p50/p99. And the same
//!   back to back without the sleep.
//!
//! "by caller" counts the records whose callers wrote them themselves
//! (`emitted - queued`): an idle handler's waiting caller does, rather than
//! wake the writer thread.
//!
//! Every case runs `WAITERS_ROUNDS` (default 3) interleaved rounds; the round
//! with the median rate (or median p50) is shown. After each run the log is read
//! back and every confirmed record must be in it.
//!
//! A custom harness because criterion reports means, not per-call percentiles.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{env_u64, lines_in, percentile, record};
use concurrent_log_handler::{AsyncConcurrentHandler, Stats};

struct Outcome {
    rate: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    n: usize,
    /// Records their callers wrote themselves (the handler was idle).
    by_caller: u64,
}

impl Outcome {
    /// Rate and percentiles of per-call latencies (ns) over `elapsed`, and
    /// how many records their callers wrote, from the handler's stats.
    fn new(mut lat: Vec<u64>, elapsed: Duration, stats: &Stats) -> Outcome {
        lat.sort_unstable();
        Outcome {
            rate: lat.len() as f64 / elapsed.as_secs_f64(),
            p50: percentile(&lat, 0.5),
            p99: percentile(&lat, 0.99),
            p999: percentile(&lat, 0.999),
            n: lat.len(),
            by_caller: stats.emitted - stats.queued,
        }
    }
}

/// 1,000 concurrent looping waiters for `secs`.
fn many(durable: bool, waiters: u64, secs: u64) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (latencies, stats, elapsed) = rt.block_on(async {
        let handler = AsyncConcurrentHandler::builder(dir.path().join("w.log"))
            .max_bytes(10 << 20)
            .backup_count(100)
            .durable(durable)
            .build()
            .expect("build");
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let tasks: Vec<_> = (0..waiters)
            .map(|w| {
                let handler = handler.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(4096);
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        handler
                            .emit_wait(record(w * 1_000_000_000 + i))
                            .await
                            .expect("emit_wait");
                        lat.push(t.elapsed().as_nanos() as u64);
                        i += 1;
                    }
                    lat
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        let elapsed = started.elapsed();
        handler.shutdown().await.expect("shutdown");
        (all, handler.stats(), elapsed)
    });
    let outcome = Outcome::new(latencies, elapsed, &stats);
    let on_disk = lines_in(dir.path());
    assert_eq!(
        on_disk, outcome.n as u64,
        "confirmed records missing on disk"
    );
    assert_eq!(stats.written, outcome.n as u64);
    outcome
}

/// One task, sequential `emit_wait`, with `idle` sleep between calls.
fn lone(idle: Option<Duration>, calls: u64) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (lat, elapsed, stats) = rt.block_on(async {
        let handler = AsyncConcurrentHandler::builder(dir.path().join("l.log"))
            .build()
            .expect("build");
        handler.emit_wait(record(0)).await.expect("warm-up");
        let mut lat = Vec::with_capacity(calls as usize);
        let mut busy = Duration::ZERO;
        for i in 0..calls {
            let t = Instant::now();
            handler.emit_wait(record(i)).await.expect("emit_wait");
            let d = t.elapsed();
            busy += d;
            lat.push(d.as_nanos() as u64);
            if let Some(idle) = idle {
                tokio::time::sleep(idle).await;
            }
        }
        handler.shutdown().await.expect("shutdown");
        (lat, busy, handler.stats())
    });
    assert_eq!(lines_in(dir.path()), calls + 1);
    Outcome::new(lat, elapsed, &stats)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !common::measuring(&args) {
        return;
    }
    let rounds = env_u64("WAITERS_ROUNDS", 3);
    let secs = env_u64("WAITERS_SECS", 3);
    let names = [
        "1000 waiters",
        "1000 waiters, durable",
        "lone, idle 1 ms between",
        "lone, back to back",
    ];
    let mut res: Vec<Vec<Outcome>> = (0..names.len()).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        res[0].push(many(false, 1_000, secs));
        res[1].push(many(true, 1_000, secs));
        res[2].push(lone(Some(Duration::from_millis(1)), 2_000));
        res[3].push(lone(None, 20_000));
        eprintln!("round {}/{rounds} done", round + 1);
    }
    println!();
    println!(
        "emit_wait (median of {rounds} interleaved rounds; latency = call to resolution, per call)"
    );
    println!(
        "| {:26} | {:>12} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} |",
        "case", "confirmed/s", "p50 us", "p99 us", "p99.9 us", "calls", "by caller"
    );
    println!("|{}|", "-".repeat(103));
    let mut med = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut v: Vec<&Outcome> = res[i].iter().collect();
        if i < 2 {
            v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        } else {
            v.sort_by_key(|o| o.p50);
        }
        let m = v[v.len() / 2];
        println!(
            "| {:26} | {:>12.0} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9} | {:>9} |",
            name,
            m.rate,
            m.p50 as f64 / 1e3,
            m.p99 as f64 / 1e3,
            m.p999 as f64 / 1e3,
            m.n,
            m.by_caller
        );
        med.push((m.rate, m.p50));
    }
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!("targets:");
    println!(
        "  1000 waiters {:.3} M confirmed/s >= 1.2 M: {:.2}x: {}",
        med[0].0 / 1e6,
        med[0].0 / 1.2e6,
        mark(med[0].0 >= 1.2e6)
    );
    println!(
        "  durable {:.3} M confirmed/s >= 0.6 M: {:.2}x: {}",
        med[1].0 / 1e6,
        med[1].0 / 0.6e6,
        mark(med[1].0 >= 0.6e6)
    );
    println!(
        "  lone emit_wait on an idle handler p50 {:.1} us <= 30 us: {}",
        med[2].1 as f64 / 1e3,
        mark(med[2].1 <= 30_000)
    );
}
