//! `SyslogConfig::new`'s URL parser: an endpoint a resolver can use, the
//! same when written back as a URL, or an `InvalidConfig` naming the URL;
//! never a panic.
#![no_main]

use concurrent_log_handler::ErrorKind;
use concurrent_log_handler::fuzzing::{Endpoint, endpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|url: &str| {
    match endpoint(url) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
            assert!(e.to_string().contains(&format!("{url:?}")), "{e}");
        }
        Ok(Endpoint::Inet { host, port }) => {
            assert_ne!(port, 0, "{url:?}");
            // A name or an address: nothing else reaches the resolver.
            let address = host.parse::<std::net::IpAddr>().is_ok();
            let name = host.len() <= 254
                && host
                    .strip_suffix('.')
                    .unwrap_or(&host)
                    .split('.')
                    .all(|label| {
                        (1..=63).contains(&label.len())
                            && label
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    });
            assert!(address || name, "{url:?} gave host {host:?}");
            let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
            let again = if host.contains(':') {
                format!("{scheme}://[{host}]:{port}")
            } else {
                format!("{scheme}://{host}:{port}")
            };
            assert_eq!(
                endpoint(&again).ok(),
                Some(Endpoint::Inet { host, port }),
                "{url:?} written back as {again:?}"
            );
        }
        Ok(Endpoint::Unix(path)) => {
            assert!(path.is_absolute(), "{url:?}");
            assert!(!path.as_os_str().as_encoded_bytes().contains(&0), "{url:?}");
        }
    }
});
