//! Injected I/O faults (libfiu, see `fiu`) in real writer processes, several
//! on one rotating log: failing and short `write`s, `fdatasync`, `rename`,
//! `unlink`, `open` and `ftruncate`, by size and by time, plain and gzip.
//!
//! While the faults are on and after they stop: every record whose blocking
//! `emit` or `emit_wait` returned `Ok` is in the backups or the log exactly
//! once; a record whose caller got a write error is not there (one whose
//! caller got a sync error is, once); no line is torn or duplicated; each
//! writer's records are in the order it emitted them; each process's
//! `Stats::written` equals its records on disk; every handler recovers by
//! itself once the faults stop (its later records all succeed, `stop`
//! returns `Ok`); and nothing is left outside the backups (no
//! `.rotate.*`, no temporary file, with gzip no plain backup).
//!
//! Each run prints its seed; `CLH_FIU_SEED=<seed>` repeats its fault
//! decisions (thread timing aside).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use concurrent_log_handler::{
    Compression, ConcurrentRotatingFileHandler, ErrorKind, NonBlockingConcurrentHandler, Rotation,
};

use crate::compression::read_lines;
use crate::fallback::record;
use crate::fiu::{self, Faults, POINTS};
use crate::util::{TempLog, check_records};

// ---- Children -------------------------------------------------------------

fn env<T: std::str::FromStr>(name: &str) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("child needs {name}"))
}

/// Checks that each fault point fails the call of Rust's std it stands for,
/// and that turning the points off restores them.
pub fn probe_child(dir: PathBuf) {
    use std::io::Write;
    let faults = Faults::load(1).expect("libfiu is not preloaded");
    let path = dir.join("probe");
    let mut file = fs::File::create(&path).expect("create");
    let only = |point: usize| {
        let mut p = [0.0; POINTS.len()];
        p[point] = 1.0;
        faults.enable(&p);
    };
    only(0);
    let write = file.write(b"x");
    only(1);
    let short = file.write(&[b'y'; 4096]);
    only(2);
    let sync = file.sync_data();
    only(3);
    let rename = fs::rename(&path, dir.join("renamed"));
    only(4);
    let unlink = fs::remove_file(&path);
    only(5);
    let open = fs::File::open(&path);
    only(6);
    let truncate = file.set_len(0);
    faults.disable_all();
    let injected = Faults::injected();
    assert!(write.is_err(), "write: {write:?}");
    assert!(
        short.as_ref().is_ok_and(|&n| n < 4096),
        "short write: {short:?}"
    );
    assert!(sync.is_err(), "fdatasync: {sync:?}");
    assert!(rename.is_err(), "rename: {rename:?}");
    assert!(unlink.is_err(), "unlink: {unlink:?}");
    assert!(open.is_err(), "open: {open:?}");
    assert!(truncate.is_err(), "ftruncate: {truncate:?}");
    file.write_all(b"ok\n").expect("write after the faults");
    file.set_len(0).expect("ftruncate after the faults");
    fs::remove_file(&path).expect("unlink after the faults");
    assert!(injected.iter().all(|&n| n >= 1), "{injected:?}");
    println!("probe ok injected={injected:?}");
}

/// A `durable` thread handler whose `fdatasync` fails once, for a record
/// whose caller waits: the caller is told, and `stop` later is `Ok`. Then a
/// fire-and-forget record whose sync fails: the next `flush` answers for it,
/// once, and the `stop` after that is `Ok` again.
pub fn sync_once_child(log: PathBuf) {
    let faults = Faults::load(1).expect("libfiu is not preloaded");
    let mut failing_sync = [0.0; POINTS.len()];
    failing_sync[2] = 1.0;
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log)
        .durable(true)
        .build()
        .expect("build");
    faults.enable(&failing_sync);
    let told = handler.emit_wait(record(0, 0));
    faults.disable_all();
    let told = told.expect_err("the sync failed");
    assert_eq!(told.kind(), ErrorKind::Sync, "{told}");
    handler.emit_wait(record(0, 1)).expect("synced");
    let stop = handler.stop();
    handler.start().expect("start");
    faults.enable(&failing_sync);
    handler.emit(record(0, 2));
    let flush = handler.flush();
    faults.disable_all();
    let flush_again = handler.flush();
    let stop_again = handler.stop();
    let stats = handler.stats();
    let show = |r: &concurrent_log_handler::Result<()>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("{:?}", e.kind()),
    };
    println!(
        "sync stop={} flush={} flush_again={} stop_again={} written={} failed={}",
        show(&stop),
        show(&flush),
        show(&flush_again),
        show(&stop_again),
        stats.written,
        stats.failed
    );
}

