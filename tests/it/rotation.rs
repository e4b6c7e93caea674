//! Size rotation on real files: boundaries, backup names and shifting, and
//! noticing files that others rotated or moved.

use std::fs;

use concurrent_log_handler::{ConcurrentRotatingFileHandler, ErrorKind, Level, Record};

use crate::fallback::record;
use crate::util::{TEST_TARGET, TempLog, all_lines, check_records, log_files, message};

fn handler(log: &TempLog, max_bytes: u64, backups: usize) -> ConcurrentRotatingFileHandler {
    ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .build()
        .expect("build")
}

fn emit(handler: &ConcurrentRotatingFileHandler, writer: usize, seq: usize) {
    let record = Record::new(Level::Info, message(writer, seq)).with_target(TEST_TARGET);
    handler.emit(record.clone()).expect("emit");
}

fn seqs(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .map(|l| {
            let at = l.find(" s").expect("seq");
            l[at + 2..at + 11].parse().expect("digits")
        })
        .collect()
}

#[test]
fn files_stay_within_max_bytes_and_backups_shift_oldest_out() {
    let log = TempLog::new();
    let h = handler(&log, 1_000, 3);
    for seq in 0..100 {
        emit(&h, 0, seq);
    }
    let files = log_files(&log.path);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["app.log.3", "app.log.2", "app.log.1", "app.log"]);
    let line_len = fs::read_to_string(&log.path)
        .expect("read")
        .lines()
        .next()
        .expect("line")
        .len()
        + 1;
    let per_file = 1_000 / line_len;
    for file in &files[..3] {
        let text = fs::read_to_string(file).expect("read");
        assert!(text.len() <= 1_000, "{} too big", file.display());
        assert_eq!(
            text.lines().count(),
            per_file,
            "{} not full",
            file.display()
        );
    }
    // What is kept is the newest records, in order, with nothing missing in between.
    let kept = seqs(&all_lines(&log.path));
    let first = 100 - kept.len();
    assert_eq!(kept, (first..100).collect::<Vec<_>>());
    assert!(first > 0, "the oldest records were rotated out");
}

#[test]
fn a_record_larger_than_max_bytes_goes_alone_into_a_fresh_file() {
    let log = TempLog::new();
    let h = handler(&log, 300, 10);
    h.write_batch(b"small one\n").expect("write");
    let big = format!("{}\n", "B".repeat(700));
    h.write_batch(big.as_bytes()).expect("write big");
    h.write_batch(b"small two\n").expect("write");
    let contents: Vec<String> = log_files(&log.path)
        .iter()
        .map(|f| fs::read_to_string(f).expect("read"))
        .collect();
    assert_eq!(contents, ["small one\n", big.as_str(), "small two\n"]);
}

#[test]
fn a_batch_straddling_rotations_is_split_only_between_lines() {
    let log = TempLog::new();
    let h = handler(&log, 1_000, 50);
    let mut batch = String::new();
    for seq in 0..60 {
        batch.push_str(&format!("line {seq:04} {}\n", "x".repeat(40)));
    }
    h.write_batch(batch.as_bytes()).expect("write");
    let files = log_files(&log.path);
    assert!(files.len() >= 4, "{} files", files.len());
    let mut joined = String::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read");
        assert!(text.len() <= 1_000 && text.ends_with('\n'));
        joined.push_str(&text);
    }
    assert_eq!(joined, batch);
}

#[test]
fn max_bytes_zero_never_rotates() {
    let log = TempLog::new();
    let h = handler(&log, 0, 0);
    for seq in 0..2_000 {
        emit(&h, 0, seq);
    }
    assert_eq!(log_files(&log.path), std::slice::from_ref(&log.path));
    assert_eq!(
        check_records(&all_lines(&log.path), true).per_writer[&0],
        2_000
    );
}

#[test]
fn a_missing_final_newline_is_added() {
    let log = TempLog::new();
    let h = handler(&log, 0, 1);
    h.write_batch(b"one\ntwo").expect("write");
    h.write_batch(b"three").expect("write");
    assert_eq!(
        fs::read_to_string(&log.path).expect("read"),
        "one\ntwo\nthree\n"
    );
}

