//! The public surface: auto traits, Debug output, defaults.

use concurrent_log_handler::{
    AsyncConcurrentHandler, AsyncConcurrentHandlerBuilder, ConcurrentRotatingFileHandler,
    ConcurrentRotatingFileHandlerBuilder, Error, FallbackMode, Level, Record, Stats, TryEmitError,
};

use crate::util::TempLog;

fn send_sync<T: Send + Sync>() {}
fn send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync_static::<AsyncConcurrentHandler>();
    send_sync::<AsyncConcurrentHandlerBuilder>();
    send_sync::<ConcurrentRotatingFileHandler>();
    send_sync::<ConcurrentRotatingFileHandlerBuilder>();
    send_sync::<Error>();
    send_sync::<Record>();
    send_sync::<Level>();
    send_sync::<Stats>();
    send_sync::<FallbackMode>();
    send_sync::<TryEmitError>();
}

#[test]
fn debug_output_shows_configuration_and_counters_never_payloads() {
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        handler.emit(Record::new(Level::Info, "secret payload"));
        let text = format!("{handler:?}");
        assert!(
            text.contains("fallback_mode: Drop") && text.contains("queued: 1"),
            "{text}"
        );
        assert!(!text.contains("secret payload"), "{text}");
        handler.shutdown().await.expect("shutdown");
    });
    let blocking = ConcurrentRotatingFileHandler::builder(&log.path)
        .build()
        .expect("build");
    assert!(format!("{blocking:?}").contains("app.log"));
}

#[test]
fn defaults_match_the_documented_constants() {
    assert_eq!(concurrent_log_handler::DEFAULT_QUEUE_CAPACITY, 10_000);
    assert_eq!(
        concurrent_log_handler::DEFAULT_ASYNC_SYNC_LEVEL,
        Level::Critical
    );
    assert_eq!(
        concurrent_log_handler::DEFAULT_ASYNC_FALLBACK_MODE,
        FallbackMode::Drop
    );
    assert_eq!(
        concurrent_log_handler::DEFAULT_THREAD_FALLBACK_MODE,
        FallbackMode::Block
    );
    let log = TempLog::new();
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        assert_eq!(handler.stats().queue_capacity, 10_000);
        assert_eq!(handler.path(), log.path);
    });
}

#[test]
fn errors_convert_to_io_errors_keeping_kind_and_path() {
    let log = TempLog::new();
    let dir_as_log = log.dir.path().join("d.log");
    std::fs::create_dir(&dir_as_log).expect("mkdir");
    let err = ConcurrentRotatingFileHandler::builder(&dir_as_log)
        .build()
        .expect_err("dir");
    let kind = err.io_error().expect("io").kind();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), kind);
    assert!(io.to_string().contains("d.log"), "{io}");
}

/// A formatter that writes the name of the thread it runs on.
#[derive(Debug)]
struct ThreadName;

impl concurrent_log_handler::format::Formatter for ThreadName {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let thread = std::thread::current();
        out.extend_from_slice(thread.name().unwrap_or("unnamed").as_bytes());
        out.push(b' ');
        out.extend_from_slice(record.message().as_bytes());
    }
}

/// By default the writer thread formats (the caller only queues the
/// record); `format_on_writer(false)` has every caller format its own, for
/// formatters that read the calling thread. Both queued handlers.
#[test]
fn format_on_writer_decides_which_thread_runs_the_formatter() {
    for on_writer in [true, false] {
        let log = TempLog::new();
        let (thread_handler, guard) =
            concurrent_log_handler::NonBlockingConcurrentHandler::builder(&log.path)
                .formatter(ThreadName)
                .format_on_writer(on_writer)
                .build()
                .expect("build");
        let runtime = crate::util::current_thread();
        let async_handler = runtime.block_on(async {
            AsyncConcurrentHandler::builder(&log.path)
                .formatter(ThreadName)
                .format_on_writer(on_writer)
                .build()
                .expect("build")
        });
        std::thread::Builder::new()
            .name("caller".into())
            .spawn(move || {
                for i in 0..10 {
                    thread_handler.emit(Record::new(Level::Info, format!("thread {i}")));
                    async_handler.emit(Record::new(Level::Info, format!("async {i}")));
                }
                thread_handler.flush().expect("flush");
                runtime
                    .block_on(async_handler.shutdown())
                    .expect("shutdown");
            })
            .expect("spawn")
            .join()
            .expect("caller");
        drop(guard);
        let lines = crate::util::all_lines(&log.path);
        assert_eq!(lines.len(), 20, "{lines:?}");
        let expected = if on_writer { "clh-writer " } else { "caller " };
        assert!(
            lines.iter().all(|line| line.starts_with(expected)),
            "on_writer {on_writer}: {lines:?}"
        );
    }
}
