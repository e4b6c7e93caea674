//! `RUST_LOG`-style filters in the `log` backend, judged by what lands in
//! the file: per-module directives, reloads through the `FilterHandle`,
//! `init_log_from_env`, and the `filters` example.
//!
//! `log` allows one global logger per process and `integrations` already
//! installs one in this binary, so everything that installs the global
//! logger runs in a child process (`child::entry` calls the `*_child`
//! functions below); the rest drives a `ConcurrentLogger` through
//! `log::Log::log`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Barrier};

use concurrent_log_handler::integrations::log::{
    ConcurrentLogger, FilterHandle, init_log, init_log_from_env,
};
use concurrent_log_handler::{
    Filter, Level, NonBlockingConcurrentHandler, ParseFilterError, ParseFilterErrorKind, Record,
};
use log::Log;

use crate::util::{TempLog, all_lines, parse_line};

#[allow(dead_code)] // its `main` is for `cargo run --example filters`
#[path = "../../examples/filters.rs"]
pub(crate) mod filters_example;

const TARGETS: [&str; 5] = ["app", "app::db", "app::db::pool", "app::dbx", "hyper"];
const LEVELS: [log::Level; 5] = [
    log::Level::Error,
    log::Level::Warn,
    log::Level::Info,
    log::Level::Debug,
    log::Level::Trace,
];

/// Logs one record per target and level, the message naming both.
fn log_grid(logger: &dyn Log) {
    for target in TARGETS {
        for level in LEVELS {
            logger.log(
                &log::Record::builder()
                    .level(level)
                    .target(target)
                    .args(format_args!("{level}"))
                    .build(),
            );
        }
    }
}

/// The log's lines as `LEVEL target: message`, without timestamp and pid.
fn records(log: &Path) -> Vec<String> {
    all_lines(log)
        .iter()
        .map(|line| {
            let line = parse_line(line);
            format!("{} {}", line.level, line.rest)
        })
        .collect()
}

fn thread_handler(
    log: &TempLog,
) -> (
    NonBlockingConcurrentHandler,
    concurrent_log_handler::WriterGuard,
) {
    NonBlockingConcurrentHandler::builder(&log.path)
        .build()
        .expect("build")
}

#[test]
fn per_module_directives_decide_what_lands_in_the_file() {
    let log = TempLog::new();
    let (handler, guard) = thread_handler(&log);
    let filter: Filter = "warn,app::db=debug,app::db::pool=off,hyper=error"
        .parse()
        .expect("valid");
    let logger = ConcurrentLogger::new(handler.clone(), filter);
    log_grid(&logger);
    handler.flush().expect("flush");
    assert_eq!(
        records(&log.path),
        [
            "ERROR app: ERROR",
            "WARNING app: WARN",
            "ERROR app::db: ERROR",
            "WARNING app::db: WARN",
            "INFO app::db: INFO",
            "DEBUG app::db: DEBUG",
            // app::db::pool is off, though app::db is at debug
            // app::dbx is not under app::db: the default decides
            "ERROR app::dbx: ERROR",
            "WARNING app::dbx: WARN",
            "ERROR hyper: ERROR",
        ]
    );
    drop(guard);
}

#[test]
fn enabled_agrees_with_what_the_logger_writes() {
    let specs = [
        "",
        "off",
        "trace",
        "app",
        "info,app::db=trace,hyper=off",
        "app::db::=trace",
    ];
    for spec in specs {
        let log = TempLog::new();
        let (handler, guard) = thread_handler(&log);
        let logger = ConcurrentLogger::new(handler.clone(), spec.parse::<Filter>().expect(spec));
        log_grid(&logger);
        handler.flush().expect("flush");
        let written = records(&log.path);
        let mut expected = Vec::new();
        for target in TARGETS {
            for level in LEVELS {
                let metadata = log::Metadata::builder().level(level).target(target).build();
                if logger.enabled(&metadata) {
                    let ours = match level {
                        log::Level::Warn => "WARNING".to_owned(),
                        other => other.as_str().to_owned(),
                    };
                    expected.push(format!("{ours} {target}: {level}"));
                }
                // `max_level` bounds every level `enabled` lets through.
                assert!(
                    !logger.enabled(&metadata) || level <= logger.max_level(),
                    "{spec:?}"
                );
            }
        }
        assert_eq!(written, expected, "{spec:?}");
        drop(guard);
    }
}

