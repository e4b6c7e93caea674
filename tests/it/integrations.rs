//! The `tracing` layer and fmt writer, and the `log` backend, on real files.

use concurrent_log_handler::format::JsonFormatter;
use concurrent_log_handler::{AsyncConcurrentHandler, Level, NonBlockingConcurrentHandler};

use crate::util::{TempLog, all_lines, parse_line};

fn current_thread() -> tokio::runtime::Runtime {
    crate::util::current_thread()
}

#[cfg(feature = "tracing")]
mod tracing_layer {
    use super::*;
    use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_become_records_with_level_target_fields_and_span_fields() {
        let log = TempLog::new();
        current_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .sync_level(None)
                .build()
                .expect("build");
            let subscriber =
                tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler.clone()));
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(target: "app::t", "t");
                tracing::debug!(target: "app::t", "d");
                tracing::info!(target: "app::t", "i");
                tracing::warn!(target: "app::t", "w");
                tracing::error!(target: "app::t", "e");
                let request = tracing::info_span!("request", id = 7, user = tracing::field::Empty);
                let _in_request = request.enter();
                request.record("user", "ann");
                let db = tracing::debug_span!("db", table = "orders");
                let _in_db = db.enter();
                let err = std::io::Error::other("disk on fire");
                tracing::warn!(
                    target: "app::db",
                    rows = 3,
                    ok = false,
                    error = &err as &(dyn std::error::Error + 'static),
                    "slow query {}",
                    "q1"
                );
            });
            handler.shutdown().await.expect("shutdown");
        });
        let lines = all_lines(&log.path);
        assert_eq!(lines.len(), 6, "{lines:#?}");
        let levels: Vec<String> = lines.iter().map(|l| parse_line(l).level).collect();
        assert_eq!(
            levels,
            ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "WARNING"]
        );
        assert_eq!(parse_line(&lines[2]).rest, "app::t: i");
        assert_eq!(
            parse_line(&lines[5]).rest,
            "request{id=7 user=ann}:db{table=orders}: app::db: slow query q1 rows=3 ok=false error=\"disk on fire\""
        );
    }

    #[test]
    fn inner_span_fields_override_outer_ones_in_json() {
        let log = TempLog::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .formatter(JsonFormatter::new())
            .build()
            .expect("build");
        let subscriber = tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("outer", id = 1, tenant = "acme");
            let _o = outer.enter();
            let inner = tracing::info_span!("inner", id = 2);
            let _i = inner.enter();
            tracing::info!(k = "v", "hello");
        });
        drop(guard);
        let lines = all_lines(&log.path);
        let line: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON");
        assert_eq!(line["message"], "hello");
        assert_eq!(line["fields"], serde_json::json!({"k": "v"}));
        assert_eq!(line["span"], serde_json::json!({"id": 2, "tenant": "acme"}));
    }

    #[test]
    fn events_at_sync_level_are_on_disk_when_the_macro_returns() {
        let log = TempLog::new();
        current_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .sync_level(Level::Warn)
                .build()
                .expect("build");
            let _default = tracing::subscriber::set_default(
                tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler.clone())),
            );
            tracing::info!("queued");
            tracing::warn!("synchronous");
            // No await since: the WARN is on disk, after the INFO queued
            // before it (a sync record never overtakes its caller's).
            let text = std::fs::read_to_string(&log.path).expect("read");
            let (queued, sync) = (text.find("queued"), text.find("synchronous"));
            assert!(queued.is_some() && queued < sync, "{text}");
            let stats = handler.stats();
            assert_eq!((stats.queued, stats.written), (2, 2), "{stats:?}");
            handler.shutdown().await.expect("shutdown");
        });
        assert_eq!(all_lines(&log.path).len(), 2);
    }

    #[test]
    fn fmt_layer_keeps_its_format_and_writes_through_the_handler() {
        let log = TempLog::new();
        current_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .sync_level(Level::Error)
                .build()
                .expect("build");
            let subscriber = tracing_subscriber::fmt()
                .with_writer(handler.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .finish();
            let _default = tracing::subscriber::set_default(subscriber);
            let span = tracing::info_span!("job", id = 3);
            let _entered = span.enter();
            tracing::debug!(n = 1, "first");
            tracing::error!("second");
            let text = std::fs::read_to_string(&log.path).expect("read");
            let (first, second) = (text.find("first"), text.find("second"));
            assert!(
                first.is_some() && first < second,
                "ERROR was synchronous, after the DEBUG before it: {text}"
            );
            handler.shutdown().await.expect("shutdown");
            let stats = handler.stats();
            assert_eq!((stats.emitted, stats.written), (2, 2), "{stats:?}");
        });
        let lines = all_lines(&log.path);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        // tracing-subscriber's own layout: level, span context, target, fields.
        assert!(
            lines
                .iter()
                .any(|l| l.contains("DEBUG job{id=3}: ") && l.ends_with("first n=1")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("ERROR job{id=3}: ") && l.ends_with("second")),
            "{lines:#?}"
        );
    }

    #[test]
    fn fmt_writer_works_with_the_thread_handler() {
        let log = TempLog::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        let subscriber = tracing_subscriber::fmt()
            .with_writer(handler.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..100 {
                tracing::info!(i, "event");
            }
            tracing::warn!("forged\n2026-01-01T00:00:00Z ERROR fake line\r\\");
        });
        drop(guard);
        let mut lines = all_lines(&log.path);
        let forged = lines.pop().expect("the multi-line event");
        assert!(
            forged.ends_with(r"forged\n2026-01-01T00:00:00Z ERROR fake line\r\"),
            "one event, one line, its line breaks escaped: {forged}"
        );
        assert_eq!(lines.len(), 100);
        for (i, line) in lines.iter().enumerate() {
            assert!(line.ends_with(&format!("event i={i}")), "{line}");
        }
        assert_eq!(handler.stats().written, 101);
    }
}

