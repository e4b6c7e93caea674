//! The crate at work: eight tokio tasks log 100,000 records each into a log that
//! rotates at 10 MB, a few critical records are awaited with `emit_wait`, then
//! the handler's stats, the files produced and the throughput are printed.
//!
//! Run it with `cargo run --release --example quickstart`. The logs land in
//! `target/quickstart/logs/` (`app.log`, `app.log.1` … and the lock file
//! `.__app.lock`; `target` is `CARGO_TARGET_DIR` when that is set); each run
//! starts from an empty directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use concurrent_log_handler::{AsyncConcurrentHandler, FallbackMode, Level, Record};

const TASKS: usize = 8;
const RECORDS_PER_TASK: usize = 100_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = target_dir().join("quickstart/logs");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let handler = AsyncConcurrentHandler::builder(dir.join("app.log"))
        .max_bytes(10 << 20)
        .backup_count(10)
        // When the queue is full, wait for room rather than drop: this run
        // should keep every record. `Drop` (the default) never waits.
        .fallback_mode(FallbackMode::Block)
        .build()?;

    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let handler = handler.clone();
            tokio::spawn(async move {
                for seq in 0..RECORDS_PER_TASK {
                    handler.emit(
                        Record::new(Level::Info, "request served")
                            .with_target("quickstart::http")
                            .with_field("task", task)
                            .with_field("seq", seq)
                            .with_field("path", "/api/v1/orders"),
                    );
                }
                // A record we must not lose: resolved once it is on disk.
                handler
                    .emit_wait(
                        Record::new(Level::Critical, "audit: task finished")
                            .with_target("quickstart::audit")
                            .with_field("task", task),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    handler.shutdown().await?;
    let elapsed = started.elapsed();

    let stats = handler.stats();
    let lines = (TASKS * (RECORDS_PER_TASK + 1)) as f64;
    println!(
        "wrote {lines} records in {elapsed:.2?}: {:.0} lines/s",
        lines / elapsed.as_secs_f64()
    );
    println!("{stats}");

    println!("files in {}:", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    files.sort_by_key(|e| e.file_name());
    let mut total_lines = 0;
    for file in files {
        let len = file.metadata()?.len();
        let name = file.file_name().to_string_lossy().into_owned();
        let count = if name.starts_with(".__") {
            0
        } else {
            std::fs::read(file.path())?
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        total_lines += count;
        println!("  {name:<14} {len:>10} bytes {count:>8} lines");
    }
    println!(
        "lines on disk: {total_lines} (records written: {})",
        stats.written
    );
    Ok(())
}

/// Cargo's target directory, where the example writes: `CARGO_TARGET_DIR`
/// when it is set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