#[test]
fn a_reload_through_the_handle_changes_what_lands_in_the_file() {
    let log = TempLog::new();
    let (handler, guard) = thread_handler(&log);
    let logger = ConcurrentLogger::new(handler.clone(), log::LevelFilter::Info);
    // A clone of the logger shares the filter with the original.
    let clone = logger.clone();
    let handle: FilterHandle = logger.handle();
    let debug = |logger: &ConcurrentLogger<NonBlockingConcurrentHandler>, message: &str| {
        logger.log(
            &log::Record::builder()
                .level(log::Level::Debug)
                .target("app::db")
                .args(format_args!("{message}"))
                .build(),
        );
    };
    debug(&logger, "1 hidden at info");
    handle.set_filter_str("info,app::db=debug").expect("valid");
    assert_eq!(logger.max_level(), log::LevelFilter::Debug);
    debug(&logger, "2 shown after the reload");
    debug(&clone, "3 shown through the clone too");
    let err: ParseFilterError = handle.set_filter_str("app::db=chatty").unwrap_err();
    assert_eq!(err.kind(), ParseFilterErrorKind::UnknownLevel);
    debug(&logger, "4 shown: a bad reload changed nothing");
    handle.set_filter(Level::Warn);
    debug(&logger, "5 hidden at warn");
    assert_eq!(clone.filter(), Filter::from_level(Level::Warn));
    handler.flush().expect("flush");
    assert_eq!(
        records(&log.path),
        [
            "DEBUG app::db: 2 shown after the reload",
            "DEBUG app::db: 3 shown through the clone too",
            "DEBUG app::db: 4 shown: a bad reload changed nothing",
        ]
    );
    drop(guard);
}

#[test]
fn once_set_filter_returns_every_thread_logs_under_the_new_filter() {
    const THREADS: usize = 4;
    const RECORDS: usize = 200;
    let log = TempLog::new();
    let (handler, guard) = thread_handler(&log);
    let logger = ConcurrentLogger::new(handler.clone(), log::LevelFilter::Info);
    let handle = logger.handle();
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let logger = logger.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let phase = |name: &str| {
                    for i in 0..RECORDS {
                        for level in [log::Level::Info, log::Level::Debug] {
                            logger.log(
                                &log::Record::builder()
                                    .level(level)
                                    .target("app")
                                    .args(format_args!("{name} t{t} i{i}"))
                                    .build(),
                            );
                        }
                    }
                };
                phase("before");
                barrier.wait(); // main reloads between these two waits
                barrier.wait();
                phase("after");
            })
        })
        .collect();
    barrier.wait();
    handle.set_filter(log::LevelFilter::Debug);
    barrier.wait();
    for thread in threads {
        thread.join().expect("logging thread");
    }
    handler.flush().expect("flush");
    let lines = records(&log.path);
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("INFO app: before"), THREADS * RECORDS);
    assert_eq!(count("DEBUG app: before"), 0);
    assert_eq!(count("INFO app: after"), THREADS * RECORDS);
    assert_eq!(count("DEBUG app: after"), THREADS * RECORDS);
    drop(guard);
}

