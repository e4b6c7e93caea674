//! What a child process does, chosen by `CLH_CHILD_ROLE` (see `util::spawn_child`).

use std::env;
use std::path::PathBuf;

use concurrent_log_handler::format::{Formatter, TextFormatter};
use std::time::Duration;

use concurrent_log_handler::{
    AsyncConcurrentHandler, Compression, ConcurrentRotatingFileHandler, ErrorKind, FallbackMode,
    Level, NonBlockingConcurrentHandler, Record, Rotation,
};

use crate::util::{TEST_TARGET, message};

fn var<T: std::str::FromStr>(name: &str) -> T {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("child needs {name}"))
}

/// `name` from the environment, or `default` when it is not set.
fn var_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("child: bad {name}={text}")),
        Err(_) => default,
    }
}

/// Appends test record `seq` of `writer`, formatted as a handler would, to a
/// batch for `write_batch`.
fn push_record(batch: &mut Vec<u8>, writer: usize, seq: usize) {
    TextFormatter::new().format(&record(writer, seq), batch);
}

fn record(writer: usize, seq: usize) -> Record {
    Record::new(Level::Info, message(writer, seq)).with_target(TEST_TARGET)
}

#[test]
#[ignore = "entry point of the child processes that the multi-process tests start"]
fn entry() {
    let role: String = var("CLH_CHILD_ROLE");
    let log: PathBuf = var("CLH_LOG");
    // The roles that need no writer id, count or rotation get 0s.
    let writer: usize = var_or("CLH_WRITER", 0);
    let count: usize = var_or("CLH_COUNT", 0);
    let max_bytes: u64 = var_or("CLH_MAX_BYTES", 0);
    let backups: usize = var_or("CLH_BACKUPS", 0);
    match role.as_str() {
        "sync" => sync_writer(log, writer, count, max_bytes, backups),
        "async" => async_writer(log, writer, count, max_bytes, backups),
        "thread" => thread_writer(log, writer, count, max_bytes, backups),
        "timed" => timed_writer(log, writer, count),
        "fsize" => fsize_writer(log, writer, count),
        "rotate_after_failed_write" => crate::regression::rotate_after_failed_write(log),
        "fork" => fork_writer(log, count),
        "fork_queued" => fork_queued_writers(log, count),
        "fork_while_writing" => fork_while_the_writer_formats(log, count as u64),
        "rotate_on_open" => rotate_on_open_writer(log, writer, count),
        "tls_destructor" => tls_destructor_writer(log),
        "errors_only_layer" | "errors_only_fmt" | "errors_layer_and_fmt" | "errors_no_tracing" => {
            errors_reported(log, &role)
        }
        "self_target_fmt" => self_target_through_fmt(log),
        "perm" => permission_writer(log, writer, count),
        "open_errors" => crate::messages::unprivileged_child(&log),
        "python_setup" => crate::interop_python::setup_child(),
        "killed_writer" => killed_writer(log, writer, max_bytes, backups),
        "paced" => paced_writer(log, writer, count, max_bytes, backups, None),
        "paced_gzip" => paced_writer(
            log,
            writer,
            count,
            max_bytes,
            backups,
            Some(Compression::Gzip),
        ),
        "compress_victim" => compress_victim(log, writer, count),
        "gzip_thread" => gzip_thread_writer(log, writer, count, max_bytes, backups),
        "nowait_runtime_dropped" => nowait_runtime_dropped(log, writer, count),
        "exit_queued" => exit_with_records_queued(log, writer, count),
        "gzip_sync_exit" => gzip_sync_writer(log, writer, count, max_bytes, backups),
        #[cfg(feature = "syslog")]
        "forward_then_exit" => {
            crate::forwarding::forward_then_exit(log, count, var("CLH_SYSLOG_URL"))
        }
        "fiu_probe" => crate::injected::probe_child(log),
        "fiu_writer" => crate::injected::writer_child(log),
        "fiu_sync_once" => crate::injected::sync_once_child(log),
        "fiu_reports" => crate::injected::reports_child(log),
        #[cfg(feature = "log")]
        "log_reload" => crate::filters::reload_child(log),
        #[cfg(feature = "log")]
        "log_from_env" => crate::filters::from_env_child(log),
        #[cfg(feature = "log")]
        "filters_example" => crate::filters::example_child(log),
        #[cfg(feature = "tracing")]
        "tracing_example" => crate::examples::tracing_example_child(log),
        other => panic!("unknown role {other}"),
    }
}

