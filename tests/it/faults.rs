//! Faults production brings: a lock file deleted or replaced, a vanished
//! directory, a full disk, a file size limit, a read-only filesystem, external
//! rotation, planted symlinks. Each asserts a typed error, a writer that
//! survives, resumption once the fault clears, and counters that add up.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use concurrent_log_handler::{
    AsyncConcurrentHandler, ConcurrentRotatingFileHandler, ErrorKind, Stats,
};

use crate::fallback::{LockHolder, record};
use crate::util::{
    Reports, TempLog, all_lines, assert_complete, check_records, spawn_child_capturing_stderr,
};

fn handler(path: &Path) -> ConcurrentRotatingFileHandler {
    ConcurrentRotatingFileHandler::builder(path)
        .build()
        .expect("build")
}

fn text(path: &Path) -> String {
    fs::read_to_string(path).expect("read")
}

fn assert_accounted(stats: &Stats) {
    assert_eq!(
        stats.written + stats.dropped + stats.failed,
        stats.emitted,
        "every record is written, dropped or failed: {stats:?}"
    );
}

/// Runs `replace` on the lock file, then checks that a handler that had it
/// open follows the path: it waits for whoever holds the lock on the new file.
fn writers_follow_the_lock_path(replace: impl FnOnce(&Path)) {
    let log = TempLog::new();
    let lock_path = log.dir.path().join(".__app.lock");
    let a = handler(&log.path);
    let b = handler(&log.path);
    a.write_batch(b"a1\n").expect("write");
    b.write_batch(b"b1\n").expect("write");
    replace(&lock_path);
    a.write_batch(b"a2\n")
        .expect("write after the lock file changed");
    assert!(lock_path.exists(), "the lock file is back");
    // Another process now locks the file at the path; `b`, still holding the
    // old descriptor, must wait for it rather than write beside it.
    let holder = LockHolder::hold(&lock_path);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| b.write_batch(b"b2\n").expect("write"));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !text(&log.path).contains("b2"),
            "b wrote while another held the lock"
        );
        holder.release();
        writer.join().expect("writer");
    });
    assert_eq!(text(&log.path), "a1\nb1\na2\nb2\n");
}

#[test]
fn a_deleted_lock_file_is_recreated_and_every_writer_follows_it() {
    writers_follow_the_lock_path(|lock| fs::remove_file(lock).expect("rm lock"));
}

#[test]
fn a_replaced_lock_file_is_followed() {
    writers_follow_the_lock_path(|lock| {
        let other = lock.with_file_name("replacement");
        fs::write(&other, "").expect("write");
        fs::rename(&other, lock).expect("replace lock");
    });
}

#[test]
fn a_symlink_planted_at_the_lock_path_is_not_followed() {
    let log = TempLog::new();
    let victim = log.dir.path().join("victim.txt");
    fs::write(&victim, "precious").expect("write");
    std::os::unix::fs::symlink(&victim, log.dir.path().join(".__app.lock")).expect("symlink");
    let err = ConcurrentRotatingFileHandler::builder(&log.path)
        .build()
        .expect_err("refused");
    assert!(err.kind() == ErrorKind::OpenLockFile, "{err}");
    assert_eq!(
        err.io_error().and_then(|e| e.raw_os_error()),
        Some(libc::ELOOP)
    );
    assert_eq!(text(&victim), "precious");
}

