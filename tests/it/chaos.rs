//! Collector chaos: a handler forwards records while its collector (a real
//! rsyslogd, or a socket that refuses or never answers) is killed, frozen,
//! restarted, unreachable or stalled. For each combination of transport,
//! `Confirmation`, fallback mode and handler, checked:
//!
//! - every call returns within its deadline;
//! - an `Ok` from a wait on the collector means what the transport's row
//!   in `SyslogConfig`'s table says (RELP: rsyslogd has it; TCP and TLS:
//!   it has it unless it was killed with it in its socket buffer);
//! - every record missing at the collector is counted (`dropped` or
//!   `failed`), exactly for RELP, at least for TCP and TLS;
//! - the local file has every record exactly once, in order;
//! - the sink's stats add up at every snapshot, taken all along.
//!
//! Which combinations run is drawn from a seed: `CLH_CHAOS_SEED` (printed
//! on every run, so a failure can be replayed) and `CLH_CHAOS_RUNS`
//! (default 12; `all` runs every combination).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use concurrent_log_handler::{
    AsyncConcurrentHandler, ConcurrentRotatingFileHandler, Confirmation, FallbackMode,
    NonBlockingConcurrentHandler, Record, Result, Stats, SyslogConfig,
};

use crate::fallback::record;
use crate::forwarding::{received_id, record_lines, refused_port, tarpit};
use crate::rsyslog::{Listeners, Rsyslog};
use crate::util::{Reports, TempLog, assert_complete, check_records};

const TRANSPORTS: [&str; 6] = ["tcp", "tls", "relp", "relp+tls", "udp", "unix"];
const CONFIRMATIONS: [Confirmation; 3] = [
    Confirmation::LocalFile,
    Confirmation::Collector,
    Confirmation::Both,
];
const CHAOS: [Chaos; 5] = [
    Chaos::Kill,
    Chaos::Freeze,
    Chaos::Restart,
    Chaos::Unreachable,
    Chaos::Stalled,
];

/// What happens to the collector in the middle of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chaos {
    /// SIGKILL, and it stays dead.
    Kill,
    /// SIGSTOP, then SIGCONT.
    Freeze,
    /// SIGKILL, then started again on the same ports.
    Restart,
    /// Nothing ever listens.
    Unreachable,
    /// Connections are accepted by the kernel, and nothing ever answers.
    Stalled,
}

/// Which handler, and its fallback mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Async(FallbackMode),
    Thread(FallbackMode),
    Blocking,
}

const KINDS: [Kind; 6] = [
    Kind::Async(FallbackMode::Drop),
    Kind::Async(FallbackMode::Block),
    Kind::Async(FallbackMode::Nowait),
    Kind::Thread(FallbackMode::Drop),
    Kind::Thread(FallbackMode::Block),
    Kind::Blocking,
];

#[derive(Debug, Clone, Copy)]
struct Case {
    transport: &'static str,
    confirmation: Confirmation,
    kind: Kind,
    chaos: Chaos,
}

/// Every combination that makes sense: a datagram socket has no
/// connection to stall.
fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for transport in TRANSPORTS {
        for confirmation in CONFIRMATIONS {
            for kind in KINDS {
                for chaos in CHAOS {
                    let datagram = matches!(transport, "udp" | "unix");
                    if datagram && chaos == Chaos::Stalled {
                        continue;
                    }
                    cases.push(Case {
                        transport,
                        confirmation,
                        kind,
                        chaos,
                    });
                }
            }
        }
    }
    cases
}

const RECORDS: usize = 600;
const CONFIRM_TIMEOUT: Duration = Duration::from_millis(400);
/// What a wait may take beyond its deadline: the wake-up, and a machine
/// busy with the other tests.
const SLACK: Duration = Duration::from_millis(1_500);

