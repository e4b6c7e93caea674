//! The handlers forwarding to a collector, where the file and the network
//! meet: the local file never waits on the network, every wait on the
//! collector ends by its deadline with an error that names it, `sync_level`
//! is about the file, and what the collector never got is counted and said.
//! Real rsyslogd where a collector must answer; plain loopback sockets for a
//! collector that refuses, stalls or never answers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use concurrent_log_handler::{
    AsyncConcurrentHandler, ConcurrentRotatingFileHandler, Confirmation, ErrorKind, FallbackMode,
    Level, NonBlockingConcurrentHandler, Record, SinkStats, Stats, SyslogConfig,
};

use crate::fallback::{LockHolder, lock_path, record};
use crate::rsyslog::{Listeners, Received, RelpAnswer, Rsyslog, scripted_relp, unescape};
use crate::util::{TempLog, all_lines, assert_complete, check_records};

/// A port on loopback where nothing listens: connections are refused.
pub fn refused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A listener that never accepts: the kernel completes connections and
/// takes bytes into its buffers, and nobody ever answers (a RELP collector
/// that never answers `open`, a TCP collector that never reads).
pub fn tarpit() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

pub fn syslog(url: String) -> SyslogConfig {
    SyslogConfig::new(url)
        .expect("url")
        .app_name("clh-it")
        .max_backoff(Duration::from_millis(200))
        .connect_timeout(Duration::from_secs(2))
}

/// `(writer, seq)` of a test record as rsyslogd received it.
pub fn received_id(received: &Received) -> Option<(usize, usize)> {
    let msg = unescape(&received.msg);
    let mut parts = msg.splitn(3, ' ');
    let writer = parts.next()?.strip_prefix('w')?.parse().ok()?;
    let seq = parts.next()?.strip_prefix('s')?.parse().ok()?;
    Some((writer, seq))
}

/// The local log's lines, without the handler's reports of what the
/// collector did not get (checked by the caller where it matters).
pub fn record_lines(log: &TempLog) -> (Vec<String>, Vec<String>) {
    all_lines(&log.path)
        .into_iter()
        .partition(|l| !l.contains("not delivered to the syslog collector"))
}

/// The sink's stats, which must add up at every snapshot.
pub fn sink(stats: &Stats) -> SinkStats {
    let sink = stats.syslog.expect("the handler forwards");
    assert!(sink.adds_up(), "{sink:?}");
    sink
}

/// Every report the handler made (through its `on_error` hook) is about
/// the collector at `url`: the file had nothing to report.
fn assert_reports_are_about(reports: &crate::util::Reports, url: &str) {
    for message in reports.messages() {
        assert!(message.contains(url), "{message:?} is not about {url}");
    }
}

fn assert_within(started: Instant, limit: Duration, what: &str) {
    let took = started.elapsed();
    assert!(took < limit, "{what} took {took:?} (limit {limit:?})");
}

/// The thread handler's default fallback is `Block`. A collector that
/// refuses connections (and one that never answers) must cost the local
/// file nothing: every record is written, `emit` never waits for the
/// network, the sink drops what its buffer cannot hold and counts it, and a
/// stop ends by its deadline.
#[test]
fn a_block_mode_handler_writes_every_record_whatever_the_collector_does() {
    let reports = crate::util::Reports::new();
    let (_tarpit, stalled) = tarpit();
    for url in [
        format!("relp://127.0.0.1:{}", refused_port()),
        format!("relp://127.0.0.1:{stalled}"),
        format!("tcp://127.0.0.1:{stalled}"),
    ] {
        let log = TempLog::new();
        let total = 20_000;
        let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
            .queue_capacity(1_000)
            .on_error(reports.hook())
            .syslog(
                syslog(url.clone())
                    .buffer_capacity(500)
                    .confirm_timeout(Duration::from_millis(500)),
            )
            .build()
            .expect("build");
        let started = Instant::now();
        for seq in 0..total {
            handler.emit(record(0, seq));
        }
        assert_within(started, Duration::from_secs(20), "emitting (Block mode)");
        let started = Instant::now();
        let stopped = handler.stop_timeout(Duration::from_secs(10));
        assert_within(started, Duration::from_secs(3), &format!("{url}: stop"));
        let err = stopped.expect_err("the collector has not got them");
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{url}: {err}");
        assert!(err.to_string().contains(&url), "{url}: {err}");
        drop(guard);
        let (lines, reports) = record_lines(&log);
        assert_complete(&check_records(&lines, true), 1, total);
        assert!(
            !reports.is_empty(),
            "{url}: the sink's drops are reported in the log"
        );
        let stats = handler.stats();
        let sink = sink(&stats);
        assert_eq!(stats.written, total as u64, "{url}: {stats:?}");
        assert_eq!(sink.accepted, total as u64, "{url}: {sink:?}");
        // What the buffer (and, over TCP, the kernel's) could not hold.
        assert!(sink.dropped > total as u64 / 2, "{url}: {sink:?}");
    }
    assert!(
        !reports.messages().is_empty(),
        "the failed connections were reported"
    );
    assert!(
        reports
            .messages()
            .iter()
            .all(|m| m.contains("syslog collector")),
        "{:?}",
        reports.messages()
    );
}

