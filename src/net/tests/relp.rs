//! RELP's confirms: a record is confirmed only once rsyslogd acknowledged
//! it, and an error status fails that record alone.

use std::time::Duration;

use super::{Rsyslog, Sink, config, counts, soon, wait_confirm};
use crate::error::ErrorKind;
use crate::net::test_rsyslog::{Listeners, RelpAnswer, scripted_relp};

#[test]
fn relp_confirm_resolves_only_after_rsyslogd_acknowledged() {
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some((_dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let config = config(format!("relp://127.0.0.1:{}", rsyslog.ports.relp));
    let sink = Sink::start(&config);
    // Connected and open.
    let (batch, mut confirms) = sink.outgoing(&config, 0..1, true);
    sink.submit(batch);
    wait_confirm(&mut confirms[0], Duration::from_secs(10))
        .expect("first record confirmed")
        .expect("ok");

    rsyslog.pause();
    let (batch, mut confirms) = sink.outgoing(&config, 1..2, true);
    sink.submit(batch);
    // The frame reaches the frozen rsyslogd's socket (its kernel even
    // acknowledges the TCP segment), but no `rsp` comes: no confirmation.
    assert!(
        wait_confirm(&mut confirms[0], Duration::from_millis(700)).is_none(),
        "answered while rsyslogd was stopped"
    );
    assert_eq!(sink.stats().in_flight, 1);
    assert!(!counts(&rsyslog.received()).contains_key(&1));
    rsyslog.resume();
    wait_confirm(&mut confirms[0], Duration::from_secs(10))
        .expect("confirmed once rsyslogd runs again")
        .expect("ok");
    // Acknowledged means written: rsyslogd writes before it answers.
    assert_eq!(counts(&rsyslog.received()).get(&1), Some(&1));
    assert_eq!(sink.stats().delivered, 2);
    sink.shutdown(soon(10)).expect("clean shutdown");
}

#[test]
fn relp_error_status_fails_that_record_with_a_typed_error() {
    // rsyslogd answers 200 or drops the connection; an error status needs a
    // server that says so: a RELP peer scripted on loopback.
    let port = scripted_relp(|_, frame| match frame {
        1 => RelpAnswer::Status("500 queue full"),
        _ => RelpAnswer::Status("200 OK"),
    });
    let config = config(format!("relp://127.0.0.1:{port}"));
    let sink = Sink::start(&config);
    let (batch, mut confirms) = sink.outgoing(&config, 0..3, true);
    sink.submit(batch);
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
        (stats.delivered, stats.failed, stats.resent),
        (2, 1, 0),
        "{stats:?}"
    );
    let _ = sink.shutdown(soon(5));
}