/// Batches of 1 to 40 lines through `write_batch`, every 7th record alone
/// through `emit`.
fn sync_writer(log: PathBuf, writer: usize, count: usize, max_bytes: u64, backups: usize) {
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .build()
        .expect("build");
    let mut seq = 0;
    let mut batch = Vec::new();
    while seq < count {
        if seq % 7 == 0 {
            handler.emit(record(writer, seq)).expect("emit");
            seq += 1;
            continue;
        }
        let n = (seq % 40 + 1).min(count - seq);
        batch.clear();
        for s in seq..seq + n {
            push_record(&mut batch, writer, s);
        }
        handler.write_batch(&batch).expect("write_batch");
        seq += n;
    }
}

/// One task emitting in order, with `Block` fallback so nothing is dropped, and
/// an `emit_wait` every 1,000 records.
fn async_writer(log: PathBuf, writer: usize, count: usize, max_bytes: u64, backups: usize) {
    let runtime = crate::util::multi_thread();
    runtime.block_on(async move {
        let handler = AsyncConcurrentHandler::builder(log)
            .max_bytes(max_bytes)
            .backup_count(backups)
            .queue_capacity(256)
            .fallback_mode(FallbackMode::Block)
            .build()
            .expect("build");
        for seq in 0..count {
            if seq % 1000 == 999 {
                handler
                    .emit_wait(record(writer, seq))
                    .await
                    .expect("emit_wait");
            } else {
                handler.emit(record(writer, seq));
            }
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!(stats.written, count as u64, "{stats:?}");
        assert_eq!(stats.dropped + stats.failed, 0, "{stats:?}");
    });
}

/// The thread handler with its defaults (fallback to the caller when full);
/// the guard drains at the end.
fn thread_writer(log: PathBuf, writer: usize, count: usize, max_bytes: u64, backups: usize) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .queue_capacity(512)
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(writer, seq));
    }
    drop(guard);
    let stats = handler.stats();
    assert_eq!(stats.written, count as u64, "{stats:?}");
    assert_eq!(stats.dropped + stats.failed, 0, "{stats:?}");
}

/// The thread handler compressing its backups with gzip, ending the way a
/// script ends: the guard and the handler are dropped at the end of `main`,
/// nothing waits for the compressions explicitly.
fn gzip_thread_writer(log: PathBuf, writer: usize, count: usize, max_bytes: u64, backups: usize) {
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .queue_capacity(1_000_000)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(writer, seq));
    }
}

/// The blocking handler compressing with gzip; `main` simply ends right
/// after its third rotation (the handler is dropped, nothing else waits).
/// Prints how many records it wrote.
fn gzip_sync_writer(log: PathBuf, writer: usize, count: usize, max_bytes: u64, backups: usize) {
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(writer, seq)).expect("emit");
        if handler.stats().rotations == 3 {
            println!("written={}", seq + 1);
            return;
        }
    }
    panic!("fewer than 3 rotations");
}

/// Rotates every second by the real clock while writing for about two seconds,
/// so that several processes reach each rollover together.
fn timed_writer(log: PathBuf, writer: usize, count: usize) {
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .rotate_every(Rotation::Every(Duration::from_secs(1)))
        .backup_count(0)
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(writer, seq)).expect("emit");
        if seq % 50 == 49 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Writes `count` records into the log, then rotates it away with one more
