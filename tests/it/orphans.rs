//! Rotations cut short leave `app.log.rotate.<N>` files (a writer killed
//! between the rename and the move to `.1`, a `rename` or `unlink` that
//! failed, a Python CLH writer killed while it gzipped). Each is put back
//! into the backups, oldest first, at start-up and at the next rotation, so
//! that the chain holds every record and nothing else remains.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_compression::futures::write::GzipEncoder;
use concurrent_log_handler::{
    Compression, ConcurrentRotatingFileHandler, NonBlockingConcurrentHandler, Rotation,
};
use futures::io::AsyncWriteExt;

use crate::compression::{compressed_chain_of, read_lines};
use crate::fallback::record;
use crate::timed::names;
use crate::util::{TempLog, all_lines, check_records};

/// Writes `text` to `dir/name`, last modified `age` ago.
fn file_aged(dir: &Path, name: &str, text: &[u8], age: u64) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write");
    let file = fs::File::options().append(true).open(&path).expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(age))
        .expect("mtime");
    path
}

fn gzip(text: &str) -> Vec<u8> {
    futures::executor::block_on(async {
        let mut encoder = GzipEncoder::new(Vec::new());
        encoder.write_all(text.as_bytes()).await.expect("gzip");
        encoder.close().await.expect("gzip");
        encoder.into_inner()
    })
}

/// The state a crash leaves: `.1` (B1) and `.3` (B0), a gap where an
/// interrupted shift had already moved `.2` up, and two orphans, O1 older
/// than O2. Returns the lines in the order the chain must hold them,
/// oldest first.
fn crashed_chain(dir: &Path) -> Vec<&'static str> {
    file_aged(dir, "app.log.3", b"B0\n", 400);
    file_aged(dir, "app.log.1", b"B1\n", 300);
    file_aged(dir, "app.log.rotate.12345678", b"O1\n", 200);
    file_aged(dir, "app.log.rotate.87654321", b"O2\n", 100);
    file_aged(dir, "app.log", b"current\n", 0);
    vec!["B0", "B1", "O1", "O2", "current"]
}

#[test]
fn orphans_of_interrupted_rotations_are_put_into_the_chain_at_start_in_age_order() {
    let reports = crate::util::Reports::new();
    let log = TempLog::new();
    let expected = crashed_chain(log.dir.path());
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(reports.hook())
        .max_bytes(1 << 20)
        .backup_count(10)
        .build()
        .expect("build");
    drop(guard);
    assert_eq!(
        names(log.dir.path()),
        [
            "app.log",
            "app.log.1",
            "app.log.2",
            "app.log.3",
            "app.log.4"
        ]
    );
    assert_eq!(all_lines(&log.path), expected);
    assert_eq!(handler.stats().orphans_recovered, 2);
    reports.assert_each_contains("finished a rotation that a crash or a failed rename");
}

#[test]
fn orphans_of_a_compressed_log_end_up_compressed_python_gzip_leftovers_included() {
    let reports = crate::util::Reports::new();
    let log = TempLog::new();
    let dir = log.dir.path();
    let mut expected = crashed_chain(dir);
    // Python CLH gzips the rotated file before it moves it to `.1.gz`:
    // killed after the gzip, it leaves a complete `.rotate.<N>.gz`; killed
    // during it, a plain file beside a partial archive.
    file_aged(dir, "app.log.rotate.11111111.gz", &gzip("P1\n"), 50);
    file_aged(dir, "app.log.rotate.22222222", b"P2\n", 40);
    file_aged(dir, "app.log.rotate.22222222.gz", &gzip("P2\n")[..10], 40);
    expected.splice(4..4, ["P1", "P2"]);
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(reports.hook())
        .max_bytes(1 << 20)
        .backup_count(10)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    drop(guard);
    let lines: Vec<String> = compressed_chain_of(&log.path, ".gz")
        .iter()
        .flat_map(|f| read_lines(f))
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(handler.stats().orphans_recovered, 4);
    reports.assert_each_contains("finished a rotation that a crash or a failed rename");
}

