//! Every record delivered once, with its header and structured data
//! intact, over TCP, RELP, UDP and a Unix datagram socket.

use std::time::Duration;

use super::{Rsyslog, Sink, check_fields, config, counts, delivers_every_record_once, soon};
use crate::net::test_rsyslog::Listeners;

#[test]
fn tcp_delivers_every_record_once_with_its_header_and_structured_data() {
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(Listeners::default()) else {
        return;
    };
    let config = config(format!("tcp://127.0.0.1:{}", rsyslog.ports.tcp));
    delivers_every_record_once(dir.path(), &rsyslog, config, 2_000);
}

#[test]
fn relp_delivers_every_record_once_and_counts_acknowledgements() {
    let listeners = Listeners {
        relp: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let config = config(format!("relp://127.0.0.1:{}", rsyslog.ports.relp)).relp_window(16);
    delivers_every_record_once(dir.path(), &rsyslog, config.clone(), 2_000);
}

#[test]
fn udp_and_unix_datagrams_deliver_one_message_each() {
    let listeners = Listeners {
        udp: true,
        unix: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    // Few and small enough that loopback UDP does not drop any.
    let udp = config(format!("udp://127.0.0.1:{}", rsyslog.ports.udp));
    delivers_every_record_once(dir.path(), &rsyslog, udp, 50);
    let before = rsyslog.received().len();
    let unix = config(format!("unix://{}", rsyslog.ports.unix.display()));
    let sink = Sink::start(&unix);
    let (batch, _) = sink.outgoing(&unix, 1_000..1_050, false);
    assert_eq!(sink.submit(batch), 0);
    sink.shutdown(soon(10)).expect("clean shutdown");
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= before + 50);
    let counts = counts(&received[before..]);
    assert_eq!(counts.len(), 50);
    assert!(counts.values().all(|&c| c == 1));
    received[before..].iter().for_each(check_fields);
}