#[test]
fn files_are_created_with_the_configured_mode() {
    let log = TempLog::new();
    let h = ConcurrentRotatingFileHandler::builder(&log.path)
        .file_mode(0o600)
        .build()
        .expect("build");
    h.write_batch(b"x\n").expect("write");
    for path in [log.path.clone(), h.lock_path()] {
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn copytruncate_is_noticed_and_writing_goes_on_at_the_start() {
    let log = TempLog::new();
    let h = handler(&log.path);
    h.write_batch(b"one\n").expect("write");
    fs::copy(&log.path, log.dir.path().join("app.log.old")).expect("copy");
    fs::File::options()
        .write(true)
        .open(&log.path)
        .and_then(|f| f.set_len(0))
        .expect("truncate");
    h.write_batch(b"two\n").expect("write");
    assert_eq!(text(&log.path), "two\n", "no hole, no old data");
}

#[test]
fn a_torn_last_line_left_by_a_killed_writer_is_ended_before_ours() {
    let log = TempLog::new();
    let h = handler(&log.path);
    h.write_batch(b"first\n").expect("write");
    // What a writer killed in the middle of its write() may leave behind.
    let mut f = fs::File::options()
        .append(true)
        .open(&log.path)
        .expect("open");
    std::io::Write::write_all(&mut f, b"half a li").expect("write");
    h.write_batch(b"second\n").expect("write");
    assert_eq!(text(&log.path), "first\nhalf a li\nsecond\n");
}

#[test]
fn a_vanished_log_directory_fails_typed_and_recovers_when_it_is_back() {
    let log = TempLog::new();
    let dir = log.dir.path().join("logs");
    let path = dir.join("app.log");
    let reports = Reports::new();
    let runtime = crate::util::multi_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&path)
            .on_error(reports.hook())
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("write");
        fs::remove_dir_all(&dir).expect("rm -r");
        handler.emit(record(0, 1)); // kept and retried
        let err = handler
            .emit_wait(record(0, 2))
            .await
            .expect_err("no directory");
        // The lock file went with the directory; it is reopened (and fails) first.
        assert!(err.kind() == ErrorKind::OpenLockFile, "{err}");
        assert_eq!(err.path(), Some(dir.join(".__app.lock").as_path()));
        assert_eq!(
            err.io_error().map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
        fs::create_dir(&dir).expect("mkdir");
        handler.emit_wait(record(0, 3)).await.expect("recovered");
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_accounted(&stats);
        assert_eq!(
            (stats.written, stats.failed),
            (3, 1),
            "records 0, 1 and 3: {stats:?}"
        );
        let t = text(&path);
        assert!(t.contains("s000000001") && t.contains("s000000003") && !t.contains("s000000002"));
        assert!(
            dir.join(".__app.lock").exists(),
            "the lock file was recreated"
        );
    });
    reports.assert_each_contains(&format!("directory {dir:?} does not exist"));
}

/// Runs the `fsize` child: RLIMIT_FSIZE makes writes fail with EFBIG, then
/// the limit is lifted and writing resumes (see `child::fsize_writer`).
#[test]
fn a_file_size_limit_fails_typed_loses_no_accepted_line_and_resumes() {
    let log = TempLog::new();
    let child = spawn_child_capturing_stderr(
        "fsize",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", "2000".to_owned()),
            ("CLH_MAX_BYTES", "0".to_owned()),
            ("CLH_BACKUPS", "1".to_owned()),
        ],
    );
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    let written: u64 = stdout
        .lines()
        // libtest prints "test child::entry ... " on the same line.
        .find_map(|l| l.split_once("written=").map(|(_, n)| n))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no stats in {stdout}"));
    // Every line whole, and exactly the records counted as written.
    let found = check_records(&all_lines(&log.path), false);
    assert_eq!(found.per_writer[&0] as u64, written);
    // The fire-and-forget records' failures, reported on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!(
        "concurrent_log_handler: cannot write log file {:?}: File too large (os error 27)",
        log.path
    );
    assert!(
        stderr.lines().any(|line| line.starts_with(&report)),
        "{stderr}"
    );
}

/// A small tmpfs mounted for one test; unmounted on drop. `None` where this
/// machine does not allow mounting (not root, no CAP_SYS_ADMIN).
struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    fn mount(dir: &Path, size: &str) -> Option<SmallFs> {
        fs::create_dir_all(dir).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here; the full-disk check did not run");
            return None;
        }
        Some(SmallFs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_fails_typed_without_torn_lines_and_resumes_when_space_is_freed() {
    let log = TempLog::new();
    let Some(small) = SmallFs::mount(&log.dir.path().join("small"), "256k") else {
        return;
    };
    let path = small.dir.join("app.log");
    let filler = small.dir.join("filler");
    fs::write(&filler, vec![b'x'; 160 * 1024]).expect("filler");
    let reports = Reports::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&path)
            .on_error(reports.hook())
            .build()
            .expect("build");
        let mut seq = 0;
        let err = loop {
            match handler.emit_wait(record(0, seq)).await {
                Ok(()) => seq += 1,
                Err(e) => break e,
            }
            assert!(seq < 10_000, "the disk never filled");
        };
        assert!(err.kind() == ErrorKind::Write, "{err}");
        assert_eq!(
            err.io_error().and_then(|e| e.raw_os_error()),
            Some(libc::ENOSPC)
        );
        handler.emit(record(0, seq + 1)); // kept for the retry
        fs::remove_file(&filler).expect("free space");
        handler
            .emit_wait(record(0, seq + 2))
            .await
            .expect("resumed");
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_accounted(&stats);
        assert_eq!(
            stats.failed, 1,
            "only the record whose caller got the error: {stats:?}"
        );
        let lines = fs::read_to_string(&path).expect("read");
        let lines: Vec<String> = lines.lines().map(str::to_owned).collect();
        assert_eq!(
            check_records(&lines, false).per_writer[&0] as u64,
            stats.written
        );
    });
    reports.assert_each_contains("No space left on device (os error 28)");
}

