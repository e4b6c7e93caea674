//! Python CLH and this crate writing one log at the same time.
//!
//! The Python side is `concurrent-log-handler` 0.9.31 (PROTOCOL.md §9) in
//! a venv under `target/` that `.ci/run` creates; the test creates it itself
//! when missing. It is skipped, with a message, only when Python 3 is absent,
//! and never in CI (`CI` set).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::compression::read_lines;
use crate::util::{TempLog, spawn_child, wait_ok};

/// The Python CLH version the interop tests run against.
const CLH_VERSION: &str = "0.9.31";
const FILLER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// One venv for all tests of this binary.
static VENV: Mutex<()> = Mutex::new(());

/// The venv's python with CLH installed, or `None` (with a message) when
/// Python 3 is not on this machine. Panics in CI, where it must run.
fn clh_python() -> Option<PathBuf> {
    let _once = VENV
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clh-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(format!(".clh-{CLH_VERSION}"));
    if ready.exists() {
        return Some(python);
    }
    let has_python = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_python {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required in CI"
        );
        eprintln!("SKIPPED: python3 not found; the Python CLH interop test did not run");
        return None;
    }
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("run setup command");
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("concurrent-log-handler=={CLH_VERSION}"),
    ]));
    fs::write(&ready, CLH_VERSION).expect("mark venv");
    Some(python)
}

fn python_writer(
    python: &Path,
    log: &Path,
    writer: usize,
    count: usize,
    max_bytes: u64,
    backups: usize,
    gzip: bool,
) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/clh_writer.py");
    Command::new(python)
        .arg(script)
        .arg(log)
        .args([
            writer.to_string(),
            count.to_string(),
            max_bytes.to_string(),
            backups.to_string(),
            if gzip { "1" } else { "0" }.to_owned(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python writer")
}

/// `(writer, seq)` of a line in either side's format, checking that the line
/// is whole: Rust's `<ts> INFO <pid> it: wNNN sNNNNNNNNN <filler>` or Python's
/// `<date> <time>,<ms> <pid> INFO wNNN sNNNNNNNNN <filler>`.
fn parse_either(line: &str) -> (usize, usize) {
    let parts: Vec<&str> = line.split(' ').collect();
    let body = match parts.as_slice() {
        [ts, "INFO", pid, "it:", w, s, filler]
            if ts.contains('T') && pid.parse::<u32>().is_ok() =>
        {
            (*w, *s, *filler)
        }
        [date, time, pid, "INFO", w, s, filler]
            if date.len() == 10 && time.len() == 12 && pid.parse::<u32>().is_ok() =>
        {
            (*w, *s, *filler)
        }
        _ => panic!("torn or foreign line: {line:?}"),
    };
    let (w, s, filler) = body;
    assert_eq!(filler, FILLER, "torn line: {line:?}");
    let writer = w.strip_prefix('w').and_then(|n| n.parse().ok());
    let seq = s.strip_prefix('s').and_then(|n| n.parse().ok());
    match (writer, seq) {
        (Some(writer), Some(seq)) => (writer, seq),
        _ => panic!("torn line: {line:?}"),
    }
}

/// Every file of the log, in any order, decompressed; asserts that no rotation
/// leftover, temporary file or gap in the numbered backups remains.
fn all_files(log: &TempLog, ext: &str) -> Vec<PathBuf> {
    let mut numbers = Vec::new();
    let mut files = vec![log.path.clone()];
    for entry in fs::read_dir(log.dir.path()).expect("read dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name == "app.log" || name.starts_with(".__") {
            continue;
        }
        let rest = name
            .strip_prefix("app.log.")
            .unwrap_or_else(|| panic!("stray file {name}"));
        let digits = rest.strip_suffix(ext).unwrap_or(rest);
        let n: usize = digits.parse().unwrap_or_else(|_| panic!("leftover {name}"));
        numbers.push(n);
        files.push(log.dir.path().join(&name));
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=numbers.len()).collect::<Vec<_>>(),
        "gap in backups"
    );
    files
}

fn python_and_rust_share_a_log(gzip: bool) {
    let Some(python) = clh_python() else {
        return;
    };
    let log = TempLog::new();
    let max_bytes: u64 = 100 * 1024;
    let backups = 500;
    let (py_count, rust_count) = (8_000, 20_000);
    // Writers 0-1 are Python, 10-11 Rust; all start together.
    let py: Vec<Child> = (0..2)
        .map(|w| python_writer(&python, &log.path, w, py_count, max_bytes, backups, gzip))
        .collect();
    let rust: Vec<Child> = [10, 11]
        .iter()
        .map(|w| {
            spawn_child(
                if gzip { "paced_gzip" } else { "paced" },
                &[
                    ("CLH_LOG", log.path.display().to_string()),
                    ("CLH_WRITER", w.to_string()),
                    ("CLH_COUNT", rust_count.to_string()),
                    ("CLH_MAX_BYTES", max_bytes.to_string()),
                    ("CLH_BACKUPS", backups.to_string()),
                ],
            )
        })
        .collect();
    for child in py.into_iter().chain(rust) {
        wait_ok(child);
    }
    let mut seen = std::collections::HashMap::new();
    let files = all_files(&log, if gzip { ".gz" } else { "" });
    assert!(
        files.len() > 30,
        "expected many rotations, got {}",
        files.len()
    );
    let mut shared_files = 0;
    for file in &files {
        let mut sides = (false, false);
        for line in read_lines(file) {
            let (writer, seq) = parse_either(&line);
            *seen.entry((writer, seq)).or_insert(0) += 1;
            if writer < 10 {
                sides.0 = true
            } else {
                sides.1 = true
            }
        }
        shared_files += usize::from(sides.0 && sides.1);
    }
    // The sides really ran at once: many files hold lines of both, so each
    // kept writing correctly after the other rotated.
    assert!(
        shared_files >= 5,
        "only {shared_files} files hold lines of both sides"
    );
    for (writer, count) in [
        (0, py_count),
        (1, py_count),
        (10, rust_count),
        (11, rust_count),
    ] {
        for seq in 0..count {
            assert_eq!(
                seen.get(&(writer, seq)),
                Some(&1),
                "writer {writer} record {seq}"
            );
        }
    }
    assert_eq!(
        seen.len(),
        2 * py_count + 2 * rust_count,
        "records of unknown writers"
    );
}

#[test]
fn python_clh_and_rust_processes_share_one_rotating_log() {
    python_and_rust_share_a_log(false);
}

#[test]
fn python_clh_and_rust_processes_share_one_gzip_rotating_log() {
    python_and_rust_share_a_log(true);
}
