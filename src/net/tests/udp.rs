//! UDP: IPv6 carries its own, larger payload limit; a message larger than
//! one datagram is cut to it and counted, never retried; a socket refused
//! by an ICMP error reconnects and delivers once someone listens.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use super::{Sink, config, soon};

fn recv_all(socket: &UdpSocket, count: usize) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while got.len() < count {
        match socket.recv(&mut buf) {
            Ok(n) => got.push(buf[..n].to_vec()),
            Err(e) => panic!("after {} datagrams: {e}", got.len()),
        }
    }
    got
}

#[test]
fn ipv6_datagrams_carry_up_to_their_own_limit_and_longer_ones_are_cut() {
    let Ok(collector) = UdpSocket::bind("[::1]:0") else {
        eprintln!("note: skipping: no IPv6 loopback");
        return;
    };
    let port = collector.local_addr().expect("addr").port();
    let config = config(format!("udp://[::1]:{port}")).max_message_size(100_000);
    let sink = Sink::start(&config);
    let (mut batch, _) = sink.outgoing(&config, 0..2, false);
    // 65,527 bytes: more than IPv4's 65,507, exactly IPv6's limit.
    for (envelope, len) in batch.iter_mut().zip([65_527, 80_000]) {
        if let crate::net::Envelope::Record { message, .. } = envelope {
            message.resize(len, b'x');
        }
    }
    assert_eq!(sink.submit(batch), 0);
    let got = recv_all(&collector, 2);
    assert_eq!(got[0].len(), 65_527);
    assert_eq!(got[1].len(), 65_527);
    assert!(got[1].ends_with(b" [truncated]"));
    sink.shutdown(soon(5)).expect("closed");
    let stats = sink.stats();
    assert_eq!(
        (stats.delivered, stats.truncated, stats.failed),
        (2, 1, 0),
        "{stats:?}"
    );
}

#[test]
fn a_refused_datagram_socket_reconnects_and_delivers_once_someone_listens() {
    // Bound, then dropped: nobody listens on the port for a while.
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let config = config(format!("udp://127.0.0.1:{port}"));
    let sink = Sink::start(&config);
    let (batch, _) = sink.outgoing(&config, 0..50, false);
    assert_eq!(sink.submit(batch), 0);
    // Sent into the void (UDP cannot tell), then refused (ICMP), which
    // breaks the session: the socket is made again, with a backoff.
    std::thread::sleep(Duration::from_millis(300));
    let collector = UdpSocket::bind(("127.0.0.1", port)).expect("bind the port again");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = 0;
    collector
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut buf = [0u8; 2048];
    while got == 0 && Instant::now() < deadline {
        let (more, _) = sink.outgoing(&config, 50..51, false);
        sink.submit(more);
        if collector.recv(&mut buf).is_ok() {
            got += 1;
        }
    }
    assert!(
        got > 0,
        "nothing arrived after the collector came: {:?}",
        sink.stats()
    );
    sink.shutdown(soon(5)).expect("closed");
    let stats = sink.stats();
    assert!(stats.reconnects >= 1, "{stats:?}");
}