#[cfg(feature = "tracing")]
mod fmt_writer {
    use std::io::Write as _;

    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// Text that fmt writes as it is, or with its own escapes: nothing here
    /// is a line break, so a line of it is what fmt writes into any file.
    const NO_LINE_BREAK: &[&str] = &[
        "plain",
        "tab\there and \"quotes\" and back\\slash \\n (not a newline)",
        "\x1b[31mred\x1b[0m bell\x07 backspace\x08 del\x7f nul\0",
        "the text \\x1b[31m, not an escape",
        "unicode é 中文 🦀 \u{feff}bom \u{a0}nbsp",
        "}{\"level\":\"ERROR\",\"message\":\"forged\"}",
    ];

    /// Everything a line splitter may split on, and more.
    const HOSTILE: &[&str] = &[
        "multi\nline message with \"quotes\"",
        "cr\r crlf\r\n vt\u{b} ff\u{c} fs\u{1c} gs\u{1d} rs\u{1e}",
        "nel\u{85} ls\u{2028} ps\u{2029} c1\u{9b}",
        "back\\slash \\n \\u2028 \\\" \\",
        "\x1b[31mred\x1b[0m nul\0 tab\t del\x7f",
        "}{\"level\":\"ERROR\",\"message\":\"forged\"}\n{",
        "unicode é 中文 🦀 \u{feff}bom",
    ];

    fn thread_handler(
        path: &std::path::Path,
    ) -> (
        NonBlockingConcurrentHandler,
        concurrent_log_handler::WriterGuard,
    ) {
        NonBlockingConcurrentHandler::builder(path)
            .build()
            .expect("build")
    }

    /// The log's text, which must be UTF-8.
    fn text_of(path: &std::path::Path) -> String {
        String::from_utf8(std::fs::read(path).expect("read")).expect("the log is valid UTF-8")
    }

    /// The same events for every writer: each level, spans, fields of
    /// every kind, and `texts` as message, field and debug value.
    fn log_events(texts: &[&str]) {
        let span = tracing::info_span!("request", id = 7, who = "a \"b\"");
        let _entered = span.enter();
        for (i, text) in texts.iter().enumerate() {
            tracing::trace!(i, "trace {text}");
            tracing::debug!(i, ok = true, x = 0.5, "debug");
            tracing::info!(i, field = *text, "{text}");
            tracing::warn!(i, debug = ?text, "warn");
            tracing::error!(target: "app::db", i, "error {text}");
        }
    }

