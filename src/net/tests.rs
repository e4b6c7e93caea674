//! The sink against a real rsyslogd (`tests/it/rsyslog.rs` starts it): every
//! transport delivers every record once with the right header and
//! structured data; RELP confirms only what rsyslogd acknowledged and
//! survives rsyslogd being killed; TCP counts what it can; an unreachable
//! collector never blocks the caller.
//!
//! These live inside the crate because the sink is `pub(crate)`. Every wait
//! is bounded; rsyslogd is killed when its guard drops.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::test_rsyslog::{Listeners, Received, Rsyslog, parse_sd, unescape};
use super::{Outgoing, SyslogConfig, SyslogSink};
use crate::error::{Error, ErrorKind, Result};
use crate::format::{Facility, Formatter};
use crate::record::{Level, Record};

const HOSTILE_MESSAGE: &str =
    "multi\nline \"quoted\" [bracket] back\\slash ]\r\n\u{2028} ünïcödé 日本 \x1b[31m";
const HOSTILE_VALUE: &str = "a\"b]c\\d\ne [x] ü";

type Answer = oneshot::Receiver<Result<()>>;

fn config(url: String) -> SyslogConfig {
    SyslogConfig::new(url)
        .expect("valid URL")
        .facility(Facility::Local0)
        .app_name("clh-test")
        .hostname("test-host")
        .max_backoff(Duration::from_millis(400))
        .connect_timeout(Duration::from_secs(2))
}

/// Record `n`, formatted as the config would; hostile text in every field.
fn message(config: &SyslogConfig, n: usize) -> Vec<u8> {
    let record = Record::new(Level::Warn, HOSTILE_MESSAGE)
        .with_target("app::net")
        .with_field("n", n)
        .with_field("quote", HOSTILE_VALUE)
        .with_span("request", [("req", "r-1")]);
    let mut out = Vec::new();
    config.formatter().format(&record, &mut out);
    out.push(b'\n'); // as the handlers hand lines over
    out
}

fn outgoing(
    config: &SyslogConfig,
    range: std::ops::Range<usize>,
    confirm: bool,
) -> (Vec<Outgoing>, Vec<Answer>) {
    let mut batch = Vec::new();
    let mut confirms = Vec::new();
    for n in range {
        let (tx, rx) = oneshot::channel();
        batch.push(Outgoing {
            message: message(config, n),
            confirm: confirm.then(|| crate::confirm::Confirm::new(tx)),
        });
        if confirm {
            confirms.push(rx);
        }
    }
    (batch, confirms)
}

/// The `n` field of each message received, as a count per `n`.
fn counts(received: &[Received]) -> BTreeMap<usize, usize> {
    let mut counts = BTreeMap::new();
    for r in received {
        let n = parse_sd(&r.sd)
            .into_iter()
            .flat_map(|(_, params)| params)
            .find(|(k, _)| k == "n")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no n in {r:?}"));
        *counts.entry(n).or_insert(0) += 1;
    }
    counts
}

/// Every header field and the structured data came through as sent.
fn check_fields(r: &Received) {
    assert_eq!(
        (r.severity, r.facility),
        (4, 16),
        "warning from local0: {r:?}"
    );
    assert_eq!(r.app, "clh-test");
    assert_eq!(r.host, "test-host");
    assert_eq!(r.procid, std::process::id().to_string());
    assert_eq!(r.msgid, "app::net");
    assert_eq!(unescape(&r.msg), HOSTILE_MESSAGE, "message: {r:?}");
    let sd = parse_sd(&r.sd);
    assert_eq!(sd.len(), 1, "one SD element: {}", r.sd);
    let (id, params) = &sd[0];
    assert_eq!(id, "fields@32473");
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["n", "quote", "req"]);
    assert_eq!(unescape(&params[1].1), HOSTILE_VALUE);
    assert_eq!(params[2].1, "r-1");
}

