//! Shared helpers: a temp dir with a log path, a child-process launcher, and a
//! checker for no loss, no torn lines and no duplicates.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A temporary directory holding `app.log`; removed on drop.
pub struct TempLog {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempLog {
    pub fn new() -> TempLog {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("app.log");
        TempLog { dir, path }
    }
}

/// The log and its numbered backups, oldest first (`.N` … `.1`, then the log).
/// Panics on leftovers of a rotation (`*.rotate.*`) and on gaps in the numbers.
pub fn log_files(log: &Path) -> Vec<PathBuf> {
    let dir = log.parent().expect("parent");
    let base = log
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut numbered = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(rest) = name.strip_prefix(&format!("{base}.")) else {
            continue;
        };
        assert!(!rest.starts_with("rotate."), "rotation leftover {name}");
        if let Ok(n) = rest.parse::<usize>() {
            numbered.push(n);
        }
    }
    numbered.sort_unstable();
    for (i, n) in numbered.iter().enumerate() {
        assert_eq!(*n, i + 1, "gap in backups: {numbered:?}");
    }
    let mut files: Vec<PathBuf> = numbered
        .iter()
        .rev()
        .map(|n| dir.join(format!("{base}.{n}")))
        .collect();
    if log.exists() {
        files.push(log.to_path_buf());
    }
    files
}

/// Every line of the log and its backups, oldest first.
pub fn all_lines(log: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for file in log_files(log) {
        let bytes = fs::read(&file).expect("read log");
        let text = String::from_utf8(bytes).expect("log is UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends mid-line",
            file.display()
        );
        lines.extend(text.lines().map(str::to_owned));
    }
    lines
}

/// The last two words of every line in `log`'s files (a test message such
/// as `app::db debug`), sorted: what a filter let through, whatever the
/// order the writer wrote it in.
pub fn sorted_messages(log: &Path) -> Vec<String> {
    let mut got: Vec<String> = all_lines(log)
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words[words.len() - 2..].join(" ")
        })
        .collect();
    got.sort();
    got
}

/// One parsed text-format line: `<ts> <LEVEL> <pid> [<target>: ]<message>`.
#[derive(Debug)]
pub struct Line {
    pub level: String,
    pub pid: u32,
    pub rest: String,
}

pub fn parse_line(line: &str) -> Line {
    let mut parts = line.splitn(4, ' ');
    let ts = parts.next().expect("timestamp");
    assert!(
        ts.len() >= 24 && ts.as_bytes()[10] == b'T',
        "bad timestamp in {line:?}"
    );
    let level = parts.next().expect("level").to_owned();
    let pid = parts
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad pid in {line:?}"));
    let rest = parts.next().expect("message").to_owned();
    Line { level, pid, rest }
}

/// The message body of test record `seq` of writer `writer`, ~100 bytes with
/// its line: the filler lets the checker see a torn or interleaved line.
pub fn message(writer: usize, seq: usize) -> String {
    format!("w{writer:03} s{seq:09} {}", FILLER)
}

const FILLER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
pub const TEST_TARGET: &str = "it";

/// Whether a line is the handler's own report of dropped records.
pub fn is_drop_report(line: &str) -> bool {
    line.contains(" concurrent_log_handler: log records were dropped")
}

/// What [`check_records`] found.
#[derive(Debug, Default)]
pub struct Found {
    /// Records per writer.
    pub per_writer: HashMap<usize, usize>,
    /// Drop-report lines, and the total of their `dropped=` counts.
    pub drop_reports: usize,
    pub dropped_reported: u64,
}