#[test]
fn a_writer_notices_that_another_rotated_the_file() {
    let log = TempLog::new();
    let a = handler(&log, 500, 5);
    let b = handler(&log, 500, 5);
    b.write_batch(b"b first\n").expect("write");
    // `a` fills and rotates the file that `b` still has open.
    for seq in 0..10 {
        emit(&a, 0, seq);
    }
    b.write_batch(b"b second\n").expect("write");
    let current = fs::read_to_string(&log.path).expect("read");
    assert!(
        current.ends_with("b second\n"),
        "b wrote into a rotated file: {current:?}"
    );
    let backups: String = log_files(&log.path)[..log_files(&log.path).len() - 1]
        .iter()
        .map(|f| fs::read_to_string(f).expect("read"))
        .collect();
    assert!(!backups.contains("b second"));
    assert!(backups.contains("b first"));
}

#[test]
fn a_log_moved_away_by_logrotate_is_reopened_at_the_path() {
    let log = TempLog::new();
    let h = handler(&log, 0, 1);
    h.write_batch(b"before\n").expect("write");
    let moved = log.dir.path().join("app.log.old");
    fs::rename(&log.path, &moved).expect("mv");
    h.write_batch(b"after\n").expect("write");
    assert_eq!(fs::read_to_string(&moved).expect("read"), "before\n");
    assert_eq!(fs::read_to_string(&log.path).expect("read"), "after\n");
}

#[test]
fn lock_file_is_named_and_placed_like_python_clh() {
    let log = TempLog::new();
    let h = handler(&log, 0, 1);
    assert_eq!(h.lock_path(), log.dir.path().join(".__app.lock"));
    assert!(h.lock_path().exists());
    let locks = log.dir.path().join("locks");
    let h = ConcurrentRotatingFileHandler::builder(log.dir.path().join("svc.txt"))
        .lock_file_directory(&locks)
        .build()
        .expect("build");
    assert_eq!(h.lock_path(), locks.join(".__svc.txt.lock"));
    assert!(h.lock_path().exists());
}

#[test]
fn bad_configuration_and_paths_give_typed_errors_naming_the_path() {
    let log = TempLog::new();
    let err = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(10)
        .backup_count(0)
        .build()
        .expect_err("backup_count 0 with rotation");
    assert!(err.kind() == ErrorKind::InvalidConfig, "{err}");

    let missing = log.dir.path().join("no/such/dir/app.log");
    let err = ConcurrentRotatingFileHandler::builder(&missing)
        .create_dirs(false)
        .build()
        .expect_err("missing dir");
    assert!(
        matches!(err.kind(), ErrorKind::OpenLockFile | ErrorKind::OpenLog),
        "{err}"
    );
    assert!(err.to_string().contains("no/such/dir"), "{err}");

    // A directory where the log should be: refused even for root.
    let dir_as_log = log.dir.path().join("taken.log");
    fs::create_dir(&dir_as_log).expect("mkdir");
    let err = ConcurrentRotatingFileHandler::builder(&dir_as_log)
        .build()
        .expect_err("is a dir");
    assert!(err.kind() == ErrorKind::OpenLog, "{err}");
    assert_eq!(err.path(), Some(dir_as_log.as_path()));

    // A file where the directory should be.
    let file_as_dir = log.dir.path().join("plain");
    fs::write(&file_as_dir, "x").expect("write");
    let err = ConcurrentRotatingFileHandler::builder(file_as_dir.join("app.log"))
        .build()
        .expect_err("parent is a file");
    assert!(err.kind() == ErrorKind::CreateDir, "{err}");
}