/// Polls a confirm until `timeout`: `None` if it has not resolved by then.
fn wait_confirm(rx: &mut Answer, timeout: Duration) -> Option<Result<()>> {
    let deadline = Instant::now() + timeout;
    loop {
        match rx.try_recv() {
            Ok(outcome) => return Some(outcome),
            Err(oneshot::error::TryRecvError::Closed) => return Some(Err(Error::closed())),
            Err(oneshot::error::TryRecvError::Empty) if Instant::now() >= deadline => return None,
            Err(oneshot::error::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(5))
            }
        }
    }
}

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// Sends `count` hostile records over `url`, half with confirms, and checks
/// that rsyslogd got each exactly once, intact.
fn delivers_every_record_once(dir: &Path, rsyslog: &Rsyslog, config: SyslogConfig, count: usize) {
    let sink = SyslogSink::start(&config).expect("sink starts");
    let (first, mut confirms) = outgoing(&config, 0..count / 2, true);
    let (second, _) = outgoing(&config, count / 2..count, false);
    for batch in [first, second] {
        let submitted = sink.submit(batch, false);
        assert!(submitted.rejected.is_empty(), "the buffer holds them all");
    }
    if let Err(e) = sink.flush(soon(20)) {
        panic!("flush: {e}; rsyslogd said: {}", rsyslog.stderr());
    }
    for rx in &mut confirms {
        let outcome = wait_confirm(rx, Duration::from_secs(1)).expect("resolved by the flush");
        outcome.expect("delivered");
    }
    sink.shutdown(soon(10)).expect("clean shutdown");
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= count);
    let counts = counts(&received);
    assert_eq!(
        counts.len(),
        count,
        "every record arrived ({})",
        dir.display()
    );
    assert!(counts.values().all(|&c| c == 1), "none twice");
    received.iter().for_each(check_fields);
    let stats = sink.stats();
    assert_eq!(stats.sent, count as u64);
    assert_eq!(
        (stats.dropped, stats.failed, stats.buffered, stats.in_flight),
        (0, 0, 0, 0)
    );
}

#[test]
fn tcp_delivers_every_record_once_with_its_header_and_structured_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(rsyslog) = Rsyslog::start(dir.path(), Listeners::default()) else {
        return;
    };
    let config = config(format!("tcp://127.0.0.1:{}", rsyslog.ports.tcp));
    delivers_every_record_once(dir.path(), &rsyslog, config, 2_000);
}

#[test]
fn relp_delivers_every_record_once_and_counts_acknowledgements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let config = config(format!("relp://127.0.0.1:{}", rsyslog.ports.relp)).relp_window(16);
    delivers_every_record_once(dir.path(), &rsyslog, config.clone(), 2_000);
}

#[test]
fn tls_delivers_with_the_server_verified_against_the_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        tls: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    // The certificate names 127.0.0.1: the URL's host is verified as is.
    let config = config(format!("tls://127.0.0.1:{}", rsyslog.ports.tls)).ca_file(&certs.ca);
    delivers_every_record_once(dir.path(), &rsyslog, config, 500);
}

#[test]
fn relp_over_tls_with_client_certificates_delivers_every_record_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        relp_tls: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    // librelp with certificates insists on one from the client too.
    let config = config(format!("relp+tls://127.0.0.1:{}", rsyslog.ports.relp_tls))
        .ca_file(&certs.ca)
        .client_auth(&certs.client_cert, &certs.client_key);
    delivers_every_record_once(dir.path(), &rsyslog, config, 500);
}

#[test]
fn tls_refuses_a_server_its_ca_did_not_sign_or_a_wrong_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        tls: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    let url = format!("tls://127.0.0.1:{}", rsyslog.ports.tls);
    for config in [
        config(url.clone()).ca_file(&certs.other_ca),
        config(url.clone())
            .ca_file(&certs.ca)
            .server_name("collector.example"),
    ] {
        let sink = SyslogSink::start(&config).expect("sink starts");
        let (batch, _) = outgoing(&config, 0..3, false);
        assert_eq!(sink.submit(batch, false).accepted, 3);
        let err = sink
            .flush(Instant::now() + Duration::from_millis(1_500))
            .expect_err("never verified");
        assert!(
            err.kind() == ErrorKind::DeliveryTimeout && err.to_string().contains(": 3 records"),
            "{err}"
        );
        assert!(sink.stats().connect_errors >= 1, "{:?}", sink.stats());
        let _ = sink.shutdown(Instant::now() + Duration::from_millis(200));
    }
    // Only the explicit opt-out skips verification.
    let config = config(url).danger_accept_invalid_certs(true);
    delivers_every_record_once(dir.path(), &rsyslog, config, 10);
}