/// `flush` with `Confirmation::Collector` or `Both` waits for the collector
/// and fails by its deadline, naming it and what it has not delivered;
/// against a live collector it returns once the collector has everything.
#[test]
fn flush_waits_for_the_collector_the_confirmation_names() {
    let reports = crate::util::Reports::new();
    let url = format!("relp://127.0.0.1:{}", refused_port());
    for confirmation in [Confirmation::Collector, Confirmation::Both] {
        let log = TempLog::new();
        crate::util::multi_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .on_error(reports.hook())
                .syslog(
                    syslog(url.clone())
                        .confirmation(confirmation)
                        .confirm_timeout(Duration::from_millis(400)),
                )
                .build()
                .expect("build");
            for seq in 0..5 {
                handler.emit(record(0, seq));
            }
            let started = Instant::now();
            let err = handler.flush().await.expect_err("nothing delivered");
            assert_within(started, Duration::from_secs(2), "flush");
            assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
            let text = err.to_string();
            assert!(text.contains(&url) && text.contains("5 records"), "{text}");
            let _ = handler.shutdown_timeout(Duration::from_millis(200)).await;
        });
    }
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(reports.hook())
        .syslog(
            syslog(format!("relp://127.0.0.1:{}", rsyslog.ports.relp))
                .confirmation(Confirmation::Collector),
        )
        .build()
        .expect("build");
    for seq in 0..3_000 {
        handler.emit(record(0, seq));
    }
    handler.flush().expect("delivered");
    // Acknowledged by RELP means written by this rsyslogd (direct queue).
    assert_eq!(rsyslog.received().len(), 3_000);
    drop(guard);
    assert_reports_are_about(&reports, "syslog collector");
}

/// A record at or above `sync_level` is in the file when `emit` returns,
/// whatever the confirmation: with `Confirmation::Collector` and another
/// process holding the log's lock, `emit` waits for the lock (the collector
/// has acknowledged it long before), and the line is there when it returns.
#[test]
fn sync_level_means_in_the_file_whatever_the_confirmation() {
    let reports = crate::util::Reports::new();
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .sync_level(Level::Error)
        .on_error(reports.hook())
        .syslog(
            syslog(format!("relp://127.0.0.1:{}", rsyslog.ports.relp))
                .confirmation(Confirmation::Collector),
        )
        .build()
        .expect("build");
    handler.emit_wait(record(0, 0)).expect("connected");
    let holder = LockHolder::hold(&lock_path(&log));
    let emitting = std::thread::spawn({
        let handler = handler.clone();
        move || {
            handler.emit(
                Record::new(Level::Error, crate::util::message(0, 1))
                    .with_target(crate::util::TEST_TARGET),
            );
            Instant::now()
        }
    });
    // Long enough for the collector to acknowledge it.
    rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= 2);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !emitting.is_finished(),
        "emit returned while the file's lock was held elsewhere"
    );
    let released = Instant::now();
    holder.release();
    let returned = emitting.join().expect("emitter");
    assert!(returned >= released);
    let text = std::fs::read_to_string(&log.path).expect("read");
    assert!(
        text.contains("s000000001"),
        "in the file when emit returned"
    );
    assert_reports_are_about(&reports, "syslog collector");
}

