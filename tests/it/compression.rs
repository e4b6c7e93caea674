//! Compressed backups: off the write path, in order, and repaired after a crash.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_compression::futures::bufread::GzipDecoder;
#[cfg(feature = "zstd")]
use async_compression::futures::bufread::ZstdDecoder;
#[cfg(feature = "zstd")]
use concurrent_log_handler::Rotation;
use concurrent_log_handler::{AsyncConcurrentHandler, Compression, ConcurrentRotatingFileHandler};
use futures::io::{AllowStdIo, AsyncReadExt};

use crate::fallback::record;
#[cfg(feature = "zstd")]
use crate::timed::ManualClock;
use crate::timed::names;
use crate::util::{TempLog, assert_complete, check_records, spawn_child, wait_ok};

/// The lines of a backup, decompressed according to its extension.
pub fn read_lines(path: &Path) -> Vec<String> {
    let reader = AllowStdIo::new(BufReader::new(fs::File::open(path).expect("open")));
    let mut text = String::new();
    futures::executor::block_on(async {
        let name = path.to_string_lossy();
        if name.ends_with(".gz") {
            GzipDecoder::new(reader).read_to_string(&mut text).await
        } else if name.ends_with(".zst") {
            read_zstd(reader, &mut text).await
        } else {
            let mut reader = reader;
            reader.read_to_string(&mut text).await
        }
    })
    .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines().map(str::to_owned).collect()
}

#[cfg(feature = "zstd")]
async fn read_zstd(
    reader: AllowStdIo<BufReader<fs::File>>,
    text: &mut String,
) -> std::io::Result<usize> {
    ZstdDecoder::new(reader).read_to_string(text).await
}

#[cfg(not(feature = "zstd"))]
async fn read_zstd(
    _reader: AllowStdIo<BufReader<fs::File>>,
    _text: &mut String,
) -> std::io::Result<usize> {
    panic!("reading a .zst backup needs the `zstd` feature")
}

/// The compressed chain `.N<ext>` … `.1<ext>` then the log, asserting that no
/// plain numbered backup, rotation leftover or temporary file remains.
fn compressed_chain(log: &TempLog, ext: &str) -> Vec<PathBuf> {
    compressed_chain_of(&log.path, ext)
}

/// [`compressed_chain`] of the log at `log`: its directory's files named
/// `<log>.*` must all be archives numbered 1…N without gaps.
pub fn compressed_chain_of(log: &Path, ext: &str) -> Vec<PathBuf> {
    let dir = log.parent().expect("dir");
    let base = log
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let prefix = format!("{base}.");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    let mut numbers = Vec::new();
    for name in &names {
        let rest = name.strip_prefix(&prefix).expect("prefix");
        let digits = rest
            .strip_suffix(ext)
            .unwrap_or_else(|| panic!("not compressed: {name} in {names:?}"));
        numbers.push(
            digits
                .parse::<usize>()
                .unwrap_or_else(|_| panic!("unexpected {name}")),
        );
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=numbers.len()).collect::<Vec<_>>(),
        "gap in {names:?}"
    );
    let mut files: Vec<PathBuf> = numbers
        .iter()
        .rev()
        .map(|n| dir.join(format!("{base}.{n}{ext}")))
        .collect();
    files.push(log.to_path_buf());
    files
}

fn size_rotation_round_trip(compression: Compression) {
    let log = TempLog::new();
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(20_000)
        .backup_count(1_000)
        .compression(compression)
        .build()
        .expect("build");
    let total = 3_000;
    for seq in 0..total {
        handler.emit(record(0, seq)).expect("emit");
    }
    assert!(
        handler.wait_for_compression(Duration::from_secs(60)),
        "compression hung"
    );
    let files = compressed_chain(&log, compression.extension());
    assert!(files.len() > 10, "{files:?}");
    let lines: Vec<String> = files.iter().flat_map(|f| read_lines(f)).collect();
    assert_complete(&check_records(&lines, true), 1, total);
    let stats = handler.stats();
    assert_eq!(stats.compressions, stats.rotations, "{stats:?}");
    assert_eq!(stats.compression_errors, 0);
}

#[test]
fn gzip_backups_decompress_to_exactly_the_lines_written() {
    size_rotation_round_trip(Compression::Gzip);
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_backups_decompress_to_exactly_the_lines_written() {
    size_rotation_round_trip(Compression::Zstd);
}

#[cfg(feature = "zstd")]
#[test]
fn timed_backups_are_compressed_under_their_period_name() {
    let log = TempLog::new();
    let clock = ManualClock::at("2026-11-23T10:00:10Z");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .rotate_every(Rotation::Minutely)
        .rotate_in_utc(true)
        .compression(Compression::Zstd)
        .clock(clock.clone())
        .build()
        .expect("build");
    let mut seq = 0;
    for minute in ["10:01:10", "10:02:10", "10:03:10"] {
        for _ in 0..100 {
            handler.emit(record(0, seq)).expect("emit");
            seq += 1;
        }
        clock.set(&format!("2026-11-23T{minute}Z"));
    }
    handler.emit(record(0, seq)).expect("emit");
    assert!(handler.wait_for_compression(Duration::from_secs(60)));
    let names = names(log.dir.path());
    assert_eq!(
        names,
        [
            "app.log",
            "app.log.2026-11-23_10-00.zst",
            "app.log.2026-11-23_10-01.zst",
            "app.log.2026-11-23_10-02.zst"
        ]
    );
    let mut lines = Vec::new();
    for name in names.iter().skip(1).chain(std::iter::once(&names[0])) {
        lines.extend(read_lines(&log.dir.path().join(name)));
    }
    assert_complete(&check_records(&lines, true), 1, 301);
}

#[test]
fn the_async_handler_compresses_and_shutdown_waits_for_it() {
    let log = TempLog::new();
    let runtime = crate::util::multi_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .max_bytes(256 * 1024)
            .backup_count(100)
            .compression(Compression::Gzip)
            .queue_capacity(100_000)
            .build()
            .expect("build");
        for seq in 0..20_000 {
            handler.emit(record(0, seq));
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert!(stats.rotations >= 5, "{stats:?}");
        assert_eq!(stats.compressions, stats.rotations, "{stats:?}");
    });
    let lines: Vec<String> = compressed_chain(&log, ".gz")
        .iter()
        .flat_map(|f| read_lines(f))
        .collect();
    assert_complete(&check_records(&lines, true), 1, 20_000);
}

