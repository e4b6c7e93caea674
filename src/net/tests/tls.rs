//! TLS and RELP over TLS: the collector's certificate verified against the
//! CA and the name, the client's certificate presented when asked for.

use std::time::{Duration, Instant};

use super::{Rsyslog, Sink, config, delivers_every_record_once};
use crate::error::ErrorKind;
use crate::net::test_rsyslog::Listeners;

#[test]
fn tls_delivers_with_the_server_verified_against_the_ca() {
    let listeners = Listeners {
        tls: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    // The certificate names 127.0.0.1: the URL's host is verified as is.
    let config = config(format!("tls://127.0.0.1:{}", rsyslog.ports.tls)).ca_file(&certs.ca);
    delivers_every_record_once(dir.path(), &rsyslog, config, 500);
}

#[test]
fn relp_over_tls_with_client_certificates_delivers_every_record_once() {
    let listeners = Listeners {
        relp_tls: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    // librelp with certificates insists on one from the client too.
    let config = config(format!("relp+tls://127.0.0.1:{}", rsyslog.ports.relp_tls))
        .ca_file(&certs.ca)
        .client_auth(&certs.client_cert, &certs.client_key);
    delivers_every_record_once(dir.path(), &rsyslog, config, 500);
}

#[test]
fn tls_refuses_a_server_its_ca_did_not_sign_or_a_wrong_name() {
    let listeners = Listeners {
        tls: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    let url = format!("tls://127.0.0.1:{}", rsyslog.ports.tls);
    for config in [
        config(url.clone()).ca_file(&certs.other_ca),
        config(url.clone())
            .ca_file(&certs.ca)
            .server_name("collector.example"),
    ] {
        let sink = Sink::start(&config);
        let (batch, _) = sink.outgoing(&config, 0..3, false);
        assert_eq!(sink.submit(batch), 0);
        let err = sink
            .flush(Instant::now() + Duration::from_millis(1_500))
            .expect_err("never verified");
        assert!(
            err.kind() == ErrorKind::DeliveryTimeout && err.to_string().contains(": 3 records"),
            "{err}"
        );
        assert!(sink.stats().connect_errors >= 1, "{:?}", sink.stats());
        let _ = sink.shutdown(Instant::now() + Duration::from_millis(200));
    }
    // Only the explicit opt-out skips verification.
    let config = config(url).danger_accept_invalid_certs(true);
    delivers_every_record_once(dir.path(), &rsyslog, config, 10);
}

#[test]
fn tls_presents_the_client_certificate_when_the_collector_demands_one() {
    let listeners = Listeners {
        tls_client_auth: true,
        ..Listeners::default()
    };
    let Some((dir, rsyslog)) = Rsyslog::start_in_temp_dir(listeners) else {
        return;
    };
    let certs = rsyslog.certs.clone().expect("certs");
    let config = config(format!("tls://127.0.0.1:{}", rsyslog.ports.tls_client_auth))
        .ca_file(&certs.ca)
        .client_auth(&certs.client_cert, &certs.client_key);
    delivers_every_record_once(dir.path(), &rsyslog, config, 50);
}
