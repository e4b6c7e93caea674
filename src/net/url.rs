//! The collector's URL: its [`Transport`] (the scheme) and [`Endpoint`]
//! (host and port, or a socket path).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The protocol of a collector's URL (its scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `tcp://`: RFC 6587 octet counting over TCP.
    Tcp,
    /// `tls://`: RFC 5425, octet counting over TLS.
    Tls,
    /// `relp://`: RELP over TCP.
    Relp,
    /// `relp+tls://`: RELP over TLS (librelp's `tls="on"`).
    RelpTls,
    /// `udp://`: RFC 5426, one message per datagram.
    Udp,
    /// `unix://`: one message per datagram on a local socket (`/dev/log`).
    Unix,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Transport {
    pub(crate) fn is_tls(self) -> bool {
        matches!(self, Transport::Tls | Transport::RelpTls)
    }

    pub(crate) fn is_relp(self) -> bool {
        matches!(self, Transport::Relp | Transport::RelpTls)
    }

    fn default_port(self) -> u16 {
        match self {
            Transport::Tcp | Transport::Udp | Transport::Unix => 514,
            Transport::Tls => 6514,
            Transport::Relp | Transport::RelpTls => 2514,
        }
    }
}

/// Where the collector is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Inet { host: String, port: u16 },
    Unix(PathBuf),
}

pub(super) fn parse_url(url: &str) -> Result<(Transport, Endpoint)> {
    let bad = |why: &str| Error::invalid_config(format!("syslog URL {url:?}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected scheme://host:port"))?;
    let transport = match scheme.to_ascii_lowercase().as_str() {
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        "relp" => Transport::Relp,
        "relp+tls" => Transport::RelpTls,
        "udp" => Transport::Udp,
        "unix" => Transport::Unix,
        _ => {
            return Err(bad(
                "unknown scheme (tcp, tls, relp, relp+tls, udp or unix)",
            ));
        }
    };
    if transport.is_tls() && !cfg!(feature = "tls") {
        return Err(bad("TLS needs the crate's `tls` feature"));
    }
    if transport == Transport::Unix {
        if !rest.starts_with('/') {
            return Err(bad("a unix socket path must be absolute (unix:///dev/log)"));
        }
        return Ok((transport, Endpoint::Unix(PathBuf::from(rest))));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(bad("only host and port are allowed"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed [ in host"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("expected :port after ]"))?,
            ),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None => transport.default_port(),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("bad port"))?,
    };
    Ok((
        transport,
        Endpoint::Inet {
            host: host.to_owned(),
            port,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SyslogConfig;
    #[test]
    fn urls_parse_to_transport_and_endpoint() {
        let inet = |host: &str, port| Endpoint::Inet {
            host: host.into(),
            port,
        };
        let cases = [
            (
                "tcp://127.0.0.1:1514",
                Transport::Tcp,
                inet("127.0.0.1", 1514),
            ),
            (
                "TLS://logs.example.org",
                Transport::Tls,
                inet("logs.example.org", 6514),
            ),
            (
                "relp://collector:2514/",
                Transport::Relp,
                inet("collector", 2514),
            ),
            (
                "relp+tls://[::1]:20514",
                Transport::RelpTls,
                inet("::1", 20514),
            ),
            ("udp://[fe80::1]", Transport::Udp, inet("fe80::1", 514)),
            (
                "unix:///dev/log",
                Transport::Unix,
                Endpoint::Unix("/dev/log".into()),
            ),
        ];
        for (url, transport, endpoint) in cases {
            let config = SyslogConfig::new(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (config.sink.transport, config.sink.endpoint),
                (transport, endpoint),
                "{url}"
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_with_the_url_in_the_message() {
        for url in [
            "collector:514",
            "http://x:80",
            "tcp://:514",
            "tcp://host:0",
            "tcp://host:99999",
            "tcp://host:port",
            "tcp://host:514/path",
            "tcp://user@host:514",
            "tcp://[::1",
            "tcp://[::1]514",
            "unix://dev/log",
        ] {
            let err = SyslogConfig::new(url).expect_err(url);
            assert_eq!(err.kind(), crate::error::ErrorKind::InvalidConfig, "{url}");
            assert!(err.to_string().contains(url), "{url}: {err}");
        }
    }
}
