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