#[test]
fn a_write_failure_is_reported_and_writing_resumes_when_the_path_is_fixed() {
    let log = TempLog::new();
    let reports = crate::util::Reports::new();
    let h = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .build()
        .expect("build");
    h.write_batch(b"one\n").expect("write");
    // Replace the log with a directory: the stale check reopens the path and fails.
    let aside = log.dir.path().join("aside.log");
    fs::rename(&log.path, &aside).expect("mv");
    fs::create_dir(&log.path).expect("mkdir");
    let err = h.write_batch(b"two\n").expect_err("path is a directory");
    assert!(err.kind() == ErrorKind::OpenLog, "{err}");
    fs::remove_dir(&log.path).expect("rmdir");
    h.write_batch(b"three\n").expect("write after fix");
    assert_eq!(fs::read_to_string(&log.path).expect("read"), "three\n");
    assert_eq!(reports.messages(), [err.to_string()]);
}

/// `rotate_now` on each handler: what was written before is in `app.log.1`
/// (Python CLH's name), what comes after in a fresh `app.log`; an empty log
/// is not rotated.
#[test]
fn rotate_now_moves_the_log_to_the_first_backup_on_every_handler() {
    use concurrent_log_handler::{AsyncConcurrentHandler, NonBlockingConcurrentHandler};
    let check = |log: &TempLog| {
        let backup = std::fs::read_to_string(log.dir.path().join("app.log.1")).expect("backup");
        let current = std::fs::read_to_string(&log.path).expect("log");
        assert!(
            backup.contains("s000000000") && !backup.contains("s000000001"),
            "{backup}"
        );
        assert!(
            current.contains("s000000001") && !current.contains("s000000000"),
            "{current}"
        );
        assert!(
            !log.dir.path().join("app.log.2").exists(),
            "the empty log was not rotated"
        );
    };
    let log = TempLog::new();
    let blocking = ConcurrentRotatingFileHandler::builder(&log.path)
        .build()
        .expect("build");
    blocking.emit(record(0, 0)).expect("emit");
    blocking.rotate_now().expect("rotate");
    blocking.rotate_now().expect("nothing to rotate");
    blocking.emit(record(0, 1)).expect("emit");
    assert_eq!(blocking.stats().rotations, 1);
    check(&log);

    let log = TempLog::new();
    let (thread, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build");
    thread.emit(record(0, 0));
    thread.rotate_now().expect("rotate");
    thread.rotate_now().expect("nothing to rotate");
    thread.emit(record(0, 1));
    drop(guard);
    check(&log);

    let log = TempLog::new();
    crate::util::current_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        handler.emit(record(0, 0));
        handler.rotate_now().await.expect("rotate");
        handler.emit(record(0, 1));
        handler.shutdown().await.expect("shutdown");
        assert!(handler.rotate_now().await.unwrap_err().is_closed());
    });
    check(&log);
}

/// Four processes that start at once with `rotate_on_open`: each rotates
/// what it finds (never an empty log), under the lock; every record, the
/// earlier run's included, is in exactly one file and the chain has no gap.
#[test]
fn rotate_on_open_across_processes_loses_nothing_and_leaves_no_gap() {
    let log = TempLog::new();
    let earlier = ConcurrentRotatingFileHandler::builder(&log.path)
        .build()
        .expect("build");
    for seq in 0..50 {
        earlier.emit(record(9, seq)).expect("emit");
    }
    drop(earlier);
    let children: Vec<_> = (0..4)
        .map(|w| {
            crate::util::spawn_child(
                "rotate_on_open",
                &[
                    ("CLH_LOG", log.path.display().to_string()),
                    ("CLH_WRITER", w.to_string()),
                    ("CLH_COUNT", "200".to_owned()),
                    ("CLH_MAX_BYTES", "0".to_owned()),
                    ("CLH_BACKUPS", "100".to_owned()),
                ],
            )
        })
        .collect();
    for child in children {
        crate::util::wait_ok(child);
    }
    let found = check_records(&all_lines(&log.path), true);
    assert_eq!(found.per_writer[&9], 50, "the earlier run's records");
    for w in 0..4 {
        assert_eq!(found.per_writer[&w], 200, "writer {w}");
    }
    assert!(log.dir.path().join("app.log.1").exists());
}