/// Runs `child::entry` as `role` on `log`, with `RUST_LOG` set to
/// `rust_log` or removed; panics with its output unless it succeeds.
fn run_child(role: &str, log: &Path, rust_log: Option<&str>) {
    let mut cmd = crate::util::child_command(role, &[("CLH_LOG", log.display().to_string())]);
    cmd.stderr(Stdio::piped());
    // Set or removed, never inherited: the outcome must not depend on the
    // environment the tests run in.
    match rust_log {
        Some(value) => cmd.env("RUST_LOG", value),
        None => cmd.env_remove("RUST_LOG"),
    };
    let out = cmd.output().expect("run child");
    assert!(
        out.status.success(),
        "child {role} failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn init_log_handle_reloads_and_log_max_level_follows_so_debug_records_appear() {
    let log = TempLog::new();
    run_child("log_reload", &log.path, None);
    assert_eq!(
        records(&log.path),
        [
            "INFO app: 2 shown at info",
            "DEBUG app: 3 shown after the reload to debug",
            "TRACE app::db::pool: 6 shown: app::db is at trace",
            "WARNING app: 8 shown: a bad reload changed nothing",
        ]
    );
}

/// The child side of the test above: installs the global logger at
/// `info` and reloads it; the numbered messages say what must happen.
pub(crate) fn reload_child(log: PathBuf) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        .build()
        .expect("build");
    let filter = init_log(handler, log::LevelFilter::Info).expect("init_log");
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    log::debug!(target: "app", "1 hidden: below info");
    log::info!(target: "app", "2 shown at info");
    // No `log::set_max_level` here: the handle raises `log`'s maximum.
    filter.set_filter(log::LevelFilter::Debug);
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    assert!(log::log_enabled!(target: "app", log::Level::Debug));
    log::debug!(target: "app", "3 shown after the reload to debug");
    // `log`'s maximum alone lets nothing more through: the filter decides.
    log::set_max_level(log::LevelFilter::Trace);
    log::trace!(target: "app", "4 hidden: the filter is still at debug");
    filter
        .set_filter_str("warn,app::db=trace")
        .expect("a valid filter");
    assert_eq!(log::max_level(), log::LevelFilter::Trace);
    log::info!(target: "app", "5 hidden: below warn");
    log::trace!(target: "app::db::pool", "6 shown: app::db is at trace");
    log::trace!(target: "app::dbx", "7 hidden: app::dbx is not under app::db");
    let err = filter.set_filter_str("warn/timeout").unwrap_err();
    assert_eq!(err.kind(), ParseFilterErrorKind::MessageFilter);
    assert_eq!(log::max_level(), log::LevelFilter::Trace);
    log::warn!(target: "app", "8 shown: a bad reload changed nothing");
    // Lowering lowers `log`'s maximum too, from a clone on another thread.
    let clone = filter.clone();
    std::thread::spawn(move || clone.set_filter(log::LevelFilter::Error))
        .join()
        .expect("reloading thread");
    assert_eq!(log::max_level(), log::LevelFilter::Error);
    assert!(!log::log_enabled!(target: "app", log::Level::Warn));
    log::warn!(target: "app", "9 hidden: below error");
    filter.set_filter(Filter::off());
    assert_eq!(log::max_level(), log::LevelFilter::Off);
    log::error!(target: "app", "10 hidden: off");
    // `log` has no critical records: a critical-only filter is `Off` to it.
    filter.set_filter(Level::Critical);
    assert_eq!(log::max_level(), log::LevelFilter::Off);
    log::error!(target: "app", "11 hidden: only critical passes");
    log::logger().flush();
    drop(guard);
}

#[test]
fn init_log_from_env_applies_rust_log() {
    let log = TempLog::new();
    run_child(
        "log_from_env",
        &log.path,
        Some("warn,app::db=debug,hyper=off"),
    );
    assert_eq!(
        records(&log.path),
        [
            "ERROR app: ERROR",
            "WARNING app: WARN",
            "ERROR app::db: ERROR",
            "WARNING app::db: WARN",
            "INFO app::db: INFO",
            "DEBUG app::db: DEBUG",
            "ERROR app::db::pool: ERROR",
            "WARNING app::db::pool: WARN",
            "INFO app::db::pool: INFO",
            "DEBUG app::db::pool: DEBUG",
            "ERROR app::dbx: ERROR",
            "WARNING app::dbx: WARN",
            // A value with `=` in it is quoted by the text format.
            "ERROR child: installed filter=\"warn,app::db=debug,hyper=off\" max=DEBUG",
        ]
    );
}

