//! One writer process of the multi-process benchmark (`benches/mp_bench.py`).
//!
//! `mp_writer <log> <lines> <proc-id> [async|thread] [max_bytes] [backups]`
//! writes `lines` records `request served proc=<id> seq=<n> path=...` into the
//! shared rotating `<log>` from one producer (a tokio task for `async`, the
//! default, with `FallbackMode::Block`; the calling thread for `thread`), shuts
//! the handler down, and prints `start=<epoch s> end=<epoch s>` and the
//! handler's counters, so the script can compute the aggregate rate over all
//! processes from the first start to the last end.

use std::time::{SystemTime, UNIX_EPOCH};

use concurrent_log_handler::{
    AsyncConcurrentHandler, FallbackMode, Level, NonBlockingConcurrentHandler, Record,
};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn record(proc_id: u32, seq: u64) -> Record {
    Record::new(Level::Info, "request served")
        .with_target("mp")
        .with_field("proc", proc_id)
        .with_field("seq", seq)
        .with_field("path", "/api/v1/orders")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err(
            "usage: mp_writer <log> <lines> <proc-id> [async|thread] [max_bytes] [backups]".into(),
        );
    }
    let path = &args[1];
    let lines: u64 = args[2].parse()?;
    let proc_id: u32 = args[3].parse()?;
    let mode = args.get(4).map_or("async", String::as_str);
    let max_bytes: u64 = args.get(5).map_or(Ok(10 << 20), |s| s.parse())?;
    let backups: usize = args.get(6).map_or(Ok(200), |s| s.parse())?;

    match mode {
        "thread" => {
            let (handler, guard) = NonBlockingConcurrentHandler::builder(path)
                .max_bytes(max_bytes)
                .backup_count(backups)
                .build()?;
            let start = now();
            for seq in 0..lines {
                handler.emit(record(proc_id, seq));
            }
            drop(guard);
            let end = now();
            println!("start={start} end={end} stats={:?}", handler.stats());
        }
        _ => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let handler = AsyncConcurrentHandler::builder(path)
                    .max_bytes(max_bytes)
                    .backup_count(backups)
                    .fallback_mode(FallbackMode::Block)
                    .build()?;
                let start = now();
                let h = handler.clone();
                tokio::spawn(async move {
                    for seq in 0..lines {
                        h.emit(record(proc_id, seq));
                        if seq % 1000 == 999 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
                .await?;
                handler.shutdown().await?;
                let end = now();
                println!("start={start} end={end} stats={:?}", handler.stats());
                Ok::<_, Box<dyn std::error::Error>>(())
            })?;
        }
    }
    Ok(())
}