    #[test]
    fn fmt_text_through_the_handler_is_byte_for_byte_what_tracing_appender_writes() {
        for ansi in [false, true] {
            let dir = tempfile::tempdir().expect("temp dir");
            let appender = tracing_appender::rolling::never(dir.path(), "appender.log");
            let subscriber = tracing_subscriber::fmt()
                .with_writer(appender)
                .with_ansi(ansi)
                .without_time()
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::with_default(subscriber, || log_events(NO_LINE_BREAK));

            let ours = dir.path().join("handler.log");
            let (handler, guard) = thread_handler(&ours);
            let subscriber = tracing_subscriber::fmt()
                .with_writer(handler.clone())
                .with_ansi(ansi)
                .without_time()
                .with_max_level(tracing::Level::TRACE)
                .finish();
            tracing::subscriber::with_default(subscriber, || log_events(NO_LINE_BREAK));
            drop(guard);

            let want = std::fs::read(dir.path().join("appender.log")).expect("read");
            let got = std::fs::read(&ours).expect("read");
            assert_eq!(
                want.iter().filter(|&&b| b == b'\n').count(),
                5 * NO_LINE_BREAK.len()
            );
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "ansi {ansi}"
            );
            assert_eq!(got, want, "ansi {ansi}");
        }
    }

    /// The characters Python's `str.splitlines` splits on (Rust's `lines`
    /// and most shippers split on `\n` alone).
    fn is_line_break(c: char) -> bool {
        matches!(
            c,
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'
                ..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    }

    #[test]
    fn fmt_json_through_the_handler_parses_with_the_original_text() {
        let log = TempLog::new();
        let (handler, guard) = thread_handler(&log.path);
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(handler.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, || log_events(HOSTILE));
        drop(guard);

        let text = text_of(&log.path);
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .expect("ends a line")
            .split('\n')
            .collect();
        assert_eq!(
            lines.len(),
            5 * HOSTILE.len(),
            "one event, one line: {text}"
        );
        let mut infos = 0;
        for line in &lines {
            assert!(
                !line.contains(is_line_break),
                "a raw line break in {line:?}"
            );
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            let i = event["fields"]["i"].as_u64().expect("i") as usize;
            assert_eq!(event["span"]["who"], "a \"b\"", "{line}");
            if event["level"] == "INFO" {
                infos += 1;
                assert_eq!(event["fields"]["message"], HOSTILE[i], "{line}");
                assert_eq!(event["fields"]["field"], HOSTILE[i], "{line}");
            }
            if event["level"] == "ERROR" {
                assert_eq!(event["fields"]["message"], format!("error {}", HOSTILE[i]));
            }
        }
        assert_eq!(infos, HOSTILE.len());
    }

    #[test]
    fn fmt_text_through_the_handler_escapes_line_breaks_and_nothing_else() {
        let log = TempLog::new();
        let (handler, guard) = thread_handler(&log.path);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(handler.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_level(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for text in HOSTILE {
                tracing::info!("{text}");
            }
        });
        drop(guard);
        let text = text_of(&log.path);
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .expect("ends a line")
            .split('\n')
            .collect();
        assert!(
            !text.contains(|c: char| c != '\n' && is_line_break(c)),
            "{text:?}"
        );
        // fmt's own escapes (`\x1b` for an ESC, `\u{9b}` for a C1 control)
        // are kept; only the raw line breaks fmt left are escaped.
        let want = [
            r#"multi\nline message with "quotes""#,
            r"cr\r crlf\r\n vt\u000b ff\x0c fs\u001c gs\u001d rs\u001e",
            "nel\\u{85} ls\\u2028 ps\\u2029 c1\\u{9b}",
            r#"back\slash \n \u2028 \" \"#,
            "\\x1b[31mred\\x1b[0m nul\0 tab\t del\\x7f",
            r#"}{"level":"ERROR","message":"forged"}\n{"#,
            "unicode é 中文 🦀 \u{feff}bom",
        ];
        assert_eq!(lines.len(), want.len(), "{text}");
        for (line, want) in lines.iter().zip(want) {
            assert_eq!(line.trim_start(), want);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let log = TempLog::new();
        let (handler, guard) = thread_handler(&log.path);
        for bytes in [
            &b"\xbc\n"[..],
            b"bad \xbc bytes \xff\xfe end\n",
            b"cut \xe2\x80 sequence\xf0\x9f\xa6\nforged line\n",
        ] {
            let mut writer = handler.make_writer();
            writer.write_all(bytes).expect("write");
        }
        drop(guard);
        let text = text_of(&log.path);
        assert_eq!(
            text,
            "\u{fffd}\nbad \u{fffd} bytes \u{fffd}\u{fffd} end\ncut \u{fffd} sequence\u{fffd}\\nforged line\n"
        );
    }
}

#[cfg(feature = "log")]
mod log_backend {
    use super::*;
    use concurrent_log_handler::integrations::log::{ConcurrentLogger, init_log};
    use log::Log;

    #[test]
    fn records_carry_level_target_message_and_key_values() {
        let log = TempLog::new();
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .build()
            .expect("build");
        let logger = ConcurrentLogger::new(handler.clone(), log::LevelFilter::Debug);
        let kvs: [(&str, i64); 2] = [("user", 42), ("attempt", 2)];
        for level in [
            log::Level::Error,
            log::Level::Warn,
            log::Level::Info,
            log::Level::Debug,
            log::Level::Trace,
        ] {
            logger.log(
                &log::Record::builder()
                    .level(level)
                    .target("app::auth")
                    .args(format_args!("login {}", "failed"))
                    .key_values(&kvs)
                    .build(),
            );
        }
        assert!(!logger.enabled(&log::Metadata::builder().level(log::Level::Trace).build()));
        assert!(logger.enabled(&log::Metadata::builder().level(log::Level::Debug).build()));
        logger.flush();
        // flush waited for the queue: everything is on disk before the guard drops.
        let lines = all_lines(&log.path);
        drop(guard);
        let levels: Vec<String> = lines.iter().map(|l| parse_line(l).level).collect();
        assert_eq!(
            levels,
            ["ERROR", "WARNING", "INFO", "DEBUG"],
            "Trace is filtered"
        );
        for line in &lines {
            assert_eq!(
                parse_line(line).rest,
                "app::auth: login failed user=42 attempt=2"
            );
        }
    }

    /// The only test that installs the global `log` logger (one per process).
    #[test]
    fn init_log_installs_the_global_logger_once() {
        let log = TempLog::new();
        current_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .build()
                .expect("build");
            init_log(handler.clone(), log::LevelFilter::Info).expect("first init");
            assert_eq!(log::max_level(), log::LevelFilter::Info);
            log::info!(target: "app", order = 7; "paid");
            log::debug!(target: "app", "not logged");
            log::error!(target: "app", "failed");
            let again = init_log(handler.clone(), log::LevelFilter::Trace).unwrap_err();
            assert!(again.to_string().contains("already installed"), "{again}");
            assert!(again.is_already_installed() && again.filter_error().is_none());
            assert!(std::error::Error::source(&again).is_some());
            assert_eq!(
                log::max_level(),
                log::LevelFilter::Info,
                "a failed init changes nothing"
            );
            handler.shutdown().await.expect("shutdown");
        });
        let lines = all_lines(&log.path);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert_eq!(parse_line(&lines[0]).rest, "app: paid order=7");
        assert_eq!(parse_line(&lines[1]).level, "ERROR");
    }
}

/// The new public types are Send + Sync + Debug, like the rest of the API.
#[test]
fn integration_types_are_send_sync_and_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<
        concurrent_log_handler::integrations::tracing::ConcurrentLogLayer<AsyncConcurrentHandler>,
    >();
    check::<
        concurrent_log_handler::integrations::tracing::ConcurrentLogLayer<
            NonBlockingConcurrentHandler,
        >,
    >();
    check::<
        concurrent_log_handler::integrations::tracing::EventWriter<'static, AsyncConcurrentHandler>,
    >();
    check::<
        concurrent_log_handler::integrations::log::ConcurrentLogger<NonBlockingConcurrentHandler>,
    >();
    check::<concurrent_log_handler::integrations::log::InitLogError>();
    check::<concurrent_log_handler::integrations::log::FilterHandle>();
    check::<JsonFormatter>();
    #[cfg(feature = "config")]
    {
        check::<concurrent_log_handler::config::HandlerConfig>();
        check::<concurrent_log_handler::config::LogFormat>();
    }
}
