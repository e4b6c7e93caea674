//! Writers killed with SIGKILL mid-batch and mid-rotation, and fork() without
//! exec: the survivors and the next start see a consistent set of files.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};

use concurrent_log_handler::ConcurrentRotatingFileHandler;

use crate::util::{
    TempLog, all_lines, assert_complete, check_records, spawn_child, try_parse_record, wait_ok,
};

/// Every line of every file of the log, rotation leftovers included.
fn lines_including_leftovers(log: &TempLog) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in fs::read_dir(log.dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.starts_with("app.log") {
            lines.extend(
                fs::read_to_string(&path)
                    .expect("read")
                    .lines()
                    .map(str::to_owned),
            );
        }
    }
    lines
}

/// Kills a writer after `batches` batches, then checks what a reader sees:
/// every record of a batch that returned is there exactly once; at most one
/// line (the killed process's last) is torn; a new writer's lines are whole.
fn kill_a_writer(max_bytes: u64, batches: usize) {
    let log = TempLog::new();
    let mut child = spawn_child(
        "killed_writer",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", "0".to_owned()),
            ("CLH_MAX_BYTES", max_bytes.to_string()),
            ("CLH_BACKUPS", "100000".to_owned()),
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut last_done = 0;
    let mut done = 0;
    let mut line = String::new();
    while done < batches {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "child ended"
        );
        // Other lines are the test harness's own ("running 1 test").
        if let Some(seq) = line
            .trim()
            .strip_prefix("done ")
            .and_then(|n| n.parse().ok())
        {
            last_done = seq;
            done += 1;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    // The next start: a new writer appends after whatever the killed one left.
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(max_bytes)
        .backup_count(100_000)
        .build()
        .expect("build");
    handler.write_batch(b"after the crash\n").expect("write");

    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut torn = 0;
    let mut after = 0;
    for line in lines_including_leftovers(&log) {
        if line == "after the crash" {
            after += 1;
            continue;
        }
        match try_parse_record(&line) {
            Some((_, seq)) => *seen.entry(seq).or_default() += 1,
            None => torn += 1,
        }
    }
    assert_eq!(
        after, 1,
        "the new writer's line is whole and on its own line"
    );
    assert!(
        torn <= 1,
        "{torn} torn lines; only the killed writer's last may be"
    );
    for seq in 0..=last_done {
        assert_eq!(seen.get(&seq), Some(&1), "record {seq} of a finished batch");
    }
    assert!(seen.values().all(|&n| n == 1), "a record appears twice");
}

#[test]
fn a_writer_killed_mid_batch_loses_at_most_its_unfinished_batch() {
    kill_a_writer(0, 200);
}

#[test]
fn a_writer_killed_mid_rotation_leaves_every_finished_record_on_disk() {
    // A rotation every batch or two, with a long chain to shift: many kills
    // land inside a rotation.
    kill_a_writer(24 * 1024, 150);
}

#[test]
fn a_forked_child_reopens_the_lock_and_never_writes_beside_its_parent() {
    let log = TempLog::new();
    let per_writer = 3_000;
    let child = spawn_child(
        "fork",
        &[
            ("CLH_LOG", log.path.display().to_string()),
            ("CLH_WRITER", "0".to_owned()),
            ("CLH_COUNT", per_writer.to_string()),
            ("CLH_MAX_BYTES", "0".to_owned()),
            ("CLH_BACKUPS", "0".to_owned()),
        ],
    );
    wait_ok(child);
    let lines = all_lines(&log.path);
    let found = check_records(&lines, true);
    assert_complete(&found, 2, per_writer);
    // Each side stamps its own pid: the child does not reuse its parent's cached one.
    let pid_of = |writer: &str| {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!(" it: {writer} ")))
            .expect("a line");
        crate::util::parse_line(line).pid
    };
    assert_ne!(
        pid_of("w000"),
        pid_of("w001"),
        "the forked child logged its parent's pid"
    );
}