/// The lock file lives on a full filesystem (`lock_file_directory`): a timed
/// log cannot store its next rollover time there, so its batches fail with a
/// typed error naming the lock file, nothing is written half, and writing
/// resumes by itself once space is freed.
#[test]
fn a_lock_file_on_a_full_disk_fails_typed_and_resumes_when_space_is_freed() {
    use std::io::Write;
    let log = TempLog::new();
    let Some(small) = SmallFs::mount(&log.dir.path().join("locks"), "64k") else {
        return;
    };
    let filler = small.dir.join("filler");
    let mut file = fs::File::create(&filler).expect("filler");
    while file.write_all(&[b'x'; 4096]).is_ok() {}
    drop(file);
    let runtime = crate::util::current_thread();
    let reports = crate::util::Reports::new();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .lock_file_directory(&small.dir)
            .rotate_every(concurrent_log_handler::Rotation::Hourly)
            .on_error(reports.hook())
            .build()
            .expect("build");
        let err = handler
            .emit_wait(record(0, 0))
            .await
            .expect_err("the rollover time cannot be stored");
        assert!(err.kind() == ErrorKind::Write, "{err}");
        assert_eq!(err.path(), Some(small.dir.join(".__app.lock").as_path()));
        assert_eq!(
            err.io_error().and_then(|e| e.raw_os_error()),
            Some(libc::ENOSPC)
        );
        handler.emit(record(0, 1)); // kept for the retry
        fs::remove_file(&filler).expect("free space");
        handler.emit_wait(record(0, 2)).await.expect("resumed");
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_accounted(&stats);
        assert_eq!((stats.written, stats.failed), (2, 1), "{stats:?}");
        let found = check_records(&all_lines(&log.path), true);
        assert_eq!(found.per_writer[&0], 2);
    });
    reports.assert_each_contains("No space left on device");
}

/// The directory turns read-only under a writer running as `nobody` (root
/// ignores permissions, so the child drops them with `setpriv`): rotations
/// fail with a typed EACCES error, every line still lands in the unrotated
/// file, and rotation resumes once the directory is writable again.
#[test]
fn a_read_only_directory_stops_rotation_not_logging_and_recovers() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::chown;
    let has_setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // SAFETY: geteuid has no preconditions and only reads the process's id.
    let is_root = unsafe { libc::geteuid() } == 0;
    if !(has_setpriv && is_root) {
        eprintln!("SKIPPED: needs root and setpriv to run a writer as an unprivileged user");
        return;
    }
    let log = TempLog::new();
    let dir = log.dir.path().join("perm");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(log.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    chown(&dir, Some(65534), Some(65534)).expect("chown");
    let path = dir.join("app.log");
    let exe = std::env::current_exe().expect("exe");
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(exe)
        .args([
            "--ignored",
            "--exact",
            "child::entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLH_CHILD_ROLE", "perm")
        .env("CLH_LOG", &path)
        .env("CLH_WRITER", "0")
        .env("CLH_COUNT", "300")
        .env("CLH_MAX_BYTES", "0")
        .env("CLH_BACKUPS", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut phases = Vec::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("read") > 0 {
        if line.contains("phase 1?") {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).expect("chmod ro");
            writeln!(stdin, "go").expect("stdin");
        } else if line.contains("phase 2?") {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod rw");
            writeln!(stdin, "go").expect("stdin");
        } else if let Some(at) = line.find("phase ") {
            phases.push(line[at..].trim().to_owned());
        }
        line.clear();
    }
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).expect("read");
    assert!(
        child.wait().expect("wait").success(),
        "child failed: {phases:?}\n{stderr}"
    );
    // The failed rotations, reported on stderr (at most once a second).
    let report = format!("concurrent_log_handler: cannot rotate {path:?} to ");
    let reports: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&report)).collect();
    assert!(!reports.is_empty(), "{stderr}");
    assert!(
        reports.iter().all(|l| l
            .contains(": Permission denied (os error 13) (the lines were written all the same)")),
        "{stderr}"
    );
    let field = |phase: usize, name: &str| -> u64 {
        phases[phase]
            .split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {phases:?}"))
    };
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert_eq!(field(2, "written"), 300, "no line lost: {phases:?}");
    assert_eq!(field(0, "rotation_errors"), 0);
    assert!(
        field(1, "rotation_errors") > 0,
        "rotation failed while read-only: {phases:?}"
    );
    assert_eq!(field(1, "rotations"), field(0, "rotations"), "{phases:?}");
    assert!(
        field(2, "rotations") > field(1, "rotations"),
        "rotation resumed: {phases:?}"
    );
    let mut lines = Vec::new();
    for entry in fs::read_dir(&dir).expect("read dir") {
        let p = entry.expect("entry").path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("app.log"))
        {
            lines.extend(
                fs::read_to_string(&p)
                    .expect("read")
                    .lines()
                    .map(str::to_owned),
            );
        }
    }
    assert_complete(&check_records(&lines, false), 1, 300);
}