/// record through a gzip-compressing handler (`max_bytes` 1: the full log
/// rotates) and sleeps: the parent kills it while the backup is compressed.
fn compress_victim(log: PathBuf, writer: usize, count: usize) {
    let plain = ConcurrentRotatingFileHandler::builder(&log)
        .build()
        .expect("build");
    let mut batch = Vec::new();
    for seq in 0..count {
        push_record(&mut batch, writer, seq);
        if batch.len() > 64 * 1024 {
            plain.write_batch(&batch).expect("write");
            batch.clear();
        }
    }
    plain.write_batch(&batch).expect("write");
    let compressing = ConcurrentRotatingFileHandler::builder(&log)
        .max_bytes(1)
        .backup_count(10)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    compressing.emit(record(writer, count)).expect("emit");
    println!("rotated");
    std::thread::sleep(Duration::from_secs(60));
}

/// Batches of 20 records with a pause between them, so that this writer runs
/// for about as long as the Python writers it shares the log with.
fn paced_writer(
    log: PathBuf,
    writer: usize,
    count: usize,
    max_bytes: u64,
    backups: usize,
    compression: Option<Compression>,
) {
    let mut builder = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups);
    if let Some(compression) = compression {
        builder = builder.compression(compression);
    }
    let handler = builder.build().expect("build");
    let mut batch = Vec::new();
    for seq in 0..count {
        push_record(&mut batch, writer, seq);
        if seq % 20 == 19 {
            handler.write_batch(&batch).expect("write");
            batch.clear();
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    handler.write_batch(&batch).expect("write");
    assert!(handler.wait_for_compression(Duration::from_secs(120)));
}

/// Writes under RLIMIT_FSIZE (64 KiB) until writes fail with EFBIG, checks the
/// errors, lifts the limit and checks that writing resumes; prints the stats.
fn fsize_writer(log: PathBuf, writer: usize, count: usize) {
    set_file_size_limit(64 * 1024);
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log)
            .build()
            .expect("build");
        // Fire-and-forget records, with an awaited one every 50, until two
        // awaited ones failed (each failing batch waits out the writer's
        // backoff, so the test does not linger in the failure).
        let mut failures = 0;
        let mut seq = 0;
        while failures < 2 {
            assert!(seq < count, "the limit was never hit");
            if seq % 50 == 49 {
                if let Err(e) = handler.emit_wait(record(writer, seq)).await {
                    assert!(e.kind() == ErrorKind::Write, "{e}");
                    assert_eq!(
                        e.io_error().and_then(|e| e.raw_os_error()),
                        Some(libc::EFBIG)
                    );
                    failures += 1;
                }
            } else {
                handler.emit(record(writer, seq)); // kept for the retry when it fails
            }
            seq += 1;
        }
        set_file_size_limit(libc::RLIM_INFINITY);
        handler
            .emit_wait(record(writer, seq))
            .await
            .expect("resumed");
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!(
            stats.written + stats.dropped + stats.failed,
            stats.emitted,
            "{stats:?}"
        );
        assert!(stats.write_errors > 0);
        println!("written={}", stats.written);
    });
}

