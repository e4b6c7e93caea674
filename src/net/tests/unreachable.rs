//! A collector nobody answers for: `submit` never blocks, what does not
//! fit comes back, and flush and shutdown end by their deadlines.

use std::time::{Duration, Instant};

use super::{SyslogSink, config, outgoing};
use crate::error::ErrorKind;

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