#[test]
fn an_orphan_of_a_timed_log_is_named_after_the_period_of_its_last_line() {
    let reports = crate::util::Reports::new();
    let log = TempLog::new();
    let dir = log.dir.path();
    let orphan = file_aged(dir, "app.log.rotate.12345678", b"O1\n", 0);
    let at: jiff::Timestamp = "2026-11-23T10:15:00Z".parse().expect("time");
    fs::File::options()
        .append(true)
        .open(&orphan)
        .and_then(|f| f.set_modified(SystemTime::from(at)))
        .expect("mtime");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .rotate_every(Rotation::Hourly)
        .rotate_in_utc(true)
        .build()
        .expect("build");
    assert_eq!(names(dir), ["app.log", "app.log.2026-11-23_10"]);
    assert_eq!(
        fs::read_to_string(dir.join("app.log.2026-11-23_10")).expect("read"),
        "O1\n"
    );
    assert_eq!(handler.stats().orphans_recovered, 1);
    reports.assert_each_contains("finished a rotation that a crash or a failed rename");
}

/// Another process was killed mid-rotation while this one runs: its orphan
/// takes its place before this handler's next rotation.
#[test]
fn an_orphan_left_while_running_is_recovered_at_the_next_rotation() {
    let reports = crate::util::Reports::new();
    let log = TempLog::new();
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .max_bytes(1_000)
        .backup_count(10)
        .build()
        .expect("build");
    let mut seq = 0;
    while handler.stats().rotations == 0 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
    }
    // Killed after its rename: its file holds the lines it had.
    fs::rename(&log.path, log.dir.path().join("app.log.rotate.31415926")).expect("rename");
    while handler.stats().rotations == 1 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
    }
    assert_eq!(handler.stats().orphans_recovered, 1);
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer[&0], seq, "every record, once, in order");
    reports.assert_each_contains("finished a rotation that a crash or a failed rename");
}

/// A rotation whose last step fails (here `.1` is a directory that cannot
/// be removed) leaves its `.rotate.<N>` file; once the fault is gone the
/// next batch puts it into the chain, and every record is there once.
#[test]
fn a_rotation_that_failed_part_way_is_finished_once_the_fault_clears() {
    let reports = crate::util::Reports::new();
    let log = TempLog::new();
    let blocker = log.dir.path().join("app.log.1");
    fs::create_dir(&blocker).expect("mkdir");
    fs::write(blocker.join("keep"), "x").expect("write");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .max_bytes(1_000)
        .backup_count(1)
        .build()
        .expect("build");
    let mut seq = 0;
    while handler.stats().rotation_errors == 0 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
        assert!(seq < 1_000, "the rotation never failed");
    }
    // A few more, into the new log, short of the next rotation.
    for _ in 0..3 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
    }
    fs::remove_dir_all(&blocker).expect("the fault clears");
    handler.emit(record(0, seq)).expect("emit");
    seq += 1;
    let stats = handler.stats();
    assert_eq!(stats.orphans_recovered, 1, "{stats:?}");
    assert_eq!(names(log.dir.path()), ["app.log", "app.log.1"]);
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer[&0], seq, "every record, once, in order");
    // A failed rename or unlink, and the recovery after it: all about this log.
    assert!(!reports.messages().is_empty(), "the fault was reported");
    reports.assert_each_contains(&log.dir.path().display().to_string());
}