/// 100 handlers whose logs are gone each report their error on stderr,
/// while `write` on stderr is often short and sometimes fails.
pub fn reports_child(dir: PathBuf) {
    let faults = Faults::load(7).expect("libfiu is not preloaded");
    let handlers: Vec<ConcurrentRotatingFileHandler> = (0..100)
        .map(|n| {
            ConcurrentRotatingFileHandler::builder(dir.join(n.to_string()).join("app.log"))
                .build()
                .expect("build")
        })
        .collect();
    for n in 0..100 {
        fs::remove_dir_all(dir.join(n.to_string())).expect("rm");
    }
    let mut p = [0.0; POINTS.len()];
    p[0] = 0.2;
    p[1] = 0.5;
    faults.enable(&p);
    let failed = handlers
        .iter()
        .filter(|h| h.emit(record(0, 0)).is_err())
        .count();
    faults.disable_all();
    println!("reports failed={failed} injected={:?}", Faults::injected());
}

/// What a writer process is asked to do (from its environment).
struct Plan {
    writer: usize,
    thread: bool,
    timed: bool,
    gzip: bool,
    durable: bool,
    max_bytes: u64,
    faulty: usize,
    clean: usize,
    pace: Duration,
}

/// `builder` (of either handler) with the file settings of `plan`: size or
/// time rotation keeping every backup, `durable`, gzip.
macro_rules! configured {
    ($builder:expr, $plan:expr) => {{
        let builder = $builder.max_bytes($plan.max_bytes).durable($plan.durable);
        let builder = if $plan.timed {
            builder
                .rotate_every(Rotation::Every(Duration::from_secs(1)))
                .backup_count(0)
        } else {
            builder.backup_count(100_000)
        };
        if $plan.gzip {
            builder.compression(Compression::Gzip)
        } else {
            builder
        }
    }};
}

