//! `HandlerConfig`: Python CLH's option names in TOML and JSON, our own
//! options, and clear errors for what is wrong or not supported.

use concurrent_log_handler::config::HandlerConfig;
use concurrent_log_handler::{Error, ErrorKind, Level, Record};

use crate::util::{TempLog, all_lines};

fn reason(err: Error) -> String {
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    err.to_string()
}

/// Asserts that the parsed settings (shown by `Debug`) hold each of `want`.
fn assert_settings(config: &HandlerConfig, want: &[&str]) {
    let shown = format!("{config:?}");
    for setting in want {
        assert!(shown.contains(setting), "{setting} not in {shown}");
    }
}

#[test]
fn python_names_and_ours_parse_from_toml() {
    let config = HandlerConfig::from_toml_str(
        r#"
        filename = "logs/app.log"
        maxBytes = 1048576
        backupCount = 3
        use_gzip = false
        lock_file_directory = "/tmp/locks"
        chmod = 0o600
        queue_capacity = 500
        fallback_mode = "nowait"
        sync_level = "warning"
        utc = true
        format = "json"
        "#,
    )
    .expect("parse");
    assert_eq!(config.filename().to_str(), Some("logs/app.log"));
    assert_settings(
        &config,
        &[
            "max_bytes: 1048576",
            "backup_count: 3",
            "use_gzip: false",
            "lock_file_directory: Some(\"/tmp/locks\")",
            "file_mode: Some(384)",
            "queue_capacity: Some(500)",
            "fallback_mode: Some(Nowait)",
            "sync_level: Some(Some(Warn))",
            "utc: true",
            "format: Json",
        ],
    );
}

#[test]
fn snake_case_names_parse_from_json_and_defaults_fill_the_rest() {
    let config = HandlerConfig::from_json_str(
        r#"{"filename": "app.log", "max_bytes": 2048, "sync_level": "none"}"#,
    )
    .expect("parse");
    assert_settings(
        &config,
        &[
            "max_bytes: 2048",
            "sync_level: Some(None)",
            "backup_count: 5",
            "format: Text",
        ],
    );

    let camel = HandlerConfig::from_json_str(
        r#"{"filename": "app.log", "maxBytes": 2048, "backupCount": 5, "sync_level": "off"}"#,
    )
    .expect("parse");
    assert_eq!(format!("{camel:?}"), format!("{config:?}"));
}

