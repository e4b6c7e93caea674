//! The public syslog pieces against a real rsyslogd: `SyslogFormatter`'s
//! messages, framed by hand (RFC 6587 octet counting) over a plain TCP
//! socket, parse in rsyslogd with every field and hostile string intact;
//! `SyslogConfig` refuses what it cannot use. The sink itself is tested
//! inside the crate (`src/net/tests/`), where it is visible.

use std::io::Write;
use std::time::Duration;

use concurrent_log_handler::format::{Facility, Formatter, SyslogFormatter};
use concurrent_log_handler::{ErrorKind, Level, Record, SyslogConfig};

use crate::rsyslog::{Listeners, Rsyslog, parse_sd, unescape};

#[test]
fn syslog_formatter_output_parses_in_rsyslogd_with_hostile_text_intact() {
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners::default()) else {
        return;
    };
    let formatter = SyslogFormatter::new()
        .facility(Facility::Daemon)
        .app_name("it app") // the space becomes `_`
        .hostname("host.example");
    let hostile = [
        "plain",
        "new\nline and \r\n crlf",
        "quote \" bracket ] backslash \\ open [",
        "ünïcödé ✓ 日本語 \u{2028} \u{85} \x1b[31m",
        "",
    ];
    let levels = [
        Level::Critical,
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
    ];
    let mut wire = Vec::new();
    for (i, (text, level)) in hostile.iter().zip(levels).enumerate() {
        let record = Record::new(level, *text)
            .with_target(if i == 0 { "" } else { "it::syslog" })
            .with_field("i", i)
            .with_field("text", *text)
            .with_field("k=\"]", "v");
        let mut message = Vec::new();
        formatter.format(&record, &mut message);
        write!(wire, "{} ", message.len()).expect("vec");
        wire.extend_from_slice(&message);
    }
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", rsyslog.ports.tcp)).expect("connect");
    stream.write_all(&wire).expect("send");
    drop(stream);
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= hostile.len());
    assert_eq!(received.len(), hostile.len(), "{}", rsyslog.stderr());
    for (i, r) in received.iter().enumerate() {
        assert_eq!(u32::from(r.severity), [2, 3, 4, 6, 7][i], "{r:?}");
        assert_eq!(r.facility, 3, "daemon");
        assert_eq!(
            (r.app.as_str(), r.host.as_str()),
            ("it_app", "host.example")
        );
        assert_eq!(r.procid, std::process::id().to_string());
        assert_eq!(r.msgid, if i == 0 { "-" } else { "it::syslog" });
        assert_eq!(unescape(&r.msg), hostile[i], "{r:?}");
        let sd = parse_sd(&r.sd);
        assert_eq!(sd.len(), 1);
        assert_eq!(sd[0].0, "fields@32473");
        let params = &sd[0].1;
        assert_eq!(params[0], ("i".to_owned(), i.to_string()));
        assert_eq!(unescape(&params[1].1), hostile[i]);
        assert_eq!(params[2], ("k___".to_owned(), "v".to_owned()));
    }
}

#[test]
fn syslog_config_refuses_urls_it_cannot_use() {
    for url in [
        "logs:514",
        "ftp://logs",
        "tcp://logs:x",
        "unix://relative/path",
        // Hosts no resolver takes fail here, with the URL, not at connect.
        "tcp://f[:514",
        "tcp://\0:514",
        "relp://logs.example.org\n:2514",
        "tcp://logs example:514",
        "udp://1.2.3:514",
        "tcp://::1:514",
        "unix:///dev/lo\0g",
    ] {
        let err = SyslogConfig::new(url).expect_err(url);
        assert!(err.kind() == ErrorKind::InvalidConfig, "{url:?}: {err}");
        assert!(err.to_string().contains(&format!("{url:?}")), "{err}");
    }
    let config = SyslogConfig::new("relp://127.0.0.1:2514").expect("valid");
    assert_eq!(config.url(), "relp://127.0.0.1:2514");
}

// ---- The handlers forwarding to rsyslogd ----------------------------------

use concurrent_log_handler::{
    AsyncConcurrentHandler, Confirmation, FallbackMode, NonBlockingConcurrentHandler,
};