/// Writes `faulty` records with the faults on, then `clean` records with
/// them off, through the blocking handler (each `emit` waited) or the thread
/// handler (every 4th record through `emit_wait`, the rest fire and
/// forget). Prints one `result` line for the parent.
pub fn writer_child(log: PathBuf) {
    let plan = Plan {
        writer: env("CLH_WRITER"),
        thread: env::<String>("CLH_KIND") == "thread",
        timed: env::<String>("CLH_NAMING") == "time",
        gzip: env::<u8>("CLH_GZIP") == 1,
        durable: env::<u8>("CLH_DURABLE") == 1,
        max_bytes: env("CLH_MAX_BYTES"),
        faulty: env("CLH_FAULTY"),
        clean: env("CLH_CLEAN"),
        pace: Duration::from_micros(env("CLH_PACE_US")),
    };
    let seed: u64 = env("CLH_FIU_SEED");
    let probabilities = fiu::probabilities(&env::<String>("CLH_FIU_P"));
    let faults = Faults::load(seed).expect("libfiu is not preloaded");
    let mut errors: Errors = Vec::new();
    let (stats, stopped) = if plan.thread {
        let builder = NonBlockingConcurrentHandler::builder(&log).queue_capacity(4096);
        let (handler, _guard) = configured!(builder, plan).build().expect("build");
        let mut emit = |seq: usize, errors: &mut Errors| {
            if seq == plan.faulty {
                // The faults are off: this answers, once, for the lines
                // nobody waited for whose sync failed (durable). Every
                // answer after it must be Ok.
                let _ = handler.flush();
            }
            if waited(true, seq) {
                if let Err(e) = handler.emit_wait(record(plan.writer, seq)) {
                    errors.push((seq, e.kind()));
                }
            } else {
                handler.emit(record(plan.writer, seq));
            }
        };
        run_phases(&plan, faults, &probabilities, &mut errors, &mut emit);
        let stopped = handler.stop();
        (handler.stats(), stopped.map_err(|e| e.to_string()))
    } else {
        let builder = ConcurrentRotatingFileHandler::builder(&log);
        let handler = configured!(builder, plan).build().expect("build");
        let mut emit = |seq: usize, errors: &mut Errors| {
            if let Err(e) = handler.emit(record(plan.writer, seq)) {
                errors.push((seq, e.kind()));
            }
        };
        run_phases(&plan, faults, &probabilities, &mut errors, &mut emit);
        let idle = handler.wait_for_compression(Duration::from_secs(60));
        let stats = handler.stats();
        (
            stats,
            if idle {
                Ok(())
            } else {
                Err("compressions still running".to_owned())
            },
        )
    };
    let clean_errors: Vec<_> = errors.iter().filter(|(s, _)| *s >= plan.faulty).collect();
    let errs: Vec<String> = errors
        .iter()
        .map(|(seq, kind)| {
            format!(
                "{seq}:{}",
                if *kind == ErrorKind::Sync {
                    "sync"
                } else {
                    "lost"
                }
            )
        })
        .collect();
    let injected = Faults::injected();
    println!(
        "result writer={} emitted={} written={} failed={} dropped={} orphans={} rotations={} \
         rotation_errors={} write_errors={} injected={} stop={} clean_errors={} errs={}",
        plan.writer,
        stats.emitted,
        stats.written,
        stats.failed,
        stats.dropped,
        stats.orphans_recovered,
        stats.rotations,
        stats.rotation_errors,
        stats.write_errors,
        injected
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        match &stopped {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.replace(' ', "_"),
        },
        clean_errors.len(),
        if errs.is_empty() {
            "-".to_owned()
        } else {
            errs.join(";")
        },
    );
}

/// The waited records whose caller got an error, and its kind.
type Errors = Vec<(usize, ErrorKind)>;

/// Whether record `seq` has a caller waiting for it.
fn waited(thread: bool, seq: usize) -> bool {
    !thread || seq % 4 == 3
}

fn run_phases(
    plan: &Plan,
    faults: &Faults,
    probabilities: &[f64; POINTS.len()],
    errors: &mut Errors,
    emit: &mut dyn FnMut(usize, &mut Errors),
) {
    faults.enable(probabilities);
    for seq in 0..plan.faulty {
        emit(seq, errors);
        if !plan.pace.is_zero() {
            std::thread::sleep(plan.pace);
        }
    }
    faults.disable_all();
    for seq in plan.faulty..plan.faulty + plan.clean {
        emit(seq, errors);
        if !plan.pace.is_zero() {
            std::thread::sleep(plan.pace);
        }
    }
}

// ---- The parent -----------------------------------------------------------

/// One writer process's `result` line.
#[derive(Debug, Default)]
struct Outcome {
    fields: HashMap<String, String>,
}

