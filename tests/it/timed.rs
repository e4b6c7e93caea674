//! Time rotation (alone and with size), with a clock the test controls, and
//! retention by count and age.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concurrent_log_handler::{Clock, ConcurrentRotatingFileHandler, Rotation};

use crate::fallback::record;
use crate::util::{TempLog, check_records, spawn_child, wait_ok};

/// A clock the test moves by hand, shared with the handler.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starting at an RFC 3339 UTC time.
    pub fn at(rfc3339: &str) -> ManualClock {
        let clock = ManualClock(Arc::new(AtomicI64::new(0)));
        clock.set(rfc3339);
        clock
    }

    pub fn set(&self, rfc3339: &str) {
        let ts: jiff::Timestamp = rfc3339.parse().expect("timestamp");
        self.0.store(ts.as_second(), Ordering::SeqCst);
    }

    pub fn secs(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.secs() as u64)
    }
}

/// The names in the log's directory that start with `app.log`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("app.log"))
        .collect();
    names.sort();
    names
}

fn lines_of(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn emit(handler: &ConcurrentRotatingFileHandler, seq: usize) {
    handler.emit(record(0, seq)).expect("emit");
}

#[test]
fn hourly_rotation_names_each_backup_after_its_hour() {
    let log = TempLog::new();
    let clock = ManualClock::at("2026-11-23T10:15:00Z");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .rotate_every(Rotation::Hourly)
        .rotate_in_utc(true)
        .clock(clock.clone())
        .build()
        .expect("build");
    for seq in 0..3 {
        emit(&handler, seq);
    }
    // The next rollover is shared through the lock file, as Python CLH does.
    let lock = fs::read_to_string(log.dir.path().join(".__app.lock")).expect("lock file");
    assert_eq!(lock, "1795431600", "11:00Z as epoch seconds");

    clock.set("2026-11-23T11:05:00Z");
    emit(&handler, 3);
    clock.set("2026-11-23T13:30:00Z"); // no record at all in hour 12
    emit(&handler, 4);
    assert_eq!(
        names(log.dir.path()),
        ["app.log", "app.log.2026-11-23_10", "app.log.2026-11-23_11"]
    );
    let first = lines_of(&log.dir.path().join("app.log.2026-11-23_10"));
    assert_eq!(check_records(&first, true).per_writer[&0], 3);
    let second = lines_of(&log.dir.path().join("app.log.2026-11-23_11"));
    assert!(second[0].contains("s000000003"));
    assert!(lines_of(&log.path)[0].contains("s000000004"));
    assert_eq!(handler.stats().rotations, 2);
}

#[test]
fn size_and_time_together_whichever_comes_first() {
    let log = TempLog::new();
    let clock = ManualClock::at("2026-11-23T10:00:00Z");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(600)
        .rotate_every(Rotation::Hourly)
        .rotate_in_utc(true)
        .backup_count(0) // with time rotation: keep every backup
        .clock(clock.clone())
        .build()
        .expect("build");
    for seq in 0..20 {
        emit(&handler, seq);
    }
    clock.set("2026-11-23T11:00:00Z");
    for seq in 20..25 {
        emit(&handler, seq);
    }
    let names = names(log.dir.path());
    // Size rollovers within hour 10 get counters, as Python CLH names them.
    assert!(
        names.contains(&"app.log.2026-11-23_10".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"app.log.2026-11-23_10.1".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("_11")),
        "hour 11 is still current: {names:?}"
    );
    let mut all = Vec::new();
    let mut timed: Vec<&String> = names.iter().filter(|n| *n != "app.log").collect();
    // Oldest first: the bare name, then .1, .2, … (numeric order).
    timed.sort_by_key(|n| {
        n.rsplit_once("_10.")
            .map_or(0, |(_, k)| k.parse::<u32>().expect("counter") + 1)
    });
    for name in timed {
        let path = log.dir.path().join(name);
        assert!(fs::metadata(&path).expect("meta").len() <= 600);
        all.extend(lines_of(&path));
    }
    all.extend(lines_of(&log.path));
    let found = check_records(&all, true);
    assert_eq!(found.per_writer[&0], 25);
}

#[test]
fn an_empty_log_is_not_rotated_when_its_period_ends() {
    let log = TempLog::new();
    let clock = ManualClock::at("2026-11-23T10:00:00Z");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .rotate_every(Rotation::Minutely)
        .rotate_in_utc(true)
        .clock(clock.clone())
        .build()
        .expect("build");
    emit(&handler, 0);
    clock.set("2026-11-23T10:01:30Z");
    emit(&handler, 1);
    clock.set("2026-11-23T10:05:00Z");
    emit(&handler, 2);
    assert_eq!(
        names(log.dir.path()),
        [
            "app.log",
            "app.log.2026-11-23_10-00",
            "app.log.2026-11-23_10-01"
        ]
    );
}

#[test]
fn timed_retention_keeps_backup_count_and_drops_what_is_too_old() {
    let log = TempLog::new();
    let clock = ManualClock::at("2026-11-20T12:00:00Z");
    let build = |count: usize, max_age: Option<Duration>| {
        let mut builder = ConcurrentRotatingFileHandler::builder(&log.path)
            .rotate_every(Rotation::Daily)
            .rotate_in_utc(true)
            .backup_count(count)
            .clock(clock.clone());
        if let Some(age) = max_age {
            builder = builder.max_age(age);
        }
        builder.build().expect("build")
    };
    let handler = build(2, None);
    for (seq, day) in ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]
        .iter()
        .enumerate()
    {
        emit(&handler, seq);
        clock.set(&format!("{day}T12:00:00Z"));
    }
    emit(&handler, 4);
    // Files that are not this log's backups are never touched.
    for other in ["app.log.bak", "app.log.2026-13-45", "other.log.2026-11-20"] {
        fs::write(log.dir.path().join(other), "keep me\n").expect("write");
    }
    emit(&handler, 5);
    let mut kept = names(log.dir.path());
    kept.retain(|n| n.starts_with("app.log.2026-11"));
    assert_eq!(
        kept,
        ["app.log.2026-11-22", "app.log.2026-11-23"],
        "two newest kept"
    );

    // Age: backups last written more than 36 h before "now" go, at start-up.
    drop(handler);
    let now = clock.now();
    for (name, hours_ago) in [("app.log.2026-11-22", 48), ("app.log.2026-11-23", 24)] {
        let file = fs::File::options()
            .append(true)
            .open(log.dir.path().join(name))
            .expect("open");
        file.set_modified(now - Duration::from_secs(hours_ago * 3600))
            .expect("mtime");
    }
    let _handler = build(0, Some(Duration::from_secs(36 * 3600)));
    let mut kept = names(log.dir.path());
    kept.retain(|n| n.starts_with("app.log.2026-11"));
    assert_eq!(kept, ["app.log.2026-11-23"]);
    for other in ["app.log.bak", "app.log.2026-13-45"] {
        assert!(log.dir.path().join(other).exists(), "{other} was deleted");
    }
    assert!(log.dir.path().join("other.log.2026-11-20").exists());
}

