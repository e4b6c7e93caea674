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

/// Writers killed again and again, most of them inside a rotation (a 16 KiB
/// batch into a log that rotates at 24 KiB, two writers at a time): the next
/// start leaves no `.rotate.*` file, the chain has no gap, and every record of
/// a batch whose call returned is there exactly once.
#[test]
fn writers_killed_80_times_mid_rotation_leave_no_orphan_after_the_next_start() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::{Duration, Instant};

    let seed = crate::fiu::seed();
    eprintln!("kill chaos: seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let log = TempLog::new();
    let max_bytes = 24 * 1024;
    // What the writers report on stderr: recoveries of rotations their
    // killed predecessors cut short, and nothing else.
    let stderr_lines: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let spawn = |writer: usize| {
        let mut child = crate::util::spawn_child_capturing_stderr(
            "killed_writer",
            &[
                ("CLH_LOG", log.path.display().to_string()),
                ("CLH_WRITER", writer.to_string()),
                ("CLH_COUNT", "0".to_owned()),
                ("CLH_MAX_BYTES", max_bytes.to_string()),
                ("CLH_BACKUPS", "100000".to_owned()),
            ],
        );
        let last_done = Arc::new(AtomicI64::new(-1));
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let seen = Arc::clone(&last_done);
        let lines = Arc::clone(&stderr_lines);
        let reader = std::thread::spawn(move || {
            let errors = std::thread::spawn(move || {
                for line in stderr.lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            });
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(seq) = line
                    .trim()
                    .strip_prefix("done ")
                    .and_then(|n| n.parse().ok())
                {
                    seen.store(seq, Ordering::SeqCst);
                }
            }
            errors.join().expect("stderr reader");
        });
        (writer, child, last_done, reader)
    };
    let mut live = vec![spawn(0), spawn(1)];
    let mut next_writer = 2;
    let mut confirmed: HashMap<usize, i64> = HashMap::new();
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    while kills < 80 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(rng.u64(100..300)));
        let victim = rng.usize(..live.len());
        let (writer, mut child, last_done, reader) = live.swap_remove(victim);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        confirmed.insert(writer, last_done.load(Ordering::SeqCst));
        kills += 1;
        live.push(spawn(next_writer));
        next_writer += 1;
    }
    for (writer, mut child, last_done, reader) in live {
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        confirmed.insert(writer, last_done.load(Ordering::SeqCst));
        kills += 1;
    }
    let orphans_left = fs::read_dir(log.dir.path())
        .expect("read dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains(".rotate."))
        })
        .count();

    let path = format!("{:?}", log.path.display().to_string());
    for line in stderr_lines.lock().expect("lines").iter() {
        assert!(
            line.contains("finished a rotation that a crash") && line.contains(&path),
            "a writer reported {line:?}"
        );
    }

    // The next start.
    let reports = crate::util::Reports::new();
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .max_bytes(max_bytes)
        .backup_count(100_000)
        .on_error(reports.hook())
        .build()
        .expect("build");
    handler.write_batch(b"after the crash\n").expect("write");
    assert_eq!(
        handler.stats().orphans_recovered as usize,
        orphans_left,
        "each orphan the kills left is recovered at start"
    );
    if orphans_left > 0 {
        reports.assert_each_contains("finished a rotation that a crash");
    }

    // `all_lines` fails on any `.rotate.*` file, a gap, a file ending mid-line.
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut torn = 0;
    let mut records = 0;
    for line in all_lines(&log.path) {
        if line == "after the crash" {
            continue;
        }
        match try_parse_record(&line) {
            Some(record) => {
                *seen.entry(record).or_default() += 1;
                records += 1;
            }
            None => torn += 1,
        }
    }
    assert!(torn <= kills, "{torn} torn lines after {kills} kills");
    assert!(
        seen.values().all(|&n| n == 1),
        "a record appears twice after the kills"
    );
    let mut checked = 0;
    for (&writer, &last) in &confirmed {
        for seq in 0..=last {
            assert_eq!(
                seen.get(&(writer, seq as usize)),
                Some(&1),
                "record {seq} of writer {writer}, whose batch returned"
            );
            checked += 1;
        }
    }
    eprintln!(
        "kill chaos: {kills} kills, {orphans_left} orphans left and recovered at start, \
         {records} records on disk, {checked} confirmed records checked, {torn} torn lines"
    );
}