/// `emit_wait` waiting for a collector that is frozen or dead resolves by
/// the confirm timeout with an error that names the collector, for both
/// confirmations that wait for it; the record stays in the local file.
#[test]
fn emit_wait_for_a_collector_that_is_away_ends_by_the_confirm_timeout() {
    let reports = crate::util::Reports::new();
    let Some((_dir, mut rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let url = format!("relp://127.0.0.1:{}", rsyslog.ports.relp);
    for confirmation in [Confirmation::Both, Confirmation::Collector] {
        let log = TempLog::new();
        crate::util::multi_thread().block_on(async {
            let handler = AsyncConcurrentHandler::builder(&log.path)
                .on_error(reports.hook())
                .syslog(
                    syslog(url.clone())
                        .confirmation(confirmation)
                        .confirm_timeout(Duration::from_millis(500)),
                )
                .build()
                .expect("build");
            handler.emit_wait(record(0, 0)).await.expect("connected");
            rsyslog.pause();
            let started = Instant::now();
            let err = handler.emit_wait(record(0, 1)).await.expect_err("frozen");
            assert_within(started, Duration::from_secs(2), "emit_wait (frozen)");
            assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
            assert!(err.to_string().contains(&url), "{err}");
            rsyslog.resume();
            rsyslog.kill();
            let started = Instant::now();
            let err = handler.emit_wait(record(0, 2)).await.expect_err("dead");
            assert_within(started, Duration::from_secs(2), "emit_wait (dead)");
            assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
            let started = Instant::now();
            let _ = handler.shutdown_timeout(Duration::from_millis(300)).await;
            assert_within(started, Duration::from_secs(2), "shutdown");
            let text = std::fs::read_to_string(&log.path).expect("read");
            assert!(text.contains("s000000001") && text.contains("s000000002"));
            assert!(sink(&handler.stats()).adds_up());
        });
        rsyslog.restart();
    }
    assert_reports_are_about(&reports, &url);
}

/// A RELP collector that accepts the connection and never answers `open`:
/// a shutdown ends by its deadline with `DeliveryTimeout`, and afterwards
/// nothing is left buffered: every record is counted as dropped.
#[test]
fn a_collector_that_never_answers_open_is_given_up_at_the_deadline() {
    let reports = crate::util::Reports::new();
    let (_tarpit, port) = tarpit();
    let log = TempLog::new();
    let total = 10_000;
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(total)
            .on_error(reports.hook())
            .syslog(
                syslog(format!("relp://127.0.0.1:{port}"))
                    .buffer_capacity(total)
                    .connect_timeout(Duration::from_secs(30)),
            )
            .build()
            .expect("build");
        for seq in 0..total {
            handler.emit(record(0, seq));
        }
        let started = Instant::now();
        let err = handler
            .shutdown_timeout(Duration::from_millis(500))
            .await
            .expect_err("nothing delivered");
        assert_within(started, Duration::from_millis(1_500), "shutdown");
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
        let stats = handler.stats();
        let sink = sink(&stats);
        assert_eq!(
            (sink.accepted, sink.dropped, sink.buffered, sink.in_flight),
            (total as u64, total as u64, 0, 0),
            "{sink:?}"
        );
        assert_eq!(stats.written, total as u64, "the file has them: {stats:?}");
    });
    assert_reports_are_about(&reports, &format!("127.0.0.1:{port}"));
}