#[test]
fn chain_retention_by_age_and_beyond_backup_count_at_start() {
    let log = TempLog::new();
    for n in 1..=7 {
        fs::write(
            log.dir.path().join(format!("app.log.{n}")),
            format!("backup {n}\n"),
        )
        .expect("write");
    }
    fs::write(log.dir.path().join("app.log.old"), "not a backup\n").expect("write");
    let clock = ManualClock::at("2026-11-23T12:00:00Z");
    let now = clock.now();
    for n in 1..=7 {
        let file = fs::File::options()
            .append(true)
            .open(log.dir.path().join(format!("app.log.{n}")))
            .expect("open");
        file.set_modified(now - Duration::from_secs(n * 3600))
            .expect("mtime");
    }
    // backup_count 5 trims .6 and .7; max_age 3.5 h removes .4 and .5 as well.
    let _handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(1 << 20)
        .backup_count(5)
        .max_age(Duration::from_secs(3 * 3600 + 1800))
        .clock(clock)
        .build()
        .expect("build");
    assert_eq!(
        names(log.dir.path()),
        [
            "app.log",
            "app.log.1",
            "app.log.2",
            "app.log.3",
            "app.log.old"
        ]
    );
}

#[test]
fn processes_rotating_by_time_at_once_make_one_backup_per_period() {
    let log = TempLog::new();
    let per_writer = 2_000;
    let children: Vec<_> = (0..3)
        .map(|writer| {
            spawn_child(
                "timed",
                &[
                    ("CLH_LOG", log.path.display().to_string()),
                    ("CLH_WRITER", writer.to_string()),
                    ("CLH_COUNT", per_writer.to_string()),
                    ("CLH_MAX_BYTES", "0".to_owned()),
                    ("CLH_BACKUPS", "0".to_owned()),
                ],
            )
        })
        .collect();
    for child in children {
        wait_ok(child);
    }
    let names = names(log.dir.path());
    let backups: Vec<&String> = names.iter().filter(|n| *n != "app.log").collect();
    assert!(backups.len() >= 2, "expected several periods: {names:?}");
    for name in &backups {
        let label = name.strip_prefix("app.log.").expect("prefix");
        // `YYYY-MM-DD_HH-MM-SS` and nothing more: a `.1` would mean a second
        // rollover claimed a period that was already rolled.
        assert_eq!(
            label.len(),
            19,
            "{name}: two rollovers for one period? {names:?}"
        );
    }
    let mut all = Vec::new();
    for name in &names {
        all.extend(lines_of(&log.dir.path().join(name)));
    }
    let found = check_records(&all, false);
    crate::util::assert_complete(&found, 3, per_writer);
}

