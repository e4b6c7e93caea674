//! rsyslogd killed in the middle of a stream: RELP resends what was not
//! acknowledged and loses nothing it confirmed; TCP loses only what the
//! dead collector's kernel had taken, and resends the rest.

use std::time::Duration;

use super::{Sink, SyslogConfig, config, counts, soon, wait_confirm};
use crate::error::Result;
use crate::net::test_rsyslog::{Listeners, Rsyslog};

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
) -> (Sink, Vec<Option<Result<()>>>, usize) {
    let sink = Sink::start(config);
    let total = 4 * phase + frozen;
    let mut confirms = Vec::new();
    let mut submit = |range: std::ops::Range<usize>| {
        let (batch, rx) = sink.outgoing(config, range, true);
        assert!(sink.submit(batch) == 0, "the buffer holds them");
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
    assert!(
        flushed.is_ok() || config.sink.transport.is_relp(),
        "{flushed:?}"
    );
    let outcomes = confirms
        .iter_mut()
        .map(|rx| wait_confirm(rx, Duration::from_secs(5)))
        .collect();
    (sink, outcomes, submitted_at_kill)
}

#[test]
fn relp_resends_unacknowledged_frames_after_rsyslogd_is_killed_and_loses_nothing_confirmed() {
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some((_dir, mut rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
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
        stats.reconnects >= 1 && stats.delivered >= total as u64,
        "{stats:?}"
    );
    eprintln!("relp kill: {stats:?}, duplicates {duplicates}");
}

#[test]
fn tcp_after_rsyslogd_is_killed_loses_only_what_its_kernel_had_taken_and_resends_the_rest() {
    let Some((_dir, mut rsyslog)) = Rsyslog::start_in_temp_dir(Listeners::default()) else {
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