#[test]
fn without_rust_log_init_log_from_env_passes_errors_only() {
    let log = TempLog::new();
    run_child("log_from_env", &log.path, None);
    let mut expected: Vec<String> = TARGETS
        .iter()
        .map(|target| format!("ERROR {target}: ERROR"))
        .collect();
    expected.push("ERROR child: installed filter=error max=ERROR".to_owned());
    assert_eq!(records(&log.path), expected);
}

#[test]
fn a_bad_rust_log_is_an_error_and_installs_nothing() {
    let log = TempLog::new();
    run_child("log_from_env", &log.path, Some("info,app::db=loud"));
    assert_eq!(
        records(&log.path),
        [
            "ERROR child: cannot install the concurrent log handler as the `log` logger: \
             RUST_LOG: invalid log filter directive \"app::db=loud\": unknown level \"loud\" \
             (expected off, trace, debug, info, warn, error or critical)",
            "INFO child: a later init_log installed the logger",
        ]
    );
}

/// The child side of the `init_log_from_env` tests: installs the logger
/// from `RUST_LOG` and logs every target at every level, or, when that
/// fails, writes the error and shows that nothing was installed.
pub(crate) fn from_env_child(log: PathBuf) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log)
        .build()
        .expect("build");
    match init_log_from_env(handler.clone()) {
        Ok(filter) => {
            log_grid(log::logger());
            let shown = filter.filter().to_string();
            log::error!(
                target: "child",
                filter = shown.as_str(),
                max = log::max_level().as_str();
                "installed"
            );
        }
        Err(err) => {
            let filter_error = err.filter_error().expect("a filter error");
            assert_eq!(filter_error.var(), Some("RUST_LOG"));
            assert!(!err.is_already_installed());
            handler.emit(Record::new(Level::Error, err.to_string()).with_target("child"));
            init_log(handler.clone(), log::LevelFilter::Info).expect("nothing was installed");
            log::info!(target: "child", "a later init_log installed the logger");
        }
    }
    log::logger().flush();
    drop(guard);
}

#[test]
fn the_filters_example_writes_exactly_these_lines() {
    let log = TempLog::new();
    run_child("filters_example", &log.path, None);
    assert_eq!(
        records(&log.path),
        [
            "INFO app: starting version=1.2.0",
            "DEBUG app::db: query req=1",
            "INFO app::http: request served req=1 status=200",
            "DEBUG app::db: query req=2",
            "INFO app::http: request served req=2 status=200",
            "WARNING app: filter reloaded filter=\"warn,app::http=debug\"",
            "DEBUG app::http: request received req=3",
            "INFO app::http: request served req=3 status=200",
            "WARNING app::db: slow query ms=1500",
        ]
    );
}

/// The child side of the example's test: the example's own `run`, with
/// its start filter (not `RUST_LOG`, which `main` would read).
pub(crate) fn example_child(log: PathBuf) {
    let dir = log.parent().expect("the log's directory");
    let filter: Filter = filters_example::START_FILTER.parse().expect("valid");
    let written = filters_example::run(dir, filter).expect("the example runs");
    assert_eq!(written, log);
}

#[test]
fn filter_types_are_send_sync_and_debug() {
    fn check<T: Send + Sync + std::fmt::Debug + Clone>() {}
    check::<Filter>();
    check::<ParseFilterError>();
    check::<FilterHandle>();
}