/// Fresh backups `.1` … `.3` beside names that only look like backups: a
/// foreign `app.log.01` with an old time and a dangling symlink `app.log.4`.
/// Neither is a reason to delete the fresh chain, and neither is touched.
#[test]
fn age_retention_ignores_foreign_names_and_files_it_cannot_examine() {
    let log = TempLog::new();
    let dir = log.dir.path();
    let clock = ManualClock::at("2026-11-23T12:00:00Z");
    let now = clock.now();
    for n in 1..=3 {
        let path = dir.join(format!("app.log.{n}"));
        fs::write(&path, format!("backup {n}\n")).expect("write");
        let file = fs::File::options().append(true).open(&path).expect("open");
        file.set_modified(now - Duration::from_secs(60))
            .expect("mtime");
    }
    let foreign = dir.join("app.log.01");
    fs::write(&foreign, "someone else's file\n").expect("write");
    let file = fs::File::options()
        .append(true)
        .open(&foreign)
        .expect("open");
    file.set_modified(now - Duration::from_secs(30 * 86_400))
        .expect("mtime");
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("app.log.4")).expect("symlink");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(1 << 20)
        .backup_count(10)
        .max_age(Duration::from_secs(86_400))
        .clock(clock)
        .build()
        .expect("build");
    handler.emit(record(0, 0)).expect("emit");
    assert_eq!(
        names(dir),
        [
            "app.log",
            "app.log.01",
            "app.log.1",
            "app.log.2",
            "app.log.3",
            "app.log.4"
        ]
    );
}

/// A directory that carries a backup's name above `backup_count` is not a
/// backup: the handler builds, and the directory stays.
#[test]
fn a_directory_named_like_a_backup_does_not_stop_the_build() {
    let log = TempLog::new();
    let dir = log.dir.path();
    fs::create_dir(dir.join("app.log.9")).expect("mkdir");
    fs::write(dir.join("app.log.9").join("keep"), "x").expect("write");
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(1 << 20)
        .backup_count(3)
        .build()
        .expect("a directory among the backups does not stop the build");
    handler.emit(record(0, 0)).expect("emit");
    assert!(dir.join("app.log.9").join("keep").exists());
}

/// A log whose file name is not UTF-8 (the byte 0xFF) beside a foreign file
/// whose name differs only in that byte (0xAB): both would read as U+FFFD
/// through a lossy conversion. Age retention removes the log's own old
/// backup and never the foreign file, however old.
#[test]
fn retention_compares_names_as_bytes_and_never_deletes_a_foreign_file() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let log = TempLog::new();
    let dir = log.dir.path();
    let clock = ManualClock::at("2026-11-23T12:00:00Z");
    let now = clock.now();
    let aged = |name: &[u8], age: u64| {
        let path = dir.join(OsStr::from_bytes(name));
        fs::write(&path, "a line\n").expect("write");
        let file = fs::File::options().append(true).open(&path).expect("open");
        file.set_modified(now - Duration::from_secs(age))
            .expect("mtime");
        path
    };
    let own_fresh = aged(b"\xff.2026-11-23_11-59-00", 60);
    let own_old = aged(b"\xff.2026-11-20_11-59-00", 3 * 86_400);
    let foreign = aged(b"\xab.1969-12-31_23-59-07", 30 * 86_400);
    let foreign_chain = aged(b"\xab.7", 30 * 86_400);
    let handler = ConcurrentRotatingFileHandler::builder(dir.join(OsStr::from_bytes(b"\xff")))
        .rotate_every(Rotation::Every(Duration::from_secs(10)))
        .rotate_in_utc(true)
        .backup_count(0)
        .max_age(Duration::from_secs(86_400))
        .clock(clock)
        .build()
        .expect("build");
    handler.emit(record(0, 0)).expect("emit");
    assert!(foreign.exists(), "a foreign file was deleted");
    assert!(foreign_chain.exists(), "a foreign file was deleted");
    assert!(own_fresh.exists(), "a fresh backup was deleted");
    assert!(!own_old.exists(), "the log's own old backup was kept");
}