#[test]
fn tls_presents_the_client_certificate_when_the_collector_demands_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        tls_client_auth: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    let config = config(format!("tls://127.0.0.1:{}", rsyslog.ports.tls_client_auth))
        .ca_file(&certs.ca)
        .client_auth(&certs.client_cert, &certs.client_key);
    delivers_every_record_once(dir.path(), &rsyslog, config, 50);
}

#[test]
fn udp_and_unix_datagrams_deliver_one_message_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        udp: true,
        unix: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    // Few and small enough that loopback UDP does not drop any.
    let udp = config(format!("udp://127.0.0.1:{}", rsyslog.ports.udp));
    delivers_every_record_once(dir.path(), &rsyslog, udp, 50);
    let before = rsyslog.received().len();
    let unix = config(format!("unix://{}", rsyslog.ports.unix.display()));
    let sink = SyslogSink::start(&unix).expect("sink starts");
    let (batch, _) = outgoing(&unix, 1_000..1_050, false);
    assert_eq!(sink.submit(batch, false).accepted, 50);
    sink.shutdown(soon(10)).expect("clean shutdown");
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= before + 50);
    let counts = counts(&received[before..]);
    assert_eq!(counts.len(), 50);
    assert!(counts.values().all(|&c| c == 1));
    received[before..].iter().for_each(check_fields);
}

#[test]
fn relp_confirm_resolves_only_after_rsyslogd_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some(rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let config = config(format!("relp://127.0.0.1:{}", rsyslog.ports.relp));
    let sink = SyslogSink::start(&config).expect("sink starts");
    // Connected and open.
    let (batch, mut confirms) = outgoing(&config, 0..1, true);
    sink.submit(batch, false);
    wait_confirm(&mut confirms[0], Duration::from_secs(10))
        .expect("first record confirmed")
        .expect("ok");

    rsyslog.pause();
    let (batch, mut confirms) = outgoing(&config, 1..2, true);
    sink.submit(batch, false);
    // The frame reaches the frozen rsyslogd's socket (its kernel even
    // acknowledges the TCP segment), but no `rsp` comes: no confirmation.
    assert!(
        wait_confirm(&mut confirms[0], Duration::from_millis(700)).is_none(),
        "confirmed while rsyslogd was stopped"
    );
    assert_eq!(sink.stats().in_flight, 1);
    assert!(!counts(&rsyslog.received()).contains_key(&1));
    rsyslog.resume();
    wait_confirm(&mut confirms[0], Duration::from_secs(10))
        .expect("confirmed once rsyslogd runs again")
        .expect("ok");
    // Acknowledged means written: rsyslogd writes before it answers.
    assert_eq!(counts(&rsyslog.received()).get(&1), Some(&1));
    assert_eq!(sink.stats().acknowledged, 2);
    sink.shutdown(soon(10)).expect("clean shutdown");
}

/// Streams `total` records through a kill of rsyslogd, in five phases:
/// records that rsyslogd takes; records sent while it is frozen (SIGSTOP),
/// so that they sit unacknowledged in its socket, up to a full RELP window;
/// SIGKILL; records submitted while nobody listens; restart on the same
/// port; the rest. Returns the sink, each confirm's outcome and how many
/// records had been submitted when rsyslogd died.
fn stream_through_a_kill(
    rsyslog: &mut Rsyslog,
    config: &SyslogConfig,
    phase: usize,
    frozen: usize,
) -> (SyslogSink, Vec<Option<Result<()>>>, usize) {
    let sink = SyslogSink::start(config).expect("sink starts");
    let total = 4 * phase + frozen;
    let mut confirms = Vec::new();
    let mut submit = |range: std::ops::Range<usize>| {
        let (batch, rx) = outgoing(config, range, true);
        assert!(
            sink.submit(batch, false).rejected.is_empty(),
            "the buffer holds them"
        );
        confirms.extend(rx);
    };
    submit(0..phase);
    let taken = rsyslog.wait_until(Duration::from_secs(20), |r| r.len() >= phase);
    assert!(taken.len() >= phase, "rsyslogd took the first records");
    rsyslog.pause();
    submit(phase..phase + frozen);
    std::thread::sleep(Duration::from_millis(300));
    rsyslog.kill();
    let submitted_at_kill = phase + frozen;
    submit(submitted_at_kill..submitted_at_kill + phase);
    std::thread::sleep(Duration::from_millis(300));
    rsyslog.restart();
    submit(submitted_at_kill + phase..total);
    let flushed = sink.flush(soon(30));
    assert!(flushed.is_ok() || config.transport.is_relp(), "{flushed:?}");
    let outcomes = confirms
        .iter_mut()
        .map(|rx| wait_confirm(rx, Duration::from_secs(5)))
        .collect();
    (sink, outcomes, submitted_at_kill)
}