impl Outcome {
    fn parse(stdout: &str) -> Outcome {
        let line = stdout
            .lines()
            .find_map(|l| l.find("result ").map(|at| &l[at + 7..]))
            .unwrap_or_else(|| panic!("no result in {stdout}"));
        Outcome {
            fields: line
                .split(' ')
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    fn num(&self, name: &str) -> u64 {
        self.fields[name].parse().expect(name)
    }

    fn injected(&self) -> u64 {
        self.fields["injected"]
            .split(',')
            .map(|n| n.parse::<u64>().expect("count"))
            .sum()
    }

    /// `(seq, lost)` for each waited record whose caller got an error:
    /// `lost` unless the error was a sync error (then the line is there).
    fn errors(&self) -> Vec<(usize, bool)> {
        let errs = &self.fields["errs"];
        if errs == "-" {
            return Vec::new();
        }
        errs.split(';')
            .map(|e| {
                let (seq, kind) = e.split_once(':').expect("seq:kind");
                (seq.parse().expect("seq"), kind == "lost")
            })
            .collect()
    }
}

/// Waits for `child` at most `limit`, killing it past that; its output.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> (bool, String, String) {
    let deadline = Instant::now() + limit;
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.success(),
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

/// The log's files in the order of their lines, oldest first; panics on
/// anything that is not a backup of the log: `.rotate.*`, temporary files,
/// with `gzip` a plain backup, in the chain a gap.
fn files_in_order(log: &Path, timed: bool, gzip: bool) -> Vec<PathBuf> {
    let dir = log.parent().expect("dir");
    let mut backups: Vec<((String, u64), PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("app.log.") else {
            continue;
        };
        assert!(!rest.contains("rotate."), "rotation leftover {name}");
        assert!(!rest.contains("compress."), "temporary file {name}");
        let stem = match rest.strip_suffix(".gz") {
            Some(stem) => stem,
            None => {
                assert!(!gzip, "plain backup {name} left in a compressed log");
                rest
            }
        };
        let key = if timed {
            match stem.split_once('.') {
                Some((label, k)) => (label.to_owned(), k.parse().expect("counter")),
                None => (stem.to_owned(), 0),
            }
        } else {
            // Numbered: `.1` is the newest, so sort by the negated number.
            let n: u64 = stem.parse().unwrap_or_else(|_| panic!("unexpected {name}"));
            (String::new(), u64::MAX - n)
        };
        backups.push((key, entry.path()));
    }
    backups.sort();
    if !timed {
        let mut numbers: Vec<u64> = backups.iter().map(|((_, k), _)| u64::MAX - k).collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=numbers.len() as u64).collect::<Vec<_>>(),
            "gap"
        );
    }
    let mut files: Vec<PathBuf> = backups.into_iter().map(|(_, p)| p).collect();
    if log.exists() {
        files.push(log.to_path_buf());
    }
    files
}

/// What one combination measured.
#[derive(Debug, Default)]
struct Figures {
    processes: usize,
    injected: u64,
    records: usize,
    errors: usize,
    orphans: u64,
}