/// Checks every line is whole, no test record appears twice, and (if
/// `ordered`) each writer's records appear in increasing order. Returns what
/// was found so that callers can compare counts.
pub fn check_records(lines: &[String], ordered: bool) -> Found {
    let mut found = Found::default();
    let mut last_seq: HashMap<usize, i64> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut pid_of: HashMap<usize, u32> = HashMap::new();
    for line in lines {
        if is_drop_report(line) {
            found.drop_reports += 1;
            let count = line
                .split(' ')
                .find_map(|f| f.strip_prefix("dropped="))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no count in {line:?}"));
            found.dropped_reported += count;
            continue;
        }
        let parsed = parse_line(line);
        let body = parsed
            .rest
            .strip_prefix(&format!("{TEST_TARGET}: "))
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let (writer, seq, filler) =
            parse_body(body).unwrap_or_else(|| panic!("torn line {line:?}"));
        assert_eq!(filler, FILLER, "torn line {line:?}");
        assert_eq!(parsed.level, "INFO", "{line:?}");
        let pid = *pid_of.entry(writer).or_insert(parsed.pid);
        assert_eq!(
            parsed.pid, pid,
            "writer {writer} from two processes: {line:?}"
        );
        assert!(seen.insert((writer, seq)), "duplicate record {line:?}");
        if ordered {
            let last = last_seq.entry(writer).or_insert(-1);
            assert!(
                seq as i64 > *last,
                "writer {writer} out of order at {line:?}"
            );
            *last = seq as i64;
        }
        *found.per_writer.entry(writer).or_default() += 1;
    }
    found
}

/// `(writer, seq)` of a whole test-record line, `None` for anything else
/// (a torn line, a drop report, a foreign line).
pub fn try_parse_record(line: &str) -> Option<(usize, usize)> {
    let mut parts = line.splitn(4, ' ');
    let _ts = parts.next()?;
    let _level = parts.next()?;
    parts.next()?.parse::<u32>().ok()?;
    let body = parts.next()?.strip_prefix(&format!("{TEST_TARGET}: "))?;
    let (writer, seq, filler) = parse_body(body)?;
    (filler == FILLER).then_some((writer, seq))
}

fn parse_body(body: &str) -> Option<(usize, usize, &str)> {
    let mut parts = body.splitn(3, ' ');
    let writer = parts.next()?.strip_prefix('w')?.parse().ok()?;
    let seq = parts.next()?.strip_prefix('s')?.parse().ok()?;
    Some((writer, seq, parts.next()?))
}

/// Asserts that writers `0..writers` each wrote exactly `per_writer` records.
pub fn assert_complete(found: &Found, writers: usize, per_writer: usize) {
    for w in 0..writers {
        assert_eq!(
            found.per_writer.get(&w).copied().unwrap_or(0),
            per_writer,
            "writer {w}: records missing"
        );
    }
    assert_eq!(
        found.per_writer.len(),
        writers,
        "records of unknown writers"
    );
}

/// The arguments that make this test binary run `child::entry` alone.
pub const CHILD_ARGS: [&str; 5] = [
    "--ignored",
    "--exact",
    "child::entry",
    "--nocapture",
    "--test-threads=1",
];

/// Starts this test binary again as a child process running `child::entry`
/// with `role` and the given settings in its environment.
pub fn spawn_child(role: &str, env: &[(&str, String)]) -> Child {
    child_command(role, env)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// [`spawn_child`] with the child's stderr captured too.
pub fn spawn_child_capturing_stderr(role: &str, env: &[(&str, String)]) -> Child {
    child_command(role, env)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// The command [`spawn_child`] runs, for callers that set up its output
/// themselves (stdout piped, stderr inherited).
pub fn child_command(role: &str, env: &[(&str, String)]) -> Command {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args(CHILD_ARGS)
        .env("CLH_CHILD_ROLE", role)
        .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for a child and asserts it succeeded.
pub fn wait_ok(child: Child) {
    let out = child.wait_with_output().expect("wait child");
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A current-thread tokio runtime with time and I/O enabled.
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A two-worker tokio runtime with time and I/O enabled.
pub fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The errors a handler reported through its `on_error` hook, kept for the
/// test that provoked them to assert (rather than printed on stderr).
#[derive(Debug, Clone, Default)]
pub struct Reports(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Reports {
    pub fn new() -> Reports {
        Reports::default()
    }

    /// The hook to give the builder's `on_error`.
    pub fn hook(&self) -> impl Fn(&concurrent_log_handler::Error) + Send + Sync + 'static {
        let reports = std::sync::Arc::clone(&self.0);
        move |error| {
            reports
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(error.to_string())
        }
    }

    /// The reports so far, as their messages.
    pub fn messages(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Asserts that there was a report, and that every report contains
    /// `text`.
    pub fn assert_each_contains(&self, text: &str) {
        let messages = self.messages();
        assert!(!messages.is_empty(), "no report containing {text:?}");
        for message in &messages {
            assert!(message.contains(text), "{message:?} lacks {text:?}");
        }
    }
}