use crate::fallback::record;
use crate::util::{TempLog, all_lines, assert_complete, check_records};

/// `(writer, seq)` of a test record's message as rsyslogd received it.
fn record_id(received: &crate::rsyslog::Received) -> Option<(usize, usize)> {
    let msg = unescape(&received.msg);
    let mut parts = msg.splitn(3, ' ');
    let writer = parts.next()?.strip_prefix('w')?.parse().ok()?;
    let seq = parts.next()?.strip_prefix('s')?.parse().ok()?;
    Some((writer, seq))
}

/// Every test record exactly once, in order per writer.
fn assert_each_once(received: &[crate::rsyslog::Received], writers: usize, per_writer: usize) {
    let mut next = vec![0; writers];
    for r in received {
        let Some((writer, seq)) = record_id(r) else {
            continue; // the handler's own reports
        };
        assert_eq!(
            seq, next[writer],
            "writer {writer}: out of order or doubled"
        );
        next[writer] += 1;
    }
    assert_eq!(next, vec![per_writer; writers], "records missing");
}

/// Both handlers forward over RELP with `Confirmation::Both`: every record
/// is in the local file and at the collector exactly once, with its
/// severity, app name and fields; a confirmed record is at the collector
/// when `emit_wait` returns; per-sink stats add up.
#[test]
fn handlers_forward_every_record_over_relp_and_emit_wait_means_the_collector_has_it() {
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let url = format!("relp://127.0.0.1:{}", rsyslog.ports.relp);
    let config = SyslogConfig::new(&url)
        .expect("url")
        .facility(Facility::Local3)
        .app_name("api")
        .confirmation(Confirmation::Both);
    let log = TempLog::new();
    let per_writer = 2_000;
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .fallback_mode(FallbackMode::Block)
            .syslog(config.clone())
            .build()
            .expect("build");
        for seq in 0..per_writer - 1 {
            handler.emit(record(0, seq));
        }
        handler
            .emit_wait(record(0, per_writer - 1))
            .await
            .expect("confirmed by file and collector");
        // Confirmed by the collector: it is in rsyslogd's output now.
        let received = rsyslog.received();
        assert!(
            received
                .iter()
                .any(|r| record_id(r) == Some((0, per_writer - 1))),
            "the confirmed record is not at the collector yet"
        );
        handler.shutdown().await.expect("shutdown");
        let stats = handler.stats();
        let sink = stats.syslog.expect("sink stats");
        assert_eq!(sink.delivered, per_writer as u64, "{stats:?}");
        assert_eq!((sink.dropped, sink.failed), (0, 0), "{stats:?}");
        assert!(sink.adds_up(), "{stats:?}");
    });
    let (thread, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .syslog(config)
        .build()
        .expect("build");
    for seq in 0..per_writer {
        thread.emit(record(1, seq));
    }
    drop(guard);
    assert_complete(&check_records(&all_lines(&log.path), true), 2, per_writer);
    let received = rsyslog.wait_until(Duration::from_secs(30), |got| got.len() >= 2 * per_writer);
    assert_each_once(&received, 2, per_writer);
    let first = &received[0];
    assert_eq!(
        (first.facility, first.severity, first.app.as_str()),
        (19, 6, "api"),
        "{first:?}"
    );
    // The target is the msgid; test records carry no fields.
    assert_eq!(
        (first.msgid.as_str(), first.sd.as_str()),
        ("it", "-"),
        "{first:?}"
    );
}

