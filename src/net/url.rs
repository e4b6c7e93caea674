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
        if rest.contains('\0') {
            return Err(bad("a unix socket path cannot hold a NUL byte"));
        }
        if rest.len() > MAX_SOCKET_PATH {
            return Err(bad(&format!(
                "a unix socket path has at most {MAX_SOCKET_PATH} bytes"
            )));
        }
        return Ok((transport, Endpoint::Unix(PathBuf::from(rest))));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(bad("only host and port are allowed"));
    }
    let bracketed = authority.starts_with('[');
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
    check_host(host, bracketed).map_err(bad)?;
    let port = match port {
        None => transport.default_port(),
        // Digits only: `u16::from_str` would also take a sign (`+514`).
        Some(p) => Some(p)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("bad port (1 to 65535)"))?,
    };
    Ok((
        transport,
        Endpoint::Inet {
            host: host.to_owned(),
            port,
        },
    ))
}

/// The longest path of a unix socket: `sun_path` less its final NUL (107
/// bytes on Linux).
const MAX_SOCKET_PATH: usize = std::mem::size_of::<libc::sockaddr_un>()
    - std::mem::offset_of!(libc::sockaddr_un, sun_path)
    - 1;

/// The longest host name (RFC 1035 §2.3.4, without the final dot) and label.
const MAX_HOST_NAME: usize = 253;
const MAX_LABEL: usize = 63;

/// Whether `host` can name a collector: an IPv6 address (inside `[ ]` in the
/// URL, `bracketed`), an IPv4 address, or a host name, so that a typo fails
/// here, with the URL, rather than at every connection attempt.
///
/// A host name is what the resolver takes: dot-separated labels of 1 to 63
/// ASCII letters, digits, `-` (not first or last) and `_` (which DNS allows
/// and container networks use), at most 253 characters, with an optional
/// final dot. RFC 3986's `reg-name` allows more (percent-escapes, `!$&'()*+,;=`
/// and `~`), which no resolver turns into an address; an international name
/// is given in its `xn--` form. A name whose last label is all digits is
/// read by the resolver as a number (`1.2.3` is `1.2.0.3`), so it must be a
/// whole IPv4 address instead.
fn check_host(host: &str, bracketed: bool) -> std::result::Result<(), &'static str> {
    if bracketed {
        return host
            .parse::<std::net::Ipv6Addr>()
            .map(drop)
            .map_err(|_| "not an IPv6 address inside [ ] (zone ids such as %eth0 are not taken)");
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if host.contains(':') {
        return Err("an IPv6 address goes inside [ ], as in tcp://[::1]:514");
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > MAX_HOST_NAME {
        return Err("a host name has at most 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err("each dot-separated label of a host name has 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(
                "a host name holds ASCII letters, digits, '-', '_' and dots only \
                 (an international name in its xn-- form)",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("no label of a host name starts or ends with '-'");
        }
    }
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(
            "neither an IPv4 address (a.b.c.d, each 0 to 255) nor a host name \
             (whose last label is not all digits)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::SinkConfig;
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
            ("tcp://localhost", Transport::Tcp, inet("localhost", 514)),
            ("tcp://10.0.0.1:0514", Transport::Tcp, inet("10.0.0.1", 514)),
            (
                "tcp://255.255.255.255:65535",
                Transport::Tcp,
                inet("255.255.255.255", 65535),
            ),
            (
                "tcp://[::ffff:10.0.0.1]:1514",
                Transport::Tcp,
                inet("::ffff:10.0.0.1", 1514),
            ),
            (
                "tcp://logs.example.org.:1514",
                Transport::Tcp,
                inet("logs.example.org.", 1514),
            ),
            (
                "tcp://rsyslog_1.compose-net:1514",
                Transport::Tcp,
                inet("rsyslog_1.compose-net", 1514),
            ),
            (
                "tcp://xn--bcher-kva.example:1514",
                Transport::Tcp,
                inet("xn--bcher-kva.example", 1514),
            ),
            ("tcp://1e100.net", Transport::Tcp, inet("1e100.net", 514)),
            (
                &format!("tcp://{}.{}", "a".repeat(63), "b".repeat(63)),
                Transport::Tcp,
                inet(&format!("{}.{}", "a".repeat(63), "b".repeat(63)), 514),
            ),
            (
                "unix:///dev/log",
                Transport::Unix,
                Endpoint::Unix("/dev/log".into()),
            ),
        ];
        for (url, transport, endpoint) in cases {
            let config = SinkConfig::new(url.into()).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (config.transport, config.endpoint),
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
            "tcp://host:+514",
            "tcp://host:",
            // Hosts no resolver takes: refused here, not at every connection.
            "tcp://f[:514",
            "tcp://f]:514",
            "tcp://\0:514",
            "tcp://lo\0calhost:514",
            "tcp://ho st:514",
            " tcp://host:514",
            "tcp://host :514",
            "tcp://host:514 ",
            "tcp://host\t:514",
            "tcp://host\n.evil:514",
            "tcp://host\r:514",
            "tcp://\x1b[31m:514",
            "tcp://\u{85}:514",
            "tcp://bücher.example:514",
            "tcp://%6c%6f:514",
            "tcp://a~b:514",
            "tcp://a!b:514",
            "tcp://a=b:514",
            "tcp://-host:514",
            "tcp://host-:514",
            "tcp://a..b:514",
            "tcp://.:514",
            "tcp://.host:514",
            "tcp://host..:514",
            "tcp://1.2.3:514",
            "tcp://999.1.1.1:514",
            "tcp://256.0.0.1:514",
            "tcp://1.2.3.4.5:514",
            "tcp://0x7f.1:514",
            "tcp://::1:514",
            "tcp://::1",
            "tcp://[]:514",
            "tcp://[::1%eth0]:514",
            "tcp://[fe80::1%25eth0]:514",
            "tcp://[v1.fe]:514",
            "tcp://[127.0.0.1]:514",
            "tcp://[::1]]:514",
            "tcp://[[::1]:514",
            "unix:///dev/lo\0g",
        ] {
            let err = SinkConfig::new(url.into()).expect_err(url);
            assert_eq!(
                err.kind(),
                crate::error::ErrorKind::InvalidConfig,
                "{url:?}"
            );
            // The URL as Rust writes a string, so that a control
            // character in it shows in the message without acting.
            assert!(
                err.to_string().contains(&format!("{url:?}")),
                "{url:?}: {err}"
            );
        }
        let long_label = format!("tcp://{}.example:514", "a".repeat(64));
        let long_name = format!("tcp://{}:514", vec!["a".repeat(63); 4].join("."));
        let long_path = format!("unix:///{}", "s".repeat(MAX_SOCKET_PATH));
        for url in [long_label, long_name, long_path] {
            let err = SinkConfig::new(url.clone()).expect_err(&url);
            assert!(err.to_string().contains(&url), "{err}");
        }
        assert_eq!(MAX_SOCKET_PATH, 107, "Linux's sun_path less its NUL");
    }
}