/// The lines of a compressed log as its backups hold them: for each `.N`,
/// its archive when there is one (a plain `.N` beside `.N.gz` is the same
/// backup, PROTOCOL.md §5), else the plain file; then leftovers of rotations
/// and the log. Oldest first.
fn lines_of_every_backup(log: &TempLog) -> Vec<String> {
    let dir = log.dir.path();
    let mut numbers: Vec<usize> = Vec::new();
    let mut orphans: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(rest) = name.strip_prefix("app.log.") else {
            continue;
        };
        if rest.starts_with("rotate.") {
            orphans.push(dir.join(&name));
        } else if let Ok(n) = rest.strip_suffix(".gz").unwrap_or(rest).parse() {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    let mut files: Vec<PathBuf> = numbers
        .iter()
        .rev()
        .map(|n| {
            let archive = dir.join(format!("app.log.{n}.gz"));
            if archive.exists() {
                archive
            } else {
                dir.join(format!("app.log.{n}"))
            }
        })
        .collect();
    files.extend(orphans);
    files.push(log.path.clone());
    files.iter().flat_map(|f| read_lines(f)).collect()
}

/// Sets or clears the immutable attribute (even root cannot remove such a
/// file); `false` where the filesystem or the machine does not allow it.
fn immutable(path: &Path, on: bool) -> bool {
    std::process::Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A compression whose publish was cut short leaves the plain `.1` beside
/// its archive `.1.gz`; here the plain file cannot be removed (immutable),
/// as when `unlink` fails. The next rotation must not move the archive on
/// and leave the plain copy behind as a second backup: no line is ever in
/// the backups twice, and once the fault clears everything is compressed,
/// once, in order.
#[test]
fn a_plain_copy_left_beside_its_archive_never_becomes_a_second_backup() {
    let reports = crate::util::Reports::new();
    use concurrent_log_handler::format::{Formatter, TextFormatter};
    let log = TempLog::new();
    let dir = log.dir.path();
    let lines = |writer: usize, seqs: std::ops::Range<usize>| {
        let mut text = Vec::new();
        for seq in seqs {
            TextFormatter::new().format(&record(writer, seq), &mut text);
        }
        String::from_utf8(text).expect("utf-8")
    };
    let older = lines(1, 0..5);
    let newer = lines(1, 5..10);
    file_aged(dir, "app.log.2.gz", &gzip(&older), 200);
    let plain = file_aged(dir, "app.log.1", newer.as_bytes(), 100);
    file_aged(dir, "app.log.1.gz", &gzip(&newer), 100);
    if !immutable(&plain, true) {
        eprintln!("SKIPPED: chattr +i is not possible here");
        return;
    }
    // Cleared however the test ends, or the temporary directory stays.
    struct Mutable<'a>(&'a Path);
    impl Drop for Mutable<'_> {
        fn drop(&mut self) {
            immutable(self.0, false);
        }
    }
    let _mutable = Mutable(&plain);
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .max_bytes(1_000)
        .backup_count(100)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    let mut seq = 0;
    let attempted = |h: &ConcurrentRotatingFileHandler| {
        let stats = h.stats();
        stats.rotations + stats.rotation_errors
    };
    while attempted(&handler) < 2 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
        assert!(seq < 1_000, "no rotation was attempted");
    }
    handler.wait_for_compression(Duration::from_secs(60));
    // While the plain copy cannot be removed: every line at most once.
    check_records(&lines_of_every_backup(&log), true);
    assert!(immutable(&plain, false), "chattr -i");
    let before = attempted(&handler);
    while attempted(&handler) < before + 2 {
        handler.emit(record(0, seq)).expect("emit");
        seq += 1;
    }
    assert!(handler.wait_for_compression(Duration::from_secs(60)));
    let files = compressed_chain_of(&log.path, ".gz");
    let all: Vec<String> = files.iter().flat_map(|f| read_lines(f)).collect();
    let found = check_records(&all, true);
    assert_eq!(found.per_writer[&1], 10, "the backups' lines, once");
    assert_eq!(found.per_writer[&0], seq, "every record, once");
    // A failed rename or unlink, and the recovery after it: all about this log.
    assert!(!reports.messages().is_empty(), "the fault was reported");
    reports.assert_each_contains(&log.dir.path().display().to_string());
}