#[test]
fn unknown_and_python_only_options_are_refused_by_name() {
    let err = HandlerConfig::from_toml_str("filename = \"a.log\"\ndelay = true\n").unwrap_err();
    let why = reason(err);
    assert!(why.contains("unknown field `delay`"), "{why}");
    assert!(
        why.contains("Python concurrent-log-handler option"),
        "{why}"
    );

    let why = reason(
        HandlerConfig::from_json_str(r#"{"filename": "a.log", "encoding": "utf-8"}"#).unwrap_err(),
    );
    assert!(why.contains("`encoding`") && why.contains("UTF-8"), "{why}");

    let why =
        reason(HandlerConfig::from_toml_str("filename = \"a.log\"\nmax_byte = 1\n").unwrap_err());
    assert!(why.contains("unknown field `max_byte`"), "{why}");
}

#[test]
fn bad_values_and_syntax_say_what_is_wrong() {
    let cases = [
        (
            "filename = \"a.log\"\nsync_level = \"loud\"\n",
            "unknown log level",
        ),
        (
            "filename = \"a.log\"\nfallback_mode = \"later\"\n",
            "unknown fallback mode",
        ),
        (
            "filename = \"a.log\"\nformat = \"xml\"\n",
            "unknown variant `xml`",
        ),
        ("filename = \"a.log\"\nmaxBytes = -1\n", "line 2"),
        ("maxBytes = 1\n", "missing field `filename`"),
        ("filename = \n", "TOML"),
    ];
    for (text, want) in cases {
        let why = reason(HandlerConfig::from_toml_str(text).unwrap_err());
        assert!(why.contains(want), "{text:?}: {why}");
    }
    let why = reason(HandlerConfig::from_json_str("{\"filename\": 3}").unwrap_err());
    assert!(why.contains("JSON") && why.contains("line 1"), "{why}");
}

#[test]
fn use_gzip_and_timed_options_build_a_compressing_timed_handler() {
    let log = TempLog::new();
    let toml = format!(
        "filename = \"{}\"\nuse_gzip = true\nmaxBytes = 2000\nbackupCount = 50\nwhen = \"H\"\ninterval = 2\nmax_age_seconds = 86400\nutc = true\n",
        log.path.display()
    );
    let config = HandlerConfig::from_toml_str(&toml).expect("parse");
    assert_settings(&config, &["when: Some(\"H\")", "interval: Some(2)"]);
    let (handler, guard) = config.build_nonblocking().expect("build");
    for seq in 0..200 {
        handler.emit(crate::fallback::record(0, seq));
    }
    drop(guard);
    let stats = handler.stats();
    assert!(stats.rotations >= 5, "{stats:?}");
    assert_eq!(stats.compressions, stats.rotations, "{stats:?}");
    let gz = std::fs::read_dir(log.dir.path())
        .expect("read dir")
        .filter(|e| {
            let name = e
                .as_ref()
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            // Size rollovers with a time rule get timed names: app.log.<date>_<hour>[.k].gz
            name.starts_with("app.log.20") && name.ends_with(".gz")
        })
        .count();
    assert_eq!(gz as u64, stats.rotations);

    for (bad, expected) in [
        ("compression = \"lz4\"", "expected \"none\""),
        ("use_gzip = true\ncompression = \"zstd\"", "contradict"),
        ("when = \"W7\"", "W0 to W6"),
        ("interval = 3", "needs when"),
        // interval × unit would overflow: refused, not wrapped (nor a panic).
        (
            "when = \"D\"\ninterval = 18446744073709551615",
            "too long a period",
        ),
        (
            "when = \"H\"\ninterval = 9223372036854775807",
            "too long a period",
        ),
    ] {
        let toml = format!("filename = \"{}\"\n{bad}\n", log.path.display());
        let config = HandlerConfig::from_toml_str(&toml).expect("parse");
        let why = reason(config.build_nonblocking().unwrap_err());
        assert!(why.contains(expected), "{bad}: {why}");
    }
}

#[test]
fn a_misspelt_option_is_refused_with_the_nearest_one_suggested() {
    for (typo, want) in [
        ("backupcount = 3", "did you mean `backup_count`?"),
        ("backupCont = 3", "did you mean `backupCount`?"),
        ("maxbytes = 3", "did you mean `max_bytes`?"),
    ] {
        let why = reason(
            HandlerConfig::from_toml_str(&format!("filename = \"a.log\"\n{typo}\n")).unwrap_err(),
        );
        assert!(why.contains(want), "{typo}: {why}");
    }
}

#[test]
fn midnight_with_an_interval_rolls_every_n_days_like_python() {
    let log = TempLog::new();
    let toml = format!(
        "filename = {:?}\nwhen = \"MIDNIGHT\"\ninterval = 2\nutc = true\n",
        log.path
    );
    let config = HandlerConfig::from_toml_str(&toml).expect("Python accepts it, so do we");
    let (handler, guard) = config.build_nonblocking().expect("build");
    handler.emit(Record::new(Level::Info, "x"));
    drop(guard);
    // The next rollover, kept in the lock file, is a midnight two days on.
    let lock = std::fs::read_to_string(log.dir.path().join(".__app.lock")).expect("lock file");
    let at: i64 = lock.trim().parse().expect("epoch seconds");
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(at % 86_400, 0, "at midnight UTC");
    assert!(at - now > 86_400 && at - now <= 2 * 86_400, "{at} vs {now}");
}

#[test]
fn nowait_is_refused_for_the_thread_handler() {
    let log = TempLog::new();
    let toml = format!("filename = {:?}\nfallback_mode = \"nowait\"\n", log.path);
    let config = HandlerConfig::from_toml_str(&toml).expect("parse");
    let why = reason(config.build_nonblocking().unwrap_err());
    assert!(why.contains("only for the async handler"), "{why}");
}

#[test]
fn a_config_file_builds_a_working_rotating_handler() {
    let log = TempLog::new();
    let config_path = log.dir.path().join("logging.toml");
    std::fs::write(
        &config_path,
        format!(
            "filename = {:?}\nmaxBytes = 400\nbackupCount = 2\nutc = true\nsync_level = \"none\"\n",
            log.path
        ),
    )
    .expect("write config");
    let config = HandlerConfig::from_file(&config_path).expect("parse");
    let runtime = crate::util::current_thread();
    runtime.block_on(async {
        let handler = config.build_async().expect("build");
        for seq in 0..20 {
            handler.emit(Record::new(
                Level::Critical,
                format!("record {seq:02} {}", "x".repeat(40)),
            ));
        }
        handler.shutdown().await.expect("shutdown");
        assert_eq!(
            handler.stats().fallback,
            0,
            "sync_level none queues CRITICAL too"
        );
        assert!(handler.stats().rotations > 0);
    });
    let lines = all_lines(&log.path);
    assert!(lines.iter().all(|l| l.contains("Z CRITICAL ")), "{lines:?}");
    // Two backups of ~400 bytes: the newest records survive, in order.
    let last = lines.last().expect("lines");
    assert!(last.contains("record 19"), "{last}");

    let json_path = log.dir.path().join("logging.json");
    std::fs::write(&json_path, r#"{"filename": "x.log", "format": "json"}"#).expect("write");
    assert_settings(
        &HandlerConfig::from_file(&json_path).expect("parse"),
        &["format: Json"],
    );
    // A missing file is an I/O error with its path, not a bad config.
    let err = HandlerConfig::from_file(log.dir.path().join("missing.toml")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadConfig, "{err}");
    assert_eq!(
        err.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

/// `level` (Python's handler level) and `filter` (directives) decide what
/// lands in the file; giving both, or a bad directive, is a clear error.
#[test]
fn level_and_filter_keys_decide_what_lands_in_the_file() {
    let grid = |config: &HandlerConfig| {
        let (handler, guard) = config.build_nonblocking().expect("build");
        for target in ["app", "app::db", "hyper"] {
            for level in [Level::Debug, Level::Info, Level::Warn, Level::Error] {
                handler.emit(Record::new(level, format!("{target} {level}")).with_target(target));
            }
        }
        drop(guard);
        crate::util::sorted_messages(config.filename())
    };

    let log = TempLog::new();
    let config =
        HandlerConfig::from_toml_str(&format!("filename = {:?}\nlevel = \"WARNING\"\n", log.path))
            .expect("parse");
    assert_eq!(
        grid(&config),
        [
            "app ERROR",
            "app WARNING",
            "app::db ERROR",
            "app::db WARNING",
            "hyper ERROR",
            "hyper WARNING"
        ]
    );

    let log = TempLog::new();
    let config = HandlerConfig::from_json_str(&format!(
        r#"{{"filename": {:?}, "filter": "warning,app::db=debug,hyper=off"}}"#,
        log.path
    ))
    .expect("parse");
    assert_eq!(
        grid(&config),
        [
            "app ERROR",
            "app WARNING",
            "app::db DEBUG",
            "app::db ERROR",
            "app::db INFO",
            "app::db WARNING"
        ]
    );

    let both = HandlerConfig::from_toml_str(
        "filename = \"x.log\"\nlevel = \"info\"\nfilter = \"debug\"\n",
    )
    .expect("parse");
    let err = reason(both.nonblocking_builder().unwrap_err());
    assert!(err.contains("level and filter"), "{err}");
    let bad = HandlerConfig::from_toml_str("filename = \"x.log\"\nfilter = \"app=loud\"\n");
    let err = reason(bad.unwrap_err());
    assert!(err.contains("app=loud"), "{err}");
}

/// Numbers no setting can mean: a period beyond what the clock arithmetic
/// holds (a deadline `Instant + Duration` panics, a rollover `n` days on
/// panics in the calendar code), floats, negatives. Each is an
/// `InvalidConfig` naming its option, at build, before any file is opened,
/// never a panic in the writer later.
#[test]
fn hostile_numbers_are_refused_naming_their_option_before_any_file_is_opened() {
    let log = TempLog::new();
    let periods = [
        // The earlier name of confirm_timeout_seconds, as the fuzzer found it.
        (
            "syslog = { url = \"udp://127.0.0.1:9\", flush_timeout_seconds = 9223372036853775807 }",
            "confirm_timeout_seconds = 9223372036853775807",
        ),
        (
            "syslog = { url = \"udp://127.0.0.1:9\", confirm_timeout_seconds = 18446744073709551615 }",
            "confirm_timeout_seconds = 18446744073709551615",
        ),
        (
            "syslog = { url = \"udp://127.0.0.1:9\", confirm_timeout_seconds = 3155760001 }",
            "confirm_timeout_seconds = 3155760001",
        ),
        (
            "syslog = { url = \"udp://127.0.0.1:9\", when_full = { wait_ms = 18446744073709551615 } }",
            "when_full wait_ms = 18446744073709551615",
        ),
        (
            "max_age_seconds = 18446744073709551615",
            "max_age_seconds = 18446744073709551615",
        ),
        (
            "when = \"MIDNIGHT\"\ninterval = 4294967295",
            "interval = 4294967295",
        ),
        (
            "when = \"MIDNIGHT\"\ninterval = 7304485",
            "interval = 7304485",
        ),
        ("when = \"D\"\ninterval = 36526", "interval = 36526"),
        (
            "when = \"S\"\ninterval = 3155760001",
            "interval = 3155760001",
        ),
    ];
    for (bad, key) in periods {
        let toml = format!("filename = \"{}\"\n{bad}\n", log.path.display());
        let config = HandlerConfig::from_toml_str(&toml).expect("parse");
        let why = reason(config.build_nonblocking().unwrap_err());
        assert!(
            why.contains(key) && why.contains("100 years"),
            "{bad}: {why}"
        );
        let why = reason(config.async_builder().expect_err("refused"));
        assert!(why.contains(key), "{bad}: {why}");
        assert!(!log.path.exists(), "{bad}: no file before the error");
    }
    // The longest period allowed still builds and logs.
    let toml = format!(
        "filename = \"{}\"\nwhen = \"D\"\ninterval = 36525\nmax_age_seconds = 3155760000\n\
         syslog = {{ url = \"udp://127.0.0.1:9\", confirm_timeout_seconds = 3155760000, \
         when_full = {{ wait_ms = 3155760000000 }} }}\n",
        log.path.display()
    );
    let (handler, guard) = HandlerConfig::from_toml_str(&toml)
        .expect("parse")
        .build_nonblocking()
        .expect("100 years is allowed");
    handler.emit(Record::new(Level::Info, "x"));
    drop(guard);
    assert_eq!(all_lines(&log.path).len(), 1);

    // Floats, negatives and numbers beyond u64 are a type error of the parser.
    for bad in [
        "max_age_seconds = nan",
        "max_age_seconds = inf",
        "max_age_seconds = -inf",
        "max_age_seconds = 1.5",
        "max_age_seconds = -1",
        "interval = -1",
        "maxBytes = 18446744073709551616",
        "syslog = { url = \"udp://127.0.0.1:9\", confirm_timeout_seconds = nan }",
        "syslog = { url = \"udp://127.0.0.1:9\", buffer_capacity = -1 }",
    ] {
        let toml = format!("filename = \"a.log\"\n{bad}\n");
        let why = reason(HandlerConfig::from_toml_str(&toml).unwrap_err());
        assert!(why.contains("line 2"), "{bad}: {why}");
    }
    for bad in [
        r#"{"filename": "a.log", "max_age_seconds": 1e400}"#,
        r#"{"filename": "a.log", "max_age_seconds": -1}"#,
        r#"{"filename": "a.log", "max_age_seconds": 1.5}"#,
        r#"{"filename": "a.log", "syslog": {"url": "udp://127.0.0.1:9", "confirm_timeout_seconds": 1e19}}"#,
    ] {
        let why = reason(HandlerConfig::from_json_str(bad).unwrap_err());
        assert!(why.contains("JSON"), "{bad}: {why}");
    }
}
