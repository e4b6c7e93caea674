//! The errors a person meets in a first hour with the crate, each case's
//! whole message asserted: what `main` prints when it returns the error
//! (`Debug`, which is `Display`). The cases that need permissions root
//! ignores run in a child process as `nobody` (through `setpriv`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use concurrent_log_handler::{ConcurrentRotatingFileHandler, Error, ErrorKind};

use crate::util::TempLog;

/// What `fn main() -> Result<(), Box<dyn Error>>` prints of `err`.
fn as_main_prints(err: Error) -> String {
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    format!("{boxed:?}")
}

fn build_error(path: &Path, create_dirs: bool) -> Error {
    ConcurrentRotatingFileHandler::builder(path)
        .create_dirs(create_dirs)
        .build()
        .expect_err("the build fails")
}

#[test]
fn each_first_hour_error_says_what_failed_where_why_and_what_to_do() {
    let log = TempLog::new();
    let dir = log.dir.path();
    let plain = dir.join("plain");
    fs::write(&plain, "a file, not a directory\n").expect("write");
    let missing = dir.join("missing");

    #[allow(unused_mut)] // extended only with the `config` feature
    let mut cases: Vec<(&str, Error, String)> = vec![
        (
            "a directory that does not exist, with create_dirs(false)",
            build_error(&missing.join("app.log"), false),
            format!(
                "cannot open log file {:?}: directory {missing:?} does not exist (create it; \
                 create_dirs(true), the default, creates it only when the handler is built)",
                missing.join("app.log")
            ),
        ),
        (
            "a file where the log's directory must be",
            build_error(&plain.join("app.log"), true),
            format!(
                "cannot create directory {plain:?}: a file stands where the directory must be \
                 (log elsewhere, or move that file if it does not belong there)"
            ),
        ),
        (
            "a file deeper up the log's path",
            build_error(&plain.join("logs/app.log"), true),
            format!(
                "cannot create directory {:?}: a file stands where a directory must be, at \
                 {plain:?} (log elsewhere, or move that file if it does not belong there)",
                plain.join("logs")
            ),
        ),
        (
            "an empty log path",
            build_error(Path::new(""), true),
            "invalid configuration: log path \"\" does not name a file (give one such as \
             \"logs/app.log\")"
                .to_owned(),
        ),
    ];
    #[cfg(feature = "config")]
    cases.extend(config_cases(dir));

    for (case, err, want) in cases {
        assert_eq!(as_main_prints(err), want, "{case}");
    }
}

/// A config file with Python's names and two slips, in TOML and JSON.
#[cfg(feature = "config")]
fn config_cases(dir: &Path) -> Vec<(&'static str, Error, String)> {
    use concurrent_log_handler::config::HandlerConfig;
    let toml = dir.join("log.toml");
    fs::write(
        &toml,
        "filename = \"app.log\"\nmaxBytes = 1048576\nbackupcount = 3\n",
    )
    .expect("write");
    let json = dir.join("log.json");
    fs::write(
        &json,
        "{\"filename\": \"app.log\", \"backupCount\": 3, \"maxbytes\": 1048576}",
    )
    .expect("write");
    let unreadable = dir.join("absent.toml");
    vec![
        (
            "a misspelt option in a TOML file of Python names",
            HandlerConfig::from_file(&toml).expect_err("refused"),
            format!(
                "invalid configuration in {toml:?}: TOML parse error at line 3, column 1\n  \
                 |\n3 | backupcount = 3\n  | ^^^^^^^^^^^\nunknown field `backupcount` \
                 (did you mean `backupCount`?)"
            ),
        ),
        (
            "a misspelt option in a JSON file of Python names",
            HandlerConfig::from_file(&json).expect_err("refused"),
            format!(
                "invalid configuration in {json:?}: JSON parse error at line 1, column 52: \
                 unknown field `maxbytes` (did you mean `maxBytes`?)"
            ),
        ),
        (
            "a config file that is not there",
            HandlerConfig::from_file(&unreadable).expect_err("refused"),
            format!(
                "cannot read config file {unreadable:?}: No such file or directory (os error 2)"
            ),
        ),
    ]
}

/// The cases of permissions, as an unprivileged user: a read-only log,
/// and a directory the lock file cannot be created in.
#[test]
fn permission_errors_blame_the_file_or_the_directory_that_refuses() {
    let log = TempLog::new();
    let dir = log.dir.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    // A log only its owner (root here, or this user) may write, in a
    // directory everyone may write, and a directory nobody but its owner may.
    let writable = dir.join("shared");
    fs::create_dir(&writable).expect("mkdir");
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).expect("chmod");
    let read_only = writable.join("app.log");
    fs::write(&read_only, "").expect("write");
    fs::set_permissions(&read_only, fs::Permissions::from_mode(0o444)).expect("chmod");
    let closed = dir.join("closed");
    fs::create_dir(&closed).expect("mkdir");
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o555)).expect("chmod");

    let lines = match unprivileged(&[
        ("CLH_LOG", read_only.display().to_string()),
        ("CLH_LOG_2", closed.join("app.log").display().to_string()),
    ]) {
        Some(lines) => lines,
        None => return,
    };
    let lock = writable.join(".__app.lock");
    assert_eq!(
        lines,
        [
            format!(
                "cannot open log file {read_only:?}: Permission denied (os error 13) (the \
                 file's permissions do not let this user write it: change them (chmod, \
                 chown), or log elsewhere)"
            ),
            format!(
                "cannot open lock file {:?}: Permission denied (os error 13) (directory \
                 {closed:?} does not let this user create files in it: make it writable, or \
                 put the lock file elsewhere with lock_file_directory)",
                closed.join(".__app.lock")
            ),
        ]
    );
    assert!(
        lock.exists(),
        "the lock file was made beside the read-only log"
    );
}

/// Runs [`unprivileged_child`] as `nobody` when this process is root (and
/// as this user otherwise, who is unprivileged already), and returns the
/// lines it printed; `None`, with a note, when root lacks `setpriv`.
fn unprivileged(env: &[(&str, String)]) -> Option<Vec<String>> {
    let exe = std::env::current_exe().expect("current exe");
    // SAFETY: geteuid has no preconditions and only reads the process's id.
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut command = if is_root {
        let has_setpriv = Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_setpriv {
            assert!(
                std::env::var_os("CI").is_none(),
                "setpriv (util-linux) is required in CI"
            );
            eprintln!("SKIPPED: root needs setpriv to test permission errors as another user");
            return None;
        }
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(exe);
        command
    } else {
        Command::new(exe)
    };
    command
        .args(crate::util::CHILD_ARGS)
        .env("CLH_CHILD_ROLE", "open_errors");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("run the child");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        stdout
            .lines()
            // The harness prints its "test child::entry ... " before the
            // first line.
            .filter_map(|line| line.split_once("error: "))
            .map(|(_, error)| error.to_owned())
            .collect(),
    )
}

/// In the child: builds a handler on `log` and on `CLH_LOG_2`, and prints
/// each build's error.
pub fn unprivileged_child(log: &Path) {
    let second: std::path::PathBuf = std::env::var_os("CLH_LOG_2").expect("CLH_LOG_2").into();
    for path in [log, &second] {
        let err = build_error(path, true);
        assert!(
            matches!(err.kind(), ErrorKind::OpenLog | ErrorKind::OpenLockFile),
            "{err}"
        );
        println!("error: {err}");
    }
}
