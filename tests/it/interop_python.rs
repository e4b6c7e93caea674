//! Python CLH and this crate writing one log at the same time.
//!
//! The Python side is `concurrent-log-handler` 0.9.31 (PROTOCOL.md §9) in
//! a venv under `target/` that `.ci/run` creates; the test creates it itself
//! when missing, from PyPI. Without Python 3 or without PyPI the tests are
//! skipped, with one note, except in CI (`CI` set), where they must run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::compression::read_lines;
use crate::util::{TempLog, spawn_child, wait_ok};

/// The Python CLH version the interop tests run against.
const CLH_VERSION: &str = "0.9.31";
const FILLER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// The venv's python with CLH installed, or `None` when Python 3 or PyPI
/// is out of reach: then the first caller prints why, once for all tests
/// of this binary. Panics instead in CI, where the tests must run.
fn clh_python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = std::env::var_os("CLH_TEST_VENV").map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/clh-venv"),
                PathBuf::from,
            );
            match set_up_venv(&venv) {
                Ok(python) => Some(python),
                Err(why) => {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "the Python interop tests must run in CI: {why}"
                    );
                    // Past the test harness's capture, so that the note
                    // shows in a plain `cargo test`.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIPPED: the Python CLH interop tests: {why}"
                    );
                    None
                }
            }
        })
        .clone()
}

/// Creates `venv` with Python CLH in it, unless that was done before;
/// returns its python, or why it cannot.
fn set_up_venv(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    let ready = venv.join(format!(".clh-{CLH_VERSION}"));
    if ready.exists() {
        return Ok(python);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        Err(format!("{cmd:?} failed ({}): {}", out.status, last.trim()))
    };
    run(Command::new("python3").arg("--version"))
        .map_err(|e| format!("python3 is not available ({e})"))?;
    run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("concurrent-log-handler=={CLH_VERSION}"),
    ]))
    .map_err(|e| format!("cannot install it from PyPI ({e})"))?;
    fs::write(&ready, CLH_VERSION).map_err(|e| format!("{}: {e}", ready.display()))?;
    Ok(python)
}

/// Without PyPI (here: pip told to use no index), the interop setup says
/// why in one note and lets the tests skip, unless `CI` is set.
#[test]
fn without_pypi_the_interop_tests_skip_with_one_note_except_in_ci() {
    let venvs = tempfile::tempdir().expect("temp dir");
    for ci in [false, true] {
        let mut command = crate::util::child_command("python_setup", &[]);
        command
            .env("CLH_LOG", venvs.path().join("unused.log"))
            .env("CLH_TEST_VENV", venvs.path().join(format!("venv-{ci}")))
            .env("PIP_NO_INDEX", "1")
            .stderr(Stdio::piped());
        if ci {
            command.env("CI", "true");
        } else {
            command.env_remove("CI");
        }
        let out = command.output().expect("run the child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("SKIPPED")).collect();
        if ci {
            assert!(!out.status.success(), "CI: the setup must fail\n{stderr}");
            assert!(notes.is_empty(), "{stderr}");
            assert!(
                stderr.contains("the Python interop tests must run in CI"),
                "{stderr}"
            );
        } else {
            assert!(out.status.success(), "{}\n{stderr}", out.status);
            assert_eq!(notes.len(), 1, "{stderr}");
            assert!(notes[0].contains("cannot install it from PyPI"), "{stderr}");
        }
    }
}

/// In the child: asks for the venv twice, as two tests would.
pub fn setup_child() {
    assert!(clh_python().is_none(), "no PyPI, no venv");
    assert!(clh_python().is_none());
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