/// Runs `procs` writer processes at once on one log under the faults of
/// `probabilities` and checks everything the module docs promise.
#[allow(clippy::too_many_arguments)]
fn run(
    fiu_run: &Path,
    seed: u64,
    timed: bool,
    gzip: bool,
    durable: bool,
    probabilities: [f64; POINTS.len()],
    procs: usize,
    faulty: usize,
) -> Figures {
    let log = TempLog::new();
    let children: Vec<Child> = (0..procs)
        .map(|writer| {
            let settings = [
                ("CLH_LOG", log.path.display().to_string()),
                ("CLH_WRITER", writer.to_string()),
                (
                    "CLH_KIND",
                    if writer % 2 == 0 { "sync" } else { "thread" }.to_owned(),
                ),
                ("CLH_NAMING", if timed { "time" } else { "size" }.to_owned()),
                ("CLH_GZIP", u8::from(gzip).to_string()),
                ("CLH_DURABLE", u8::from(durable).to_string()),
                ("CLH_MAX_BYTES", "8000".to_owned()),
                ("CLH_FAULTY", faulty.to_string()),
                ("CLH_CLEAN", "300".to_owned()),
                ("CLH_PACE_US", if timed { "1000" } else { "0" }.to_owned()),
                (
                    "CLH_FIU_SEED",
                    (seed ^ ((writer as u64 + 1) * 0x9E37_79B9)).to_string(),
                ),
                ("CLH_FIU_P", fiu::probabilities_env(&probabilities)),
            ];
            fiu::fiu_child(fiu_run, "fiu_writer", &settings)
                .spawn()
                .expect("spawn fiu-run")
        })
        .collect();
    let outcomes: Vec<Outcome> = children
        .into_iter()
        .enumerate()
        .map(|(w, child)| {
            let (ok, stdout, stderr) = wait_bounded(child, Duration::from_secs(120), "writer");
            assert!(ok, "writer {w} failed:\n{stdout}\n{stderr}");
            Outcome::parse(&stdout)
        })
        .collect();
    // Nothing outside the backups, before any other handler touched them.
    let files = files_in_order(&log.path, timed, gzip);
    let mut lines: Vec<String> = Vec::new();
    let mut first_seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for file in &files {
        for (i, line) in read_lines(file).into_iter().enumerate() {
            if let Some((other, j)) = first_seen.get(&line) {
                panic!(
                    "duplicate line {line:?}: {}:{} and {}:{}, files {files:?}",
                    other.display(),
                    j + 1,
                    file.display(),
                    i + 1
                );
            }
            first_seen.insert(line.clone(), (file.clone(), i));
            lines.push(line);
        }
    }
    let found = check_records(&lines, true);
    let mut present: HashSet<(usize, usize)> = HashSet::new();
    for line in &lines {
        if let Some(record) = crate::util::try_parse_record(line) {
            present.insert(record);
        }
    }
    let mut figures = Figures {
        processes: procs,
        records: lines.len(),
        ..Figures::default()
    };
    for (w, outcome) in outcomes.iter().enumerate() {
        let context = format!("writer {w} (seed {seed}): {:?}", outcome.fields);
        assert_eq!(outcome.fields["stop"], "ok", "{context}");
        assert_eq!(outcome.num("clean_errors"), 0, "did not recover: {context}");
        let on_disk = found.per_writer.get(&w).copied().unwrap_or(0) as u64;
        assert_eq!(
            on_disk,
            outcome.num("written"),
            "Stats::written vs disk: {context}"
        );
        assert_eq!(
            outcome.num("written") + outcome.num("failed") + outcome.num("dropped"),
            outcome.num("emitted"),
            "{context}"
        );
        let errors = outcome.errors();
        let lost: HashSet<usize> = errors.iter().filter(|e| e.1).map(|e| e.0).collect();
        for seq in 0..faulty + 300 {
            let thread = w % 2 == 1;
            if waited(thread, seq) {
                assert_eq!(
                    present.contains(&(w, seq)),
                    !lost.contains(&seq),
                    "record {seq}: its caller's answer and the file disagree: {context}"
                );
            }
        }
        figures.injected += outcome.injected();
        figures.errors += errors.len();
        figures.orphans += outcome.num("orphans");
    }
    figures
}

/// Runs the child `role` under `fiu-run` with `CLH_LOG` set to `path`
/// (at most a minute); whether it succeeded, its stdout and its stderr.
fn run_fiu_child(fiu_run: &Path, role: &str, path: &Path) -> (bool, String, String) {
    let child = fiu::fiu_child(fiu_run, role, &[("CLH_LOG", path.display().to_string())])
        .spawn()
        .expect("spawn");
    wait_bounded(child, Duration::from_secs(60), role)
}

/// Probabilities in [`POINTS`] order.
const MIXED: [f64; POINTS.len()] = [0.01, 0.05, 0.02, 0.05, 0.05, 0.01, 0.2];

#[test]
fn libfiu_faults_reach_the_calls_rust_std_makes() {
    let Some(fiu_run) = fiu::fiu_run() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = run_fiu_child(&fiu_run, "fiu_probe", dir.path());
    assert!(ok && stdout.contains("probe ok"), "{stdout}\n{stderr}");
}

/// An error a waiting caller was told of is not answered again by a later
/// `stop`; a sync failure of lines nobody waited for is answered by the
/// next `flush`, once.
#[test]
fn a_sync_error_its_caller_was_told_of_does_not_resurface_at_stop() {
    let Some(fiu_run) = fiu::fiu_run() else {
        return;
    };
    let log = TempLog::new();
    let (ok, stdout, stderr) = run_fiu_child(&fiu_run, "fiu_sync_once", &log.path);
    assert!(ok, "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.find("sync stop=").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        line,
        "sync stop=ok flush=Sync flush_again=ok stop_again=ok written=3 failed=0"
    );
    let found = check_records(&crate::util::all_lines(&log.path), true);
    assert_eq!(found.per_writer[&0], 3, "every line is in the file");
}