#[test]
fn relp_resends_unacknowledged_frames_after_rsyslogd_is_killed_and_loses_nothing_confirmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some(mut rsyslog) = Rsyslog::start(dir.path(), listeners) else {
        return;
    };
    let config = config(format!("relp://127.0.0.1:{}", rsyslog.ports.relp));
    let (phase, frozen) = (1_000, 1_000);
    let total = 4 * phase + frozen;
    let (sink, outcomes, _) = stream_through_a_kill(&mut rsyslog, &config, phase, frozen);
    sink.shutdown(soon(10)).expect("clean shutdown");
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| counts(r).len() >= total);
    let counts = counts(&received);
    let stats = sink.stats();
    let confirmed: Vec<usize> = (0..total)
        .filter(|&n| matches!(outcomes[n], Some(Ok(()))))
        .collect();
    assert_eq!(
        confirmed.len(),
        total,
        "every record confirmed after the restart: {stats:?}"
    );
    let lost: Vec<usize> = confirmed
        .iter()
        .copied()
        .filter(|n| !counts.contains_key(n))
        .collect();
    assert!(lost.is_empty(), "confirmed but lost: {lost:?}");
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        stats.resent > 0,
        "frames unacknowledged at the kill were resent: {stats:?}"
    );
    assert!(
        duplicates as u64 <= stats.resent,
        "duplicates {duplicates} only among resent {stats:?}"
    );
    assert!(
        stats.reconnects >= 1 && stats.acknowledged >= total as u64,
        "{stats:?}"
    );
    eprintln!("relp kill: {stats:?}, duplicates {duplicates}");
}

#[test]
fn tcp_after_rsyslogd_is_killed_loses_only_what_its_kernel_had_taken_and_resends_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mut rsyslog) = Rsyslog::start(dir.path(), Listeners::default()) else {
        return;
    };
    let config = config(format!("tcp://127.0.0.1:{}", rsyslog.ports.tcp)).buffer_capacity(50_000);
    // More sent to the frozen rsyslogd than its socket takes: the rest
    // stays unacknowledged in ours, and is resent after the restart.
    let (phase, frozen) = (1_000, 20_000);
    let total = 4 * phase + frozen;
    let (sink, outcomes, submitted_at_kill) =
        stream_through_a_kill(&mut rsyslog, &config, phase, frozen);
    sink.shutdown(soon(10)).expect("clean shutdown");
    let received = rsyslog.wait_until(Duration::from_secs(5), |r| counts(r).len() >= total);
    let counts = counts(&received);
    let stats = sink.stats();
    assert!(
        outcomes.iter().all(|o| matches!(o, Some(Ok(())))),
        "all sent: {stats:?}"
    );
    let missing: Vec<usize> = (0..total).filter(|n| !counts.contains_key(n)).collect();
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    // What is missing went to the frozen rsyslogd before it died: never a
    // record submitted after the kill (those waited and went to the new one).
    assert!(
        missing.iter().all(|&n| n < submitted_at_kill),
        "missing {missing:?}, {submitted_at_kill} submitted at the kill"
    );
    assert!(
        duplicates as u64 <= stats.resent,
        "duplicates {duplicates} among resent {stats:?}"
    );
    assert!(stats.reconnects >= 1, "{stats:?}");
    // What the frozen rsyslogd's kernel never acknowledged (TCP_INFO) came
    // again on the new connection.
    assert!(stats.resent > 0, "{stats:?}");
    eprintln!(
        "tcp kill: {} of {total} lost (taken by the killed rsyslogd's kernel), {duplicates} duplicates, {stats:?}",
        missing.len()
    );
}

