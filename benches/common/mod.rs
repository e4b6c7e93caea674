//! Helpers shared by the custom-harness benches (`peers`, `waiters`,
//! `overload`). Each bench compiles this module on its own and uses a part of
//! it, hence `dead_code` is allowed here.
#![allow(dead_code)]

use std::path::Path;

use concurrent_log_handler::{Level, Record};

/// The message every bench logs; lines holding it are the bench's own.
pub const MARKER: &str = "request served";
/// The `path` field of the event.
pub const PATH_FIELD: &str = "/api/v1/orders";

/// The ~100-byte event the side-by-side benches log.
pub fn record(i: u64) -> Record {
    Record::new(Level::Info, MARKER)
        .with_target("bench::http")
        .with_field("seq", i)
        .with_field("path", PATH_FIELD)
}

/// A knob from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile (0–1) of an ascending slice.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Lines holding [`MARKER`], other non-empty lines, and the bytes of the
/// marker lines, over every file in `dir` but the lock file.
pub fn read_back(dir: &Path) -> (u64, u64, u64) {
    let (mut ours, mut other, mut bytes) = (0, 0, 0);
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(".__") || !path.is_file() {
            continue;
        }
        let data = std::fs::read(&path).expect("read");
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if line.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
                ours += 1;
                bytes += line.len() as u64 + 1;
            } else {
                other += 1;
            }
        }
    }
    (ours, other, bytes)
}

/// Per-producer order: reading every file of `dir` oldest first (by
/// modification time, then name), how often a producer's `seq=N` is lower
/// than the one before it. Producer `p` emits `p * per .. (p + 1) * per`.
/// 0 means each producer's records are in the order it emitted them.
pub fn inversions(dir: &Path, per: u64) -> u64 {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .starts_with(".__")
        })
        .map(|p| {
            (
                std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .expect("mtime"),
                p,
            )
        })
        .collect();
    files.sort();
    let mut last = std::collections::HashMap::<u64, u64>::new();
    let mut inverted = 0;
    for (_, path) in files {
        let data = std::fs::read(&path).expect("read");
        for line in data.split(|&b| b == b'\n') {
            let Some(at) = line.windows(4).position(|w| w == b"seq=") else {
                continue;
            };
            let digits: Vec<u8> = line[at + 4..]
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            let Some(seq) = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse::<u64>().ok())
            else {
                continue;
            };
            let producer = seq / per.max(1);
            if last
                .insert(producer, seq)
                .is_some_and(|before| seq < before)
            {
                inverted += 1;
            }
        }
    }
    inverted
}

/// The bench's own lines on disk in `dir`.
pub fn lines_in(dir: &Path) -> u64 {
    read_back(dir).0
}

/// Only `cargo bench` (which passes `--bench`) measures; `cargo test
/// --benches` / `--all-targets` only checks that the bench starts.
pub fn measuring(args: &[String]) -> bool {
    if args.iter().any(|a| a == "--bench") {
        return true;
    }
    println!(
        "run with `cargo bench -p clh-benches --bench {}`",
        env!("CARGO_CRATE_NAME")
    );
    false
}