pub fn set_file_size_limit(bytes: libc::rlim_t) {
    // SAFETY: plain libc calls on this process's own settings. SIGXFSZ is
    // ignored so that crossing the limit fails the write with EFBIG instead of
    // killing the process; the rlimit struct is fully initialised and only read.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = bytes.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

/// Opens a handler, then `fork()`s without exec; parent (writer 0) and child
/// (writer 1) write through the same handler into a log rotating every ~20
/// lines. flock belongs to the open file description, so without reopening
/// the lock file in the child both would "hold" the lock at once and their
/// rotations would race (as they did in Python CLH before it reopened the
/// lock file after fork: its GitHub issue #8).
fn fork_writer(log: PathBuf, count: usize) {
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(2_000)
        .backup_count(10_000)
        .build()
        .expect("build");
    handler.write_batch(b"").expect("open");
    // Records made before the fork fill the pid cache; the child must not keep it.
    assert_eq!(record(0, 0).pid(), std::process::id());
    // SAFETY: fork() in a test process whose other thread (the harness's main
    // thread) is parked on a channel and holds none of the locks the child
    // uses; the child only runs this thread's code and leaves with _exit, so
    // no destructor or atexit handler of the parent runs twice.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    let writer = usize::from(pid == 0);
    let mut ok = true;
    for seq in 0..count {
        ok &= handler.emit(record(writer, seq)).is_ok();
    }
    if pid == 0 {
        // SAFETY: ends the forked child at once, as fork's rules ask.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    assert_forked_child_succeeded(pid);
    assert!(ok);
}

/// Writes 16 KiB batches forever, printing `done <last seq>` after each one
/// returned; the parent kills it with SIGKILL at some point.
fn killed_writer(log: PathBuf, writer: usize, max_bytes: u64, backups: usize) {
    use std::io::Write;
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(max_bytes)
        .backup_count(backups)
        .build()
        .expect("build");
    let mut batch = Vec::new();
    let mut stdout = std::io::stdout();
    for seq in 0.. {
        push_record(&mut batch, writer, seq);
        if batch.len() >= 16 * 1024 {
            handler.write_batch(&batch).expect("write");
            batch.clear();
            writeln!(stdout, "done {seq}").expect("stdout");
            stdout.flush().expect("flush");
        }
    }
}

/// Runs as an unprivileged user (root ignores permissions). Writes `count`
/// records into a log rotating every ~10 lines, in three phases separated by
/// lines on stdin: before, while the parent made the directory read-only
/// (rotations fail with EACCES, lines still go into the unrotated file), and
/// after it restored the directory (rotation resumes). Prints the stats.
fn permission_writer(log: PathBuf, writer: usize, count: usize) {
    use std::io::BufRead;
    let handler = ConcurrentRotatingFileHandler::builder(log)
        .max_bytes(1_000)
        .backup_count(10_000)
        .build()
        .expect("build");
    let mut stdin = std::io::stdin().lock();
    let mut seq = 0;
    for phase in 0..3 {
        if phase > 0 {
            println!("phase {phase}?");
            let mut line = String::new();
            stdin.read_line(&mut line).expect("stdin");
        }
        for _ in 0..count / 3 {
            // A failed rotation is counted and reported, not returned: the
            // record was written.
            handler.emit(record(writer, seq)).expect("emit");
            seq += 1;
        }
        let stats = handler.stats();
        println!(
            "phase {phase}: written={} rotations={} rotation_errors={}",
            stats.written, stats.rotations, stats.rotation_errors
        );
    }
}

/// Forks without exec while a thread handler and an async handler (both with
/// gzip, rotating every ~20 lines) are live and the parent has records
/// queued; parent (writer 0) and child (writer 1) each log `count` records
/// through both, then stop them. The child must get writer threads and a
/// compressor of its own: without them its records are never written and its
/// flush hangs. Prints nothing; the parent test reads the files.
fn fork_queued_writers(log: PathBuf, count: usize) {
    let (thread, guard) = NonBlockingConcurrentHandler::builder(&log)
        .max_bytes(2_000)
        .backup_count(10_000)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    let async_log = log.with_file_name("async.log");
    let asynchronous = AsyncConcurrentHandler::builder(&async_log)
        .max_bytes(2_000)
        .backup_count(10_000)
        .compression(Compression::Gzip)
        .build()
        .expect("build");
    for seq in 0..10 {
        thread.emit(record(0, seq));
        asynchronous.emit(record(0, seq));
    }
    // SAFETY: fork() in a test process whose other threads (the harness's
    // main thread, our writers and compressors) are left behind in the child;
    // the child uses only handler paths that build their own state, and
    // leaves with _exit, so no destructor of the parent runs twice.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    let writer = usize::from(pid == 0);
    let first = if pid == 0 { 0 } else { 10 };
    let mut ok = true;
    for seq in first..count {
        thread.emit(record(writer, seq));
        asynchronous.emit(record(writer, seq));
    }
    ok &= thread.flush().is_ok();
    ok &= futures::executor::block_on(asynchronous.shutdown()).is_ok();
    ok &= thread.stop().is_ok();
    // Each process counts its own records: 0..count in both.
    ok &= thread.stats().written == count as u64;
    ok &= asynchronous.stats().written == count as u64;
    if pid == 0 {
        std::mem::forget(guard);
        // SAFETY: ends the forked child at once, as fork's rules ask.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    drop(guard);
    assert_forked_child_succeeded(pid);
    assert!(
        ok,
        "parent: {:?} {:?}",
        thread.stats(),
        asynchronous.stats()
    );
}

/// Emits one record and forks `delay_us` microseconds later, while the
/// writer thread may be formatting it (its first local time, in a fresh
/// process); then parent and child each log one more record and stop,
/// within a bound. A child whose writer waits for something the parent was
/// in the middle of at the fork never stops in time.
fn fork_while_the_writer_formats(log: PathBuf, delay_us: u64) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        .build()
        .expect("build");
    handler.emit(record(0, 0));
    let until = std::time::Instant::now() + std::time::Duration::from_micros(delay_us);
    while std::time::Instant::now() < until {
        std::hint::spin_loop();
    }
    // SAFETY: as in `fork_queued_writers`: the child only logs through the
    // handler, which rebuilds its own state, and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    let writer = usize::from(pid == 0);
    handler.emit(record(writer, 1));
    let stopped = handler.stop_timeout(std::time::Duration::from_secs(5));
    if pid == 0 {
        std::mem::forget(guard);
        // SAFETY: ends the forked child at once, as fork's rules ask.
        unsafe { libc::_exit(if stopped.is_ok() { 0 } else { 1 }) };
    }
    drop(guard);
    assert_forked_child_succeeded(pid);
    stopped.expect("the parent stops");
}

/// Logs from a thread-local's destructor, as code that logs on thread exit
/// does: a queued record and a `sync_level` one. The crate's own
/// thread-locals may be gone by then; logging must neither abort nor lose
/// the records.
fn tls_destructor_writer(log: PathBuf) {
    struct LogsOnDrop(NonBlockingConcurrentHandler);
    impl Drop for LogsOnDrop {
        fn drop(&mut self) {
            self.0.emit(record(0, 0));
            self.0
                .emit(Record::new(Level::Error, "sync from a destructor").with_target(TEST_TARGET))
        }
    }
    thread_local! {
        static SLOT: std::cell::RefCell<Option<LogsOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let (handler, guard) = NonBlockingConcurrentHandler::builder(log)
        .build()
        .expect("build");
    let for_thread = handler.clone();
    std::thread::spawn(move || {
        // Ours first, then a record, so that the crate's thread-locals are
        // made after ours and destroyed before it (destructors run in the
        // reverse order).
        SLOT.with(|slot| *slot.borrow_mut() = Some(LogsOnDrop(for_thread.clone())));
        for_thread.emit(record(0, 1));
    })
    .join()
    .expect("thread");
    drop(guard);
    assert_eq!(handler.stats().written, 3, "{:?}", handler.stats());
}

/// Loses the log's directory under a handler set up as `role` says, and
/// provokes write errors: `errors_only_layer` (the crate's layer is the
/// only subscriber), `errors_only_fmt` (`fmt` writing into the handler),
/// `errors_layer_and_fmt` (the crate's layer beside a `fmt` layer on
/// stderr), `errors_no_tracing` (no subscriber; a second burst of errors
/// after the rate limit's second).
fn errors_reported(log: PathBuf, role: &str) {
    use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
    use tracing_subscriber::layer::SubscriberExt;
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        .build()
        .expect("build");
    let layer = ConcurrentLogLayer::new(handler.clone());
    match role {
        "errors_only_fmt" => {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(handler.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("global");
        }
        "errors_only_layer" => {
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber).expect("global");
        }
        "errors_layer_and_fmt" => {
            let subscriber = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(false),
                )
                .with(layer);
            tracing::subscriber::set_global_default(subscriber).expect("global");
        }
        _ => {}
    }
    let log_some = |message: &'static str| {
        if role == "errors_no_tracing" {
            handler.emit(Record::new(Level::Info, message));
        } else {
            tracing::info!("{message}");
        }
    };
    log_some("before");
    handler.flush().expect("flush");
    std::fs::remove_dir_all(log.parent().expect("dir")).expect("rm -r");
    for _ in 0..5 {
        log_some("lost with the directory");
        let _ = handler.flush();
    }
    if role == "errors_no_tracing" {
        // Past the rate limit's second: the next error is reported, with
        // the count of those held back since the first report.
        std::thread::sleep(Duration::from_millis(1_100));
        log_some("lost too");
        let _ = handler.flush();
    }
    assert!(handler.stats().write_errors > 0, "{:?}", handler.stats());
    std::mem::forget(guard);
}

/// `fmt` writing into the handler gets an event of the crate's own target
/// (a report that reached it): it goes on stderr, not into the handler.
fn self_target_through_fmt(log: PathBuf) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        .build()
        .expect("build");
    let subscriber = tracing_subscriber::fmt()
        .with_writer(handler.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("logged");
        tracing::error!(target: "concurrent_log_handler", "log write failed");
    });
    drop(guard);
}