#[test]
fn the_collector_killed_frozen_restarted_unreachable_or_stalled_never_breaks_a_promise() {
    let seed: u64 = std::env::var("CLH_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut cases = all_cases();
    let runs = match std::env::var("CLH_CHAOS_RUNS").as_deref() {
        Ok("all") => cases.len(),
        Ok(n) => n.parse().expect("CLH_CHAOS_RUNS: a number or all"),
        Err(_) => 12,
    };
    rng.shuffle(&mut cases);
    eprintln!(
        "chaos: seed {seed}, {runs} of {} combinations (CLH_CHAOS_SEED={seed} to replay)",
        cases.len()
    );
    let started = Instant::now();
    for (i, case) in cases.into_iter().take(runs).enumerate() {
        let Some(report) = run(case) else {
            return; // no rsyslogd, and not under CI
        };
        eprintln!("chaos {i}: {case:?}: {report}");
    }
    eprintln!("chaos: {runs} combinations in {:?}", started.elapsed());
}

/// The collector of one run.
struct Collector {
    rsyslog: Option<Rsyslog>,
    _dir: Option<tempfile::TempDir>,
    _tarpit: Option<std::net::TcpListener>,
    url: String,
}

fn collector(case: Case) -> Option<Collector> {
    let scheme = case.transport;
    match case.chaos {
        Chaos::Unreachable => {
            let url = match scheme {
                "unix" => {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let url = format!("unix://{}", dir.path().join("nobody.sock").display());
                    return Some(Collector {
                        rsyslog: None,
                        _dir: Some(dir),
                        _tarpit: None,
                        url,
                    });
                }
                _ => format!("{scheme}://127.0.0.1:{}", refused_port()),
            };
            return Some(Collector {
                rsyslog: None,
                _dir: None,
                _tarpit: None,
                url,
            });
        }
        Chaos::Stalled => {
            let (listener, port) = tarpit();
            return Some(Collector {
                rsyslog: None,
                _dir: None,
                _tarpit: Some(listener),
                url: format!("{scheme}://127.0.0.1:{port}"),
            });
        }
        _ => {}
    }
    let listeners = Listeners {
        relp: scheme == "relp",
        tls: scheme == "tls",
        relp_tls: scheme == "relp+tls",
        udp: scheme == "udp",
        unix: scheme == "unix",
        ..Listeners::default()
    };
    let (dir, rsyslog) = Rsyslog::start_in_temp_dir(listeners)?;
    let p = &rsyslog.ports;
    let url = match scheme {
        "tcp" => format!("tcp://127.0.0.1:{}", p.tcp),
        "tls" => format!("tls://127.0.0.1:{}", p.tls),
        "relp" => format!("relp://127.0.0.1:{}", p.relp),
        "relp+tls" => format!("relp+tls://127.0.0.1:{}", p.relp_tls),
        "udp" => format!("udp://127.0.0.1:{}", p.udp),
        _ => format!("unix://{}", p.unix.display()),
    };
    Some(Collector {
        rsyslog: Some(rsyslog),
        _dir: Some(dir),
        _tarpit: None,
        url,
    })
}

fn config(case: Case, collector: &Collector) -> SyslogConfig {
    let mut config = SyslogConfig::new(collector.url.clone())
        .expect("url")
        .confirmation(case.confirmation)
        .confirm_timeout(CONFIRM_TIMEOUT)
        .connect_timeout(Duration::from_millis(500))
        .ack_timeout(Duration::from_secs(1))
        .max_backoff(Duration::from_millis(200))
        .buffer_capacity(2_000);
    if case.transport.contains("tls") {
        // The tarpit and the refusing port have no certificates to check.
        config = match collector.rsyslog.as_ref().and_then(|r| r.certs.clone()) {
            Some(certs) => config
                .ca_file(&certs.ca)
                .client_auth(&certs.client_cert, &certs.client_key),
            None => config.danger_accept_invalid_certs(true),
        };
    }
    config
}

/// One handler of any kind, with the calls the run makes.
enum Handler {
    Async(AsyncConcurrentHandler, tokio::runtime::Runtime),
    Thread(NonBlockingConcurrentHandler),
    Blocking(ConcurrentRotatingFileHandler),
}

impl Handler {
    fn build(kind: Kind, log: &TempLog, syslog: SyslogConfig, reports: &Reports) -> Handler {
        match kind {
            Kind::Async(mode) => {
                let runtime = crate::util::multi_thread();
                let handler = runtime.block_on(async {
                    AsyncConcurrentHandler::builder(&log.path)
                        .queue_capacity(4 * RECORDS)
                        .fallback_mode(mode)
                        .on_error(reports.hook())
                        .syslog(syslog)
                        .build()
                        .expect("build")
                });
                Handler::Async(handler, runtime)
            }
            Kind::Thread(mode) => {
                let (handler, guard) = NonBlockingConcurrentHandler::builder(&log.path)
                    .queue_capacity(4 * RECORDS)
                    .fallback_mode(mode)
                    .on_error(reports.hook())
                    .syslog(syslog)
                    .build()
                    .expect("build");
                std::mem::forget(guard); // stopped explicitly below
                Handler::Thread(handler)
            }
            Kind::Blocking => Handler::Blocking(
                ConcurrentRotatingFileHandler::builder(&log.path)
                    .on_error(reports.hook())
                    .syslog(syslog)
                    .build()
                    .expect("build"),
            ),
        }
    }

    fn emit(&self, record: Record) {
        match self {
            Handler::Async(h, rt) => rt.block_on(async { h.emit(record) }),
            Handler::Thread(h) => h.emit(record),
            Handler::Blocking(h) => h.emit(record).expect("the file takes it"),
        }
    }

    /// The call that waits for the record (the blocking handler: its
    /// write, then a flush).
    fn emit_wait(&self, record: Record) -> Result<()> {
        match self {
            Handler::Async(h, rt) => rt.block_on(h.emit_wait(record)),
            Handler::Thread(h) => h.emit_wait(record),
            Handler::Blocking(h) => h.emit(record).and_then(|()| h.flush()),
        }
    }

    fn shutdown(&self, timeout: Duration) -> Result<()> {
        match self {
            Handler::Async(h, rt) => rt.block_on(h.shutdown_timeout(timeout)),
            Handler::Thread(h) => h.stop_timeout(timeout),
            Handler::Blocking(h) => h.shutdown(timeout),
        }
    }

    fn stats(&self) -> Stats {
        match self {
            Handler::Async(h, _) => h.stats(),
            Handler::Thread(h) => h.stats(),
            Handler::Blocking(h) => h.stats(),
        }
    }
}

/// One combination; `None` when rsyslogd is not installed (and not under CI).
fn run(case: Case) -> Option<String> {
    let mut collector = collector(case)?;
    let log = TempLog::new();
    let reports = Reports::new();
    let handler = Arc::new(Handler::build(
        case.kind,
        &log,
        config(case, &collector),
        &reports,
    ));
    // The sink's stats, checked all along by a thread of their own.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = std::thread::spawn({
        let handler = Arc::clone(&handler);
        let done = Arc::clone(&done);
        move || {
            let mut snapshots = 0;
            while !done.load(Ordering::SeqCst) {
                if let Some(sink) = handler.stats().syslog {
                    assert!(sink.adds_up(), "a snapshot that does not add up: {sink:?}");
                }
                snapshots += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            snapshots
        }
    });
    let waits_for_collector = case.confirmation != Confirmation::LocalFile;
    let wait_limit = if waits_for_collector {
        CONFIRM_TIMEOUT + SLACK
    } else {
        SLACK
    };
    let mut confirmed = Vec::new();
    for seq in 0..RECORDS {
        if seq == RECORDS / 3
            && let Some(rsyslog) = collector.rsyslog.as_mut()
        {
            match case.chaos {
                Chaos::Kill | Chaos::Restart => rsyslog.kill(),
                Chaos::Freeze => rsyslog.pause(),
                _ => {}
            }
        }
        if seq == 2 * RECORDS / 3
            && let Some(rsyslog) = collector.rsyslog.as_mut()
        {
            match case.chaos {
                Chaos::Restart => rsyslog.restart(),
                Chaos::Freeze => rsyslog.resume(),
                _ => {}
            }
        }
        if seq % 60 == 59 {
            let started = Instant::now();
            let outcome = handler.emit_wait(record(0, seq));
            let took = started.elapsed();
            assert!(
                took < wait_limit,
                "{case:?}: emit_wait of {seq} took {took:?}: {outcome:?}"
            );
            if outcome.is_ok() {
                confirmed.push(seq);
            }
        } else {
            handler.emit(record(0, seq));
        }
    }
    let started = Instant::now();
    let timeout = Duration::from_millis(800);
    let shut = handler.shutdown(timeout);
    let took = started.elapsed();
    assert!(
        took < timeout + SLACK,
        "{case:?}: shutdown took {took:?}: {shut:?}"
    );
    done.store(true, Ordering::SeqCst);
    let snapshots = watcher.join().expect("the stats added up all along");
    let stats = handler.stats();
    let sink = stats.syslog.expect("forwarding");
    assert!(sink.adds_up(), "{case:?}: {sink:?}");
    assert_eq!(
        (sink.buffered, sink.in_flight),
        (0, 0),
        "{case:?}: closed, and still holding: {sink:?}"
    );
    // The local file: every record once, in order.
    let (lines, _) = record_lines(&log);
    assert_complete(&check_records(&lines, true), 1, RECORDS);
    // The collector: what is missing is counted.
    let received = match &collector.rsyslog {
        Some(rsyslog) => rsyslog.received(),
        None => Vec::new(),
    };
    let mut at_collector: BTreeMap<usize, usize> = BTreeMap::new();
    for r in &received {
        if let Some((0, seq)) = received_id(r) {
            *at_collector.entry(seq).or_default() += 1;
        }
    }
    let missing = RECORDS - at_collector.len();
    let lost = sink.lost() as usize;
    let relp = case.transport.starts_with("relp");
    let stream = matches!(case.transport, "tcp" | "tls");
    let killed = matches!(case.chaos, Chaos::Kill | Chaos::Restart);
    // What a TCP collector's kernel took and its process never read (it was
    // killed, or it never reads) is lost without a trace on our side.
    let kernel_may_lose = stream && (killed || case.chaos == Chaos::Stalled);
    if relp && killed {
        // A record rsyslogd wrote just before it died, whose answer never
        // came, is counted as given up though it arrived.
        assert!(missing <= lost, "{case:?}: missing {missing}, {sink:?}");
    } else if relp || (stream && !kernel_may_lose) {
        assert_eq!(missing, lost, "{case:?}: {sink:?}");
    } else {
        // Datagrams: nothing tells what was lost on the way.
        assert!(missing >= lost, "{case:?}: missing {missing}, {sink:?}");
    }
    // A confirmation from the collector means it has the record: RELP
    // always (rsyslogd writes before it answers); TCP and TLS when their
    // collector's kernel handed it to a process that lived to write it.
    if waits_for_collector && (relp || (stream && !kernel_may_lose)) {
        let unseen: Vec<usize> = confirmed
            .iter()
            .copied()
            .filter(|seq| !at_collector.contains_key(seq))
            .collect();
        assert!(
            unseen.is_empty(),
            "{case:?}: confirmed but not received: {unseen:?}"
        );
    }
    // What went wrong was the collector's, and was reported, never printed.
    for message in reports.messages() {
        assert!(message.contains(&collector.url), "{case:?}: {message}");
    }
    let duplicates: usize = at_collector.values().map(|c| c - 1).sum();
    assert!(
        duplicates as u64 <= sink.resent,
        "{case:?}: duplicates only among what was resent: {sink:?}"
    );
    Some(format!(
        "{} confirmed, {missing} missing at the collector ({lost} counted), {duplicates} duplicates, \
         shutdown {shut:?} in {took:?}, {snapshots} snapshots",
        confirmed.len()
    ))
}