/// A handler's own filter (`.filter(...)` on every builder) decides what it
/// logs, whichever way records arrive: `emit`, `try_emit` and `emit_wait` on
/// the queued handlers, `emit` on the blocking one, the `log` backend (on
/// top of its own filter) and the tracing layer and writer. What it refuses
/// is not counted: the counters still add up.
#[test]
fn a_handlers_own_filter_applies_to_every_way_in() {
    use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
    use concurrent_log_handler::{AsyncConcurrentHandler, ConcurrentRotatingFileHandler};
    use tracing_subscriber::layer::SubscriberExt;

    let filter: Filter = "warning,app::db=debug".parse().expect("filter");
    let kept = |log: &TempLog| crate::util::sorted_messages(&log.path);
    let want = [
        "app warning",
        "app::db debug",
        "app::db info",
        "app::db warning",
        "hyper warning",
    ];
    let record = |target: &str, level: Level, name: &str| {
        Record::new(level, format!("{target} {name}")).with_target(target.to_owned())
    };

    // The blocking handler.
    let log = TempLog::new();
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .filter(filter.clone())
        .build()
        .expect("build");
    assert!(handler.enabled("app::db::pool", Level::Debug));
    assert!(!handler.enabled("app", Level::Info));
    for (target, level, name) in grid() {
        handler.emit(record(target, level, name)).expect("emit");
    }
    assert_eq!(kept(&log), want);
    assert_eq!(handler.stats().emitted, 5);

    // The async handler, through emit, try_emit and emit_wait.
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .filter(filter.clone())
            .build()
            .expect("build");
        for (i, (target, level, name)) in grid().into_iter().enumerate() {
            match i % 3 {
                0 => handler.emit(record(target, level, name)),
                1 => handler
                    .try_emit(record(target, level, name))
                    .expect("try_emit"),
                _ => handler
                    .emit_wait(record(target, level, name))
                    .await
                    .expect("emit_wait"),
            }
        }
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        assert_eq!((stats.emitted, stats.written), (5, 5), "{stats}");
    });
    assert_eq!(kept(&log), want);

    // The thread handler behind the `log` backend, whose own filter lets
    // everything through: the handler's still decides.
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .filter(filter.clone())
        .build()
        .expect("build");
    let logger = ConcurrentLogger::new(handler.clone(), log::LevelFilter::Trace);
    for (target, ours, name) in grid() {
        let level = match ours {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            _ => log::Level::Warn,
        };
        assert_eq!(
            logger.enabled(&log::Metadata::builder().target(target).level(level).build()),
            handler.enabled(target, ours),
        );
        logger.log(
            &log::Record::builder()
                .target(target)
                .level(level)
                .args(format_args!("{target} {name}"))
                .build(),
        );
    }
    drop(guard);
    assert_eq!(kept(&log), want);

    // The tracing layer and the fmt writer.
    for via_writer in [false, true] {
        let log = TempLog::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .filter(filter.clone())
            .build()
            .expect("build");
        let dispatch = if via_writer {
            tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::TRACE)
                    .without_time()
                    .with_target(false)
                    .with_level(false)
                    .with_writer(handler.clone())
                    .finish(),
            )
        } else {
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler.clone())),
            )
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::debug!(target: "app", "app debug");
            tracing::warn!(target: "app", "app warning");
            tracing::debug!(target: "app::db", "app::db debug");
            tracing::info!(target: "hyper", "hyper info");
        });
        drop(guard);
        let lines = all_lines(&log.path);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines.iter().any(|l| l.ends_with("app warning")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.ends_with("app::db debug")),
            "{lines:?}"
        );
    }
}

/// One record per target and level for the handler-filter test.
fn grid() -> Vec<(&'static str, Level, &'static str)> {
    let mut grid = Vec::new();
    for target in ["app", "app::db", "hyper"] {
        for (level, name) in [
            (Level::Debug, "debug"),
            (Level::Info, "info"),
            (Level::Warn, "warning"),
        ] {
            grid.push((target, level, name));
        }
    }
    grid
}