/// The crate's reports on stderr stay one per line when writes to stderr
/// are short or fail part-way.
#[test]
fn reports_on_stderr_stay_one_per_line_through_short_and_failing_writes() {
    let Some(fiu_run) = fiu::fiu_run() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = run_fiu_child(&fiu_run, "fiu_reports", dir.path());
    assert!(
        ok && stdout.contains("reports failed=100"),
        "{stdout}\n{stderr}"
    );
    let prefix = "concurrent_log_handler: ";
    let glued: Vec<&str> = stderr
        .lines()
        .filter(|l| l.matches(prefix).count() > 1)
        .collect();
    assert!(glued.is_empty(), "reports glued together: {glued:#?}");
    let whole = stderr
        .lines()
        .filter(|l| l.starts_with(prefix) && l.ends_with("only when the handler is built)"))
        .count();
    assert!(whole >= 90, "{whole} whole reports of 100:\n{stderr}");
}

#[test]
fn processes_sharing_a_log_under_injected_io_faults_lose_tear_and_duplicate_nothing() {
    let Some(fiu_run) = fiu::fiu_run() else {
        return;
    };
    let seed = fiu::seed();
    eprintln!("injected faults: seed {seed} (CLH_FIU_SEED={seed} repeats it)");
    let mut total = Figures::default();
    let mut combinations = 0;
    // `CLH_FIU_COMBINATIONS=0,4` runs only those (to repeat one).
    let only: Option<Vec<usize>> = std::env::var("CLH_FIU_COMBINATIONS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    for (i, (timed, gzip, durable)) in [
        (false, false, false),
        (false, true, false),
        (true, false, true),
        (true, true, false),
        (false, false, true),
    ]
    .into_iter()
    .enumerate()
    {
        if only.as_ref().is_some_and(|only| !only.contains(&i)) {
            continue;
        }
        let figures = run(&fiu_run, seed, timed, gzip, durable, MIXED, 3, 1_500);
        eprintln!(
            "  {} {} {}: {} processes, {} faults injected, {} records checked, \
             {} errors answered, {} orphans recovered",
            if timed { "time" } else { "size" },
            if gzip { "gzip" } else { "plain" },
            if durable { "durable" } else { "-" },
            figures.processes,
            figures.injected,
            figures.records,
            figures.errors,
            figures.orphans
        );
        combinations += 1;
        total.injected += figures.injected;
        total.records += figures.records;
        total.orphans += figures.orphans;
    }
    eprintln!(
        "injected faults: {combinations} combinations, {} faults injected, {} records checked, \
         {} orphans recovered",
        total.injected, total.records, total.orphans
    );
    assert!(
        combinations == 0 || total.injected > 20 * combinations,
        "the faults did not take effect"
    );
}

/// Short writes, with every `ftruncate` failing: a line written in part
/// cannot be cut off and is finished instead; nothing is torn, nothing is
/// written twice, and no caller is told of a failure for a record that is in
/// the log.
#[test]
fn short_writes_with_a_failing_ftruncate_leave_no_torn_or_duplicated_line() {
    let Some(fiu_run) = fiu::fiu_run() else {
        return;
    };
    let seed = fiu::seed();
    eprintln!("short writes: seed {seed}");
    let mut p = [0.0; POINTS.len()];
    p[0] = 0.05; // write fails
    p[1] = 0.3; // write is short
    p[6] = 1.0; // ftruncate always fails
    let figures = run(&fiu_run, seed, false, false, false, p, 2, 1_500);
    eprintln!("short writes: {figures:?}");
    assert!(figures.injected > 50, "{figures:?}");
}