#[test]
fn a_compression_killed_midway_is_finished_by_the_next_start() {
    let log = TempLog::new();
    let total = 400_000; // ~39 MB rotated away at once: a compression that takes a while
    let mut child = spawn_child(
        "compress_victim",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", total.to_string()),
            ("CLH_MAX_BYTES", "1".to_owned()),
            ("CLH_BACKUPS", "10".to_owned()),
        ],
    );
    // Every record is written once the child says "rotated"; kill it while the
    // archive is being written.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("rotated") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "child ended early"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while !names(log.dir.path()).iter().any(|n| n.ends_with(".gz.tmp")) {
        assert!(
            Instant::now() < deadline,
            "no compression seen: {:?}",
            names(log.dir.path())
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    // The rotated file sits at its place in the chain, whole, beside the
    // partial temporary archive.
    let crashed = names(log.dir.path());
    assert!(
        crashed.contains(&"app.log.1".to_owned()),
        "the backup is still there, plain: {crashed:?}"
    );
    assert!(
        !crashed.contains(&"app.log.1.gz".to_owned()),
        "published too early: {crashed:?}"
    );

    // The next start repairs: the partial archive goes, the source is compressed
    // again and published, and no line is lost or doubled.
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(1)
        .backup_count(10)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    assert!(
        handler.wait_for_compression(Duration::from_secs(120)),
        "repair hung"
    );
    let files = compressed_chain(&log, ".gz");
    assert_eq!(files.len(), 2, "{:?}", names(log.dir.path()));
    let lines: Vec<String> = files.iter().flat_map(|f| read_lines(f)).collect();
    assert_complete(&check_records(&lines, true), 1, total + 1);
    assert_eq!(handler.stats().compressions, 1);
}

/// Four processes rotating one log every 64 KiB and compressing their own
/// backups at once, then simply ending: every record is in exactly one file,
/// the numbered chain is in rotation order (reading `.N.gz` … `.1.gz`, then
/// the log, every writer's records come in the order written), and no plain
/// backup, `.rotate.` or `.tmp` file is left behind.
#[test]
fn processes_compressing_at_once_keep_every_record_once_and_the_chain_in_order() {
    let log = TempLog::new();
    let (writers, per_writer) = (4, 30_000);
    let children: Vec<_> = (0..writers)
        .map(|w| {
            spawn_child(
                "gzip_thread",
                &[
                    ("CLH_LOG", log.path.display().to_string()),
                    ("CLH_WRITER", w.to_string()),
                    ("CLH_COUNT", per_writer.to_string()),
                    ("CLH_MAX_BYTES", (64 * 1024).to_string()),
                    ("CLH_BACKUPS", "10000".to_owned()),
                ],
            )
        })
        .collect();
    for child in children {
        wait_ok(child);
    }
    let files = compressed_chain(&log, ".gz");
    assert!(files.len() > 100, "{} files", files.len());
    let lines: Vec<String> = files.iter().flat_map(|f| read_lines(f)).collect();
    assert_complete(&check_records(&lines, true), writers, per_writer);
}

/// A script that logs through the blocking handler with compression and
/// simply ends right after a rotation: dropping the handler lets its
/// compressions finish, so the directory holds only archives and the log,
/// with every record once.
#[test]
fn a_process_that_simply_ends_leaves_its_backups_compressed() {
    for round in 0..3 {
        let log = TempLog::new();
        let child = spawn_child(
            "gzip_sync_exit",
            &[
                ("CLH_LOG", log.path.display().to_string()),
                ("CLH_WRITER", "0".to_owned()),
                ("CLH_COUNT", "1000000".to_owned()),
                ("CLH_MAX_BYTES", (2 << 20).to_string()),
                ("CLH_BACKUPS", "100".to_owned()),
            ],
        );
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "round {round}: {}", out.status);
        let written: usize = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.split("written=").nth(1))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .expect("the child prints what it wrote");
        let files = compressed_chain(&log, ".gz");
        assert_eq!(files.len(), 4, "round {round}: {files:?}");
        let lines: Vec<String> = files.iter().flat_map(|f| read_lines(f)).collect();
        assert_complete(&check_records(&lines, true), 1, written);
    }
}
