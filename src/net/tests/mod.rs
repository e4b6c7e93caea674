//! The sink against a real rsyslogd (`tests/it/rsyslog.rs` starts it): every
//! transport delivers every record once with the right header and
//! structured data; RELP confirms only what rsyslogd acknowledged and
//! survives rsyslogd being killed; TCP counts what it can; an unreachable
//! collector never blocks the caller.
//!
//! These live inside the crate because the sink is `pub(crate)`. Every wait
//! is bounded; rsyslogd is killed when its guard drops.
//!
//! Here is what the tests share: the config and the hostile records they
//! send, and the checks of what rsyslogd received. The tests themselves are
//! in the submodules, by what they test.

mod collector_killed;
mod delivery;
mod partial_write;
mod relp;
mod tls;
mod udp;
mod unreachable;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::test_rsyslog::{Received, Rsyslog, parse_sd, unescape};
use super::{Envelope, SinkHandle};
use crate::SyslogConfig;
use crate::confirm::Confirm;
use crate::error::{Error, Result};
use crate::format::{Facility, Formatter};
use crate::record::{Level, Record};
use crate::stats::SinkStats;

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
    out
}

/// A sink under test, with the calls the handlers make of it.
struct Sink(SinkHandle);

impl Sink {
    fn start(config: &SyslogConfig) -> Sink {
        let errors = std::sync::Arc::default();
        Sink(SinkHandle::start(&config.sink, errors).expect("sink starts"))
    }

    /// Offers `batch`; how many records it refused.
    fn submit(&self, batch: Vec<Envelope>) -> u64 {
        self.0.offer(batch)
    }

    /// A mark, answered once everything before it settled, or at `deadline`.
    fn flush(&self, deadline: Instant) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.0
            .offer([self.0.mark(self.0.reply(Confirm::new(tx), deadline))]);
        wait_confirm(
            &mut { rx },
            deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
        )
        .unwrap_or_else(|| Err(Error::closed()))
    }

    fn shutdown(&self, deadline: Instant) -> Result<()> {
        self.0.close(deadline).outcome()
    }

    fn stats(&self) -> SinkStats {
        let stats = self.0.stats();
        assert!(stats.adds_up(), "{stats:?}");
        stats
    }

    /// Records `range` (see [`message`]), each with a confirm answered at
    /// the latest after a minute, if `confirm`.
    fn outgoing(
        &self,
        config: &SyslogConfig,
        range: std::ops::Range<usize>,
        confirm: bool,
    ) -> (Vec<Envelope>, Vec<Answer>) {
        let mut batch = Vec::new();
        let mut confirms = Vec::new();
        for n in range {
            let (tx, rx) = oneshot::channel();
            let waiter = confirm.then(|| self.0.reply(Confirm::new(tx), soon(60)));
            batch.push(Envelope::Record {
                message: message(config, n),
                waiter,
            });
            if confirm {
                confirms.push(rx);
            }
        }
        (batch, confirms)
    }
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
    let sink = Sink::start(&config);
    let (first, mut confirms) = sink.outgoing(&config, 0..count / 2, true);
    let (second, _) = sink.outgoing(&config, count / 2..count, false);
    for batch in [first, second] {
        assert_eq!(sink.submit(batch), 0, "the buffer holds them all");
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
        (
            stats.accepted,
            stats.delivered,
            stats.dropped,
            stats.failed,
            stats.buffered,
            stats.in_flight
        ),
        (count as u64, count as u64, 0, 0, 0, 0)
    );
}
