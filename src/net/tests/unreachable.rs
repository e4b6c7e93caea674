//! A collector nobody answers for: an offer never blocks, what does not fit
//! is refused and counted, waits end by their deadlines, and a close gives
//! up and counts everything it held.

use std::time::{Duration, Instant};

use super::{Sink, config, wait_confirm};
use crate::error::ErrorKind;

#[test]
fn an_unreachable_collector_never_blocks_an_offer_and_everything_is_counted() {
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
        let sink = Sink::start(&config);
        let (batch, _) = sink.outgoing(&config, 0..250, false);
        let started = Instant::now();
        let refused = sink.submit(batch);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(100),
            "{url}: offer took {took:?}"
        );
        // The task may have taken one record out already (to connect with).
        assert!((149..=150).contains(&refused), "{url}: {refused}");
        // One more than the task may take out meanwhile (at most the one
        // it connects with): at least the last is refused, and told so.
        let (more, mut confirms) = sink.outgoing(&config, 250..252, true);
        let refused = refused + sink.submit(more);
        assert!((150..=152).contains(&refused), "{url}: {refused}");
        let err = wait_confirm(&mut confirms[1], Duration::from_secs(1))
            .expect("answered at once")
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::SinkFull, "{url}: {err}");
        assert!(err.to_string().contains(&url), "{url}: {err}");
        let stats = sink.stats();
        assert_eq!(
            (
                stats.accepted,
                stats.dropped,
                stats.buffered + stats.in_flight
            ),
            (252, refused, 252 - refused),
            "{url}: {stats:?}"
        );
        let err = sink
            .flush(Instant::now() + Duration::from_millis(300))
            .expect_err(&url);
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{url}: {err}");
        assert!(err.to_string().contains(&url), "{url}: {err}");
        let started = Instant::now();
        let err = sink
            .shutdown(Instant::now() + Duration::from_millis(300))
            .expect_err(&url);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(900),
            "{url}: shutdown took {took:?}"
        );
        assert_eq!(err.kind(), ErrorKind::DeliveryTimeout, "{url}: {err}");
        let stats = sink.stats();
        assert_eq!(
            (stats.dropped, stats.buffered, stats.in_flight, stats.sent),
            (252, 0, 0, 0),
            "{url}: everything given up is counted: {stats:?}"
        );
        // After shutdown everything is refused, and counted.
        let (late, _) = sink.outgoing(&config, 0..2, false);
        assert_eq!(sink.submit(late), 2, "{url}");
        assert_eq!(sink.stats().dropped, 254, "{url}");
    }
}
