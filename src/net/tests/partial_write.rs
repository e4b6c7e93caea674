//! A TCP write that fails part-way: only what the collector's kernel did
//! not acknowledge is sent again, and each record's transmissions are
//! counted once (`sent - resent` is the number of distinct records sent).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use super::{Sink, config, soon};

/// Reads octet-counted frames from `stream`, each `n=<seq>` record's seq;
/// stops after `limit` frames or at the end of the stream.
fn read_frames(stream: &mut TcpStream, limit: usize) -> Vec<usize> {
    let mut seqs = Vec::new();
    let mut len = Vec::new();
    let mut byte = [0u8; 1];
    while seqs.len() < limit {
        len.clear();
        loop {
            match stream.read(&mut byte) {
                Ok(1) if byte[0] == b' ' => break,
                Ok(1) => len.push(byte[0]),
                _ => return seqs,
            }
        }
        let n: usize = std::str::from_utf8(&len)
            .ok()
            .and_then(|l| l.parse().ok())
            .expect("a frame length");
        let mut frame = vec![0u8; n];
        if stream.read_exact(&mut frame).is_err() {
            return seqs;
        }
        let text = String::from_utf8_lossy(&frame);
        let seq = text
            .split("n=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("a test record");
        seqs.push(seq);
    }
    seqs
}

/// Sets an int socket option on `fd`.
fn set_option(fd: i32, level: i32, name: i32, value: &[u8]) {
    // SAFETY: `fd` is an open socket of the caller's for the whole call;
    // `value` is valid for reads of its length, which is passed along.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt({level}, {name})");
}

#[test]
fn a_tcp_write_that_fails_part_way_resends_only_what_was_not_acknowledged() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    // A small receive window: the sink's big batch cannot all leave before
    // the collector reads it, so its write is still going when it resets.
    set_option(
        listener.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVBUF,
        &8192i32.to_ne_bytes(),
    );
    let port = listener.local_addr().expect("addr").port();
    let (first_tx, first_rx) = mpsc::channel();
    let (second_tx, second_rx) = mpsc::channel();
    let read_first = 300;
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let first = read_frames(&mut stream, read_first);
        // A reset (linger 0): what the kernel took but we did not read is
        // gone, as with a collector killed mid-stream.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `linger` is a plain C struct; its bytes are what
        // setsockopt reads for SO_LINGER.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&raw const linger).cast::<u8>(),
                std::mem::size_of::<libc::linger>(),
            )
        };
        set_option(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, bytes);
        drop(stream);
        first_tx.send(first).expect("report");
        let (mut stream, _) = listener.accept().expect("accept again");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        second_tx
            .send(read_frames(&mut stream, usize::MAX))
            .expect("report");
    });
    // 12 KB records: one batch of 1,024 is 12 MB, more than the socket
    // buffers hold (Linux: at most 4 MiB), so the reset breaks a write.
    let config = config(format!("tcp://127.0.0.1:{port}"))
        .buffer_capacity(10_000)
        .max_message_size(16 * 1024);
    let sink = Sink::start(&config);
    let total = 2_000;
    let (mut batch, _) = sink.outgoing(&config, 0..total, false);
    for envelope in &mut batch {
        if let crate::net::Envelope::Record { message, .. } = envelope {
            message.extend(std::iter::repeat_n(b'x', 12_000));
        }
    }
    assert_eq!(sink.submit(batch), 0);
    let first = first_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("first");
    assert_eq!(first, (0..read_first).collect::<Vec<_>>());
    sink.flush(soon(20)).expect("delivered after the reconnect");
    sink.shutdown(soon(10)).expect("closed");
    let second = second_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("second");
    server.join().expect("server");
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for seq in first.iter().chain(&second) {
        *counts.entry(*seq).or_default() += 1;
    }
    let duplicates: Vec<usize> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| *n)
        .collect();
    assert!(duplicates.is_empty(), "read twice: {duplicates:?}");
    // Lost: what the first connection's kernel acknowledged and nobody read
    // (its receive buffer at the reset), never more.
    let lost = total - counts.len();
    assert!(lost <= 64, "{lost} records lost");
    let stats = sink.stats();
    assert!(
        stats.resent > 0,
        "the unacknowledged part went again: {stats:?}"
    );
    assert!(stats.reconnects == 1, "{stats:?}");
    assert_eq!(stats.delivered, total as u64, "{stats:?}");
    // Each record's bytes left at most once on each connection: the second
    // connection carried what the first never delivered.
    assert_eq!(
        stats.sent - stats.resent,
        total as u64,
        "distinct records transmitted: {stats:?}"
    );
}