/// Builds a thread handler with `rotate_on_open`, writes `count` records.
fn rotate_on_open_writer(log: PathBuf, writer: usize, count: usize) {
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(log)
        .backup_count(100)
        .rotate_on_open(true)
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(writer, seq));
    }
}

/// Emits `count` records through the handler named by `CLH_HANDLER` (`async`
/// or `thread`) and calls `std::process::exit` at once, with no shutdown,
/// stop or guard: what the crate's exit hook does with the queue is all that
/// stands between the records and the void.
fn exit_with_records_queued(log: PathBuf, writer: usize, count: usize) -> ! {
    let kind: String = var("CLH_HANDLER");
    match kind.as_str() {
        "async" => {
            let runtime = crate::util::multi_thread();
            runtime.block_on(async move {
                let handler = AsyncConcurrentHandler::builder(log)
                    .queue_capacity(count + 1)
                    .build()
                    .expect("build");
                for seq in 0..count {
                    handler.emit(record(writer, seq));
                }
                std::process::exit(0)
            })
        }
        "thread" => {
            let (handler, guard) = NonBlockingConcurrentHandler::builder(log)
                .queue_capacity(count + 1)
                .build()
                .expect("build");
            for seq in 0..count {
                handler.emit(record(writer, seq));
            }
            std::mem::forget(guard);
            std::process::exit(0)
        }
        other => panic!("unknown handler {other}"),
    }
}

/// A program that goes on logging after its runtime shut down, while the
/// parent holds the lock (so the queue stays full): the `Nowait` writes the
/// runtime can no longer run are counted as dropped and said on stderr.
/// Prints the stats.
fn nowait_runtime_dropped(log: PathBuf, writer: usize, count: usize) {
    let runtime = crate::util::multi_thread();
    let handler = runtime.block_on(async {
        AsyncConcurrentHandler::builder(log)
            .queue_capacity(1)
            .fallback_mode(FallbackMode::Nowait)
            .nowait_limit(count)
            .build()
            .expect("build")
    });
    runtime.shutdown_background();
    for seq in 0..count {
        handler.emit(record(writer, seq));
    }
    let stats = handler.stats();
    println!("dropped={} emitted={}", stats.dropped, stats.emitted);
    std::process::exit(0);
}

/// Waits for the child `fork` made and asserts it exited with status 0.
fn assert_forked_child_succeeded(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for the child we just forked; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "forked child failed"
    );
}