#[test]
fn an_unreachable_collector_never_blocks_submit_and_overflow_comes_back() {
    // A port nobody listens on: connections are refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    for url in [
        format!("tcp://127.0.0.1:{port}"),
        format!("relp://127.0.0.1:{port}"),
        // A black hole: nothing answers the SYN (TEST-NET-1, RFC 5737).
        "tcp://192.0.2.1:514".to_owned(),
    ] {
        let config = config(url.clone()).buffer_capacity(100);
        let sink = SyslogSink::start(&config).expect("sink starts");
        let (batch, _) = outgoing(&config, 0..250, false);
        let started = Instant::now();
        let submitted = sink.submit(batch, false);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(100),
            "{url}: submit took {took:?}"
        );
        assert_eq!(submitted.accepted, 100, "{url}");
        assert_eq!(submitted.rejected.len(), 150);
        let (more, mut confirms) = outgoing(&config, 250..251, true);
        let again = sink.submit(more, false);
        assert_eq!(
            (again.accepted, again.rejected.len()),
            (0, 1),
            "{url}: full"
        );
        drop(confirms.pop());
        assert_eq!(sink.stats().buffered, 100);
        let err = sink
            .flush(Instant::now() + Duration::from_millis(300))
            .expect_err(&url);
        assert!(
            err.kind() == ErrorKind::DeliveryTimeout && err.to_string().contains(": 100 records"),
            "{url}: {err}"
        );
        let started = Instant::now();
        let err = sink
            .shutdown(Instant::now() + Duration::from_millis(300))
            .expect_err(&url);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{url}: shutdown is bounded"
        );
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{url}: {err}");
        let stats = sink.stats();
        assert_eq!(
            (stats.dropped, stats.buffered, stats.sent),
            (100, 0, 0),
            "{url}: {stats:?}"
        );
        // After shutdown everything comes back.
        let (late, _) = outgoing(&config, 0..2, false);
        assert_eq!(sink.submit(late, true).rejected.len(), 2, "{url}");
    }
}

#[test]
fn relp_error_status_fails_that_record_with_a_typed_error() {
    use std::io::{BufRead, BufReader, Write};
    // rsyslogd answers 200 or drops the connection; an error status needs a
    // server that says so: a RELP peer scripted here, on loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut writer = stream;
        let mut frames = 0;
        // Frames here have no LF inside their data except `open`'s offers.
        let mut line = String::new();
        while frames < 4 && reader.read_line(&mut line).unwrap_or(0) > 0 {
            let txnr: u32 = line
                .split(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            if line.contains(" open ") {
                for _ in 0..2 {
                    line.clear();
                    let _ = reader.read_line(&mut line);
                }
                let offers = "200 OK\nrelp_version=0\ncommands=syslog";
                let _ = writeln!(writer, "{txnr} rsp {} {offers}", offers.len());
            } else if line.contains(" syslog ") {
                let status = if frames == 2 {
                    "500 queue full"
                } else {
                    "200 OK"
                };
                let _ = writeln!(writer, "{txnr} rsp {} {status}", status.len());
            } else if line.contains(" close ") {
                let _ = writer.write_all(format!("{txnr} rsp 0\n").as_bytes());
                break;
            }
            frames += 1;
            line.clear();
        }
    });
    let config = config(format!("relp://127.0.0.1:{port}"));
    let sink = SyslogSink::start(&config).expect("sink starts");
    let (batch, mut confirms) = outgoing(&config, 0..3, true);
    sink.submit(batch, false);
    let outcomes: Vec<_> = confirms
        .iter_mut()
        .map(|rx| wait_confirm(rx, Duration::from_secs(10)).expect("answered"))
        .collect();
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    match &outcomes[1] {
        Err(e) if e.kind() == ErrorKind::Rejected => {
            assert!(
                e.to_string().contains("RELP status 500 \"queue full\""),
                "{e}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let stats = sink.stats();
    assert_eq!(
        (stats.acknowledged, stats.failed, stats.resent),
        (2, 1, 0),
        "{stats:?}"
    );
    let _ = sink.shutdown(soon(5));
    let _ = server.join();
}