/// While the collector is frozen (SIGSTOP), `emit_wait` with
/// `Confirmation::Collector` does not resolve; once it runs again, it does,
/// and the record is there.
#[test]
fn emit_wait_confirmed_by_the_collector_waits_for_its_acknowledgement() {
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let url = format!("relp://127.0.0.1:{}", rsyslog.ports.relp);
    let log = TempLog::new();
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .syslog(
                SyslogConfig::new(&url)
                    .expect("url")
                    .confirmation(Confirmation::Collector),
            )
            .build()
            .expect("build");
        handler.emit_wait(record(0, 0)).await.expect("connected");
        rsyslog.pause();
        let waiting = tokio::spawn({
            let handler = handler.clone();
            async move { handler.emit_wait(record(0, 1)).await }
        });
        // Frozen, it cannot acknowledge: this wait only gives the confirm
        // the chance to come too early.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !waiting.is_finished(),
            "confirmed before the collector acknowledged"
        );
        assert!(
            std::fs::read_to_string(&log.path)
                .expect("read")
                .contains("s000000001"),
            "the local file has it already"
        );
        rsyslog.resume();
        waiting.await.expect("join").expect("acknowledged");
        assert!(
            rsyslog
                .received()
                .iter()
                .any(|r| record_id(r) == Some((0, 1)))
        );
        handler.shutdown().await.expect("shutdown");
    });
}

/// An unreachable collector never makes `emit` wait in `Drop` mode; the
/// local file keeps every record; what the forwarding's buffer could not
/// hold is counted and reported in the local log.
#[test]
fn an_unreachable_collector_never_blocks_emit_and_the_file_keeps_everything() {
    let errors = crate::util::Reports::new();
    // A port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = SyslogConfig::new(format!("relp://127.0.0.1:{port}"))
        .expect("url")
        .buffer_capacity(100)
        .confirm_timeout(Duration::from_millis(300));
    let log = TempLog::new();
    let total = 5_000;
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(100_000)
            .on_error(errors.hook())
            .syslog(config)
            .build()
            .expect("build");
        let started = std::time::Instant::now();
        for seq in 0..total {
            handler.emit(record(0, seq));
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "emit waited for the network"
        );
        handler.flush().await.expect("the local file is fine");
        let _ = handler.shutdown().await; // the collector's part times out
        let sink = handler.stats().syslog.expect("sink stats");
        assert!(sink.dropped > 0 && sink.connect_errors > 0, "{sink:?}");
    });
    let (reports, lines): (Vec<String>, Vec<String>) = all_lines(&log.path)
        .into_iter()
        .partition(|l| l.contains("not delivered to the syslog collector"));
    assert!(
        !reports.is_empty(),
        "the refusals are reported in the local log"
    );
    assert_complete(&check_records(&lines, true), 1, total);
    errors.assert_each_contains(&format!("relp://127.0.0.1:{port}"));
}

/// The `syslog` table of a TOML config forwards through a real collector,
/// and its mistakes are refused by name.
#[test]
fn a_config_file_with_a_syslog_table_forwards_to_the_collector() {
    use concurrent_log_handler::config::HandlerConfig;
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        tcp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let log = TempLog::new();
    let toml = format!(
        "filename = {:?}\nsyslog = {{ url = \"tcp://127.0.0.1:{}\", facility = \"local0\", app_name = \"cfg\", confirmation = \"both\" }}\n",
        log.path, rsyslog.ports.tcp
    );
    let config = HandlerConfig::from_toml_str(&toml).expect("parse");
    let (handler, guard) = config.build_nonblocking().expect("build");
    for seq in 0..10 {
        handler
            .emit_wait(record(0, seq))
            .expect("file and collector");
    }
    drop(guard);
    let received = rsyslog.wait_until(Duration::from_secs(30), |got| got.len() >= 10);
    assert_each_once(&received, 1, 10);
    assert_eq!(
        (received[0].facility, received[0].app.as_str()),
        (16, "cfg")
    );
    for (bad, want) in [
        (
            "syslog = { url = \"tcp://h:1\", colour = \"red\" }",
            "unknown field `colour`",
        ),
        (
            "syslog = { url = \"tcp://h:1\", facility = \"loud\" }",
            "syslog facility",
        ),
        (
            "syslog = { url = \"tcp://h:1\", confirmation = \"maybe\" }",
            "\"maybe\"",
        ),
        ("syslog = { url = \"ftp://h:1\" }", "ftp://h:1"),
    ] {
        let toml = format!("filename = {:?}\n{bad}\n", log.path);
        let err = HandlerConfig::from_toml_str(&toml)
            .and_then(|config| config.build_nonblocking().map(|_| ()))
            .expect_err(bad);
        assert!(err.to_string().contains(want), "{bad}: {err}");
    }
}
