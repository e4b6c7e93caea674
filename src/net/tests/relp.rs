//! RELP's confirms: a record is confirmed only once rsyslogd acknowledged
//! it, and an error status fails that record alone.

use std::time::Duration;

use super::{Rsyslog, Sink, config, counts, soon, wait_confirm};
use crate::error::ErrorKind;
use crate::net::test_rsyslog::Listeners;

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
    let _ = server.join();
}