/// A collector that flaps (each connection opens, then drops before it
/// acknowledges anything): each successful `open` ends an outage, so once
/// it is healthy a waiting caller is answered within a first backoff step,
/// not after a backoff grown over the flaps.
#[test]
fn after_the_collector_flapped_a_healthy_one_is_reached_again_at_once() {
    let reports = crate::util::Reports::new();
    let flaps = 7;
    // Each of its first connections opens, then drops before it
    // acknowledges anything; after them it acknowledges every record.
    let port = scripted_relp(move |connection, _| match connection < flaps {
        true => RelpAnswer::Drop,
        false => RelpAnswer::Status("200 OK"),
    });
    let log = TempLog::new();
    let (handler, _guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(reports.hook())
        .syslog(
            SyslogConfig::new(format!("relp://127.0.0.1:{port}"))
                .expect("url")
                .confirmation(Confirmation::Collector)
                .confirm_timeout(Duration::from_secs(30)),
        )
        .build()
        .expect("build");
    let mut seq = 0;
    // Records flow while the collector flaps (at the default backoff,
    // seven flaps take a few seconds).
    let flapping = Instant::now();
    // Until the last flapping connection was made (it drops at the first
    // record, which follows at once).
    while handler
        .stats()
        .syslog
        .is_none_or(|s| s.reconnects < flaps as u64 - 1)
    {
        assert!(
            flapping.elapsed() < Duration::from_secs(30),
            "{:?}",
            handler.stats()
        );
        handler.emit(record(0, seq));
        seq += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    handler.emit(record(0, seq));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    handler.emit_wait(record(0, seq + 1)).expect("delivered");
    assert_within(
        started,
        Duration::from_millis(1_500),
        "emit_wait after the flaps",
    );
    assert_reports_are_about(&reports, &format!("127.0.0.1:{port}"));
}

/// Plain TCP: a shutdown waits for the collector's kernel to acknowledge
/// what was written; what it never acknowledged by the deadline (a frozen
/// collector whose buffers are full) is given up, counted and reported.
#[test]
fn tcp_shutdown_waits_for_the_collectors_kernel_and_counts_the_rest() {
    let reports = crate::util::Reports::new();
    let (_tarpit, port) = tarpit();
    let log = TempLog::new();
    let total = 50_000;
    crate::util::multi_thread().block_on(async {
        let handler = AsyncConcurrentHandler::builder(&log.path)
            .queue_capacity(total)
            .on_error(reports.hook())
            .syslog(syslog(format!("tcp://127.0.0.1:{port}")).buffer_capacity(total))
            .build()
            .expect("build");
        for seq in 0..total {
            handler.emit(record(0, seq));
        }
        handler.flush().await.expect("the file has them");
        let started = Instant::now();
        let err = handler
            .shutdown_timeout(Duration::from_millis(700))
            .await
            .expect_err("the tarpit's buffers cannot hold 50,000 records");
        assert_within(started, Duration::from_millis(1_700), "shutdown");
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
        let sink = sink(&handler.stats());
        assert!(sink.dropped > 0 && sink.delivered > 0, "{sink:?}");
        assert_eq!((sink.buffered, sink.in_flight), (0, 0), "{sink:?}");
        assert_eq!(sink.delivered + sink.dropped, total as u64, "{sink:?}");
    });
    assert_reports_are_about(&reports, &format!("127.0.0.1:{port}"));
}

/// The blocking handler forwarding: `flush` waits for the collector's
/// confirmation, `shutdown` closes the sink by its deadline and says what
/// it could not deliver, and later calls are refused.
#[test]
fn the_blocking_handler_flushes_and_closes_its_sink() {
    let reports = crate::util::Reports::new();
    let Some((_dir, mut rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        ..Listeners::default()
    }) else {
        return;
    };
    let log = TempLog::new();
    let handler = ConcurrentRotatingFileHandler::builder(&log.path)
        .on_error(reports.hook())
        .syslog(
            syslog(format!("relp://127.0.0.1:{}", rsyslog.ports.relp))
                .confirmation(Confirmation::Both)
                .confirm_timeout(Duration::from_millis(500)),
        )
        .build()
        .expect("build");
    for seq in 0..1_000 {
        handler.emit(record(0, seq)).expect("emit");
    }
    handler.flush().expect("the collector has them");
    assert_eq!(rsyslog.received().len(), 1_000);
    rsyslog.kill();
    for seq in 1_000..1_010 {
        handler.emit(record(0, seq)).expect("the file has it");
    }
    let started = Instant::now();
    let err = handler.flush().expect_err("collector gone");
    assert_within(started, Duration::from_secs(2), "flush");
    assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{err}");
    let started = Instant::now();
    let err = handler
        .shutdown(Duration::from_millis(300))
        .expect_err("ten undelivered");
    assert_within(started, Duration::from_secs(2), "shutdown");
    assert!(err.to_string().contains("10 records"), "{err}");
    let stats = handler.stats();
    let sink = sink(&stats);
    assert_eq!((sink.delivered, sink.dropped), (1_000, 10), "{sink:?}");
    let err = handler.emit(record(0, 2_000)).expect_err("closed");
    assert!(err.is_closed(), "{err}");
    let (lines, _) = record_lines(&log);
    assert_complete(&check_records(&lines, true), 1, 1_010);
    assert_reports_are_about(&reports, "syslog collector");
}

/// A message longer than the collector takes (rsyslog's default 8 KiB) is
/// cut to `max_message_size`, marked and counted; it never breaks the
/// session and the records after it arrive.
#[test]
fn an_oversized_message_is_truncated_and_the_session_goes_on() {
    let reports = crate::util::Reports::new();
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners {
        relp: true,
        max_message_size: Some(8 * 1024),
        ..Listeners::default()
    }) else {
        return;
    };
    let log = TempLog::new();
    let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
        .on_error(reports.hook())
        .syslog(
            syslog(format!("relp://127.0.0.1:{}", rsyslog.ports.relp))
                .confirmation(Confirmation::Collector),
        )
        .build()
        .expect("build");
    let big = "ü".repeat(20_000);
    for seq in 0..10 {
        let text = format!("{} {big}", crate::util::message(0, seq));
        handler
            .emit_wait(Record::new(Level::Info, text).with_target(crate::util::TEST_TARGET))
            .expect("delivered, truncated");
    }
    handler.emit_wait(record(0, 10)).expect("and the next one");
    drop(guard);
    let received = rsyslog.received();
    assert_eq!(received.len(), 11, "{}", rsyslog.stderr());
    for r in &received[..10] {
        assert!(r.raw.len() <= 8 * 1024, "{} bytes", r.raw.len());
        assert!(
            r.raw.ends_with(" [truncated]"),
            "{}",
            &r.raw[r.raw.len() - 40..]
        );
    }
    let sink = sink(&handler.stats());
    assert_eq!(
        (sink.truncated, sink.reconnects, sink.failed),
        (10, 0, 0),
        "{sink:?}"
    );
    // The file has every record whole.
    let text = std::fs::read_to_string(&log.path).expect("read");
    assert_eq!(text.matches(&big).count(), 10);
    assert!(reports.messages().is_empty(), "{:?}", reports.messages());
}

/// `std::process::exit` with records handed to the sink: the exit hook
/// delivers them (a live collector gets all of them) or, when the
/// collector is away, counts them and says so on stderr.
#[test]
fn process_exit_delivers_what_the_sink_holds_or_says_what_it_could_not() {
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners::default()) else {
        return;
    };
    let total = 5_000;
    for (url, reachable) in [
        (format!("tcp://127.0.0.1:{}", rsyslog.ports.tcp), true),
        (format!("tcp://127.0.0.1:{}", refused_port()), false),
    ] {
        let log = TempLog::new();
        let child = crate::util::spawn_child_capturing_stderr(
            "forward_then_exit",
            &[
                ("CLH_LOG", log.path.display().to_string()),
                ("CLH_COUNT", total.to_string()),
                ("CLH_SYSLOG_URL", url.clone()),
            ],
        );
        let out = child.wait_with_output().expect("child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{url}: {stderr}");
        let (lines, _) = record_lines(&log);
        assert_complete(&check_records(&lines, true), 1, total);
        if reachable {
            let got = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= total);
            assert_eq!(got.len(), total, "{url}: {stderr}");
            assert!(!stderr.contains("not delivered"), "{url}: {stderr}");
        } else {
            assert!(
                stderr.contains("at exit")
                    && stderr.contains(&url)
                    && stderr.contains(&format!("{total} records")),
                "{url}: {stderr}"
            );
        }
    }
}

/// The child of [`process_exit_delivers_what_the_sink_holds_or_says_what_it_could_not`]:
/// queues records for the file and the collector, then calls
/// `std::process::exit` at once.
pub fn forward_then_exit(log: std::path::PathBuf, count: usize, url: String) {
    let (handler, guard) = NonBlockingConcurrentHandler::builder(log)
        .queue_capacity(count)
        .fallback_mode(FallbackMode::Block)
        .syslog(SyslogConfig::new(url).expect("url").buffer_capacity(count))
        .build()
        .expect("build");
    for seq in 0..count {
        handler.emit(record(0, seq));
    }
    std::mem::forget(guard);
    std::process::exit(0);
}
