//! The handler's own reports of the errors no caller receives: to the
//! handler's hook when it has one, else once per error on stderr (or
//! through `tracing`), never twice, and with a count of the reports held
//! back only when there are some.

use std::fs;
use std::sync::{Arc, Mutex};

use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};

use crate::util::{TempLog, spawn_child_capturing_stderr};

/// The lines a child of `role` (see `child::errors_reported`) wrote on
/// stderr that report an error of the handler.
fn reports_of(role: &str) -> Vec<String> {
    let log = TempLog::new();
    let path = log.dir.path().join("logs").join("app.log");
    let child = spawn_child_capturing_stderr(role, &[("CLH_LOG", path.display().to_string())]);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{role}: {}\n{stderr}", out.status);
    stderr
        .lines()
        .filter(|line| line.contains("does not exist"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_hook_receives_the_errors_and_nothing_reaches_stderr() {
    let log = TempLog::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::clone(&seen);
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(move |err| errors.lock().expect("lock").push(err.clone()))
        .build()
        .expect("build");
    fs::remove_file(&log.path).expect("rm");
    fs::create_dir(&log.path).expect("mkdir");
    handler.emit(Record::new(
        Level::Info,
        "kept while the path is a directory",
    ));
    let err = handler.flush().expect_err("the path is a directory");
    let seen_now: Vec<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(seen_now, [err.to_string()], "the error, reported once");
    fs::remove_dir(&log.path).expect("rmdir");
    handler
        .flush()
        .expect("written once the path is a file again");
    drop(guard);
    assert_eq!(
        fs::read_to_string(&log.path).expect("read").lines().count(),
        1
    );
}

/// The crate's layer writes into the file, a `fmt` layer on stderr: each
/// report is one line, not one in `fmt`'s format and one in the crate's.
#[test]
fn with_the_crates_layer_and_a_stderr_fmt_layer_each_error_is_reported_once() {
    let reports = reports_of("errors_layer_and_fmt");
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0].starts_with("concurrent_log_handler: cannot open "),
        "{reports:#?}"
    );
}

/// Without `tracing`: one line per report, the count of those held back
/// only on a report that follows some.
#[test]
fn a_report_on_stderr_counts_the_errors_held_back_only_when_there_are_some() {
    let reports = reports_of("errors_no_tracing");
    assert!(reports.len() >= 2, "{reports:#?}");
    assert!(!reports[0].contains("held back"), "{reports:#?}");
    let (_, count) = reports[1]
        .rsplit_once(" (")
        .unwrap_or_else(|| panic!("no count in {reports:#?}"));
    let held_back: u64 = count
        .strip_suffix(" more errors held back since the last report)")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {reports:#?}"));
    assert!(
        held_back >= 4,
        "five errors in the first second: {reports:#?}"
    );
}

/// An event of the crate's own target that reaches `fmt` writing into a
/// handler (a report the handler cannot take) goes on stderr, once.
#[test]
fn a_report_event_reaching_the_crates_fmt_writer_goes_on_stderr_not_into_the_log() {
    let log = TempLog::new();
    let child = spawn_child_capturing_stderr(
        "self_target_fmt",
        &[("CLH_LOG", log.path.display().to_string())],
    );
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    let shown: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("log write failed"))
        .collect();
    assert_eq!(shown.len(), 1, "{stderr}");
    assert!(
        shown[0].contains("ERROR concurrent_log_handler: log write failed"),
        "{stderr}"
    );
    let text = fs::read_to_string(&log.path).expect("read");
    assert!(
        text.contains("logged") && !text.contains("log write failed"),
        "{text}"
    );
}
