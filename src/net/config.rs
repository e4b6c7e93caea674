//! [`SinkConfig`]: where the sink sends and how (transport, TLS, buffer,
//! RELP window, timeouts, backoff, message size), and [`WhenFull`], what it
//! does when its buffer is full. Plain data: the public face that users
//! fill is `SyslogConfig`, one room up.

use std::path::PathBuf;
use std::time::Duration;

use super::defaults::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_RELP_WINDOW,
};
use super::url::{Endpoint, Transport, parse_url};
use crate::error::{Error, Result};

/// What the syslog sink does with a record when its buffer is full (the
/// collector is slow or away). Whatever it does, the local file already has
/// the record: the sink is offered each record only after the file write,
/// and never makes the file wait longer than this says.
///
/// ```
/// use concurrent_log_handler::{SyslogConfig, WhenFull};
/// use std::time::Duration;
///
/// let config = SyslogConfig::new("relp://collector:2514")?
///     .when_full(WhenFull::Wait(Duration::from_millis(50)));
/// # let _ = config;
/// # Ok::<(), concurrent_log_handler::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WhenFull {
    /// Do not forward the record: count it in `SinkStats::dropped`, answer a
    /// caller waiting for the collector's confirmation with an error, and
    /// write a warning with the count into the local log. The default.
    #[default]
    Drop,
    /// Let the writer wait for room, at most this long per batch, then
    /// drop what still does not fit, as `Drop` does. The writer (and so the
    /// local file, and callers in `Block` mode) slows down with the
    /// collector by at most this much per batch.
    Wait(Duration),
}

/// TLS settings of a `tls://` or `relp+tls://` collector.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_auth: Option<(PathBuf, PathBuf)>,
    pub(crate) server_name: Option<String>,
    pub(crate) accept_invalid_certs: bool,
}

/// Where and how the sink sends: everything but the messages' content.
#[derive(Debug, Clone)]
pub(crate) struct SinkConfig {
    /// The URL as the user gave it; errors name the collector by it.
    pub(crate) url: String,
    pub(crate) transport: Transport,
    pub(crate) endpoint: Endpoint,
    pub(crate) tls: TlsSettings,
    pub(crate) buffer_capacity: usize,
    pub(crate) when_full: WhenFull,
    pub(crate) relp_window: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_message_size: usize,
}

/// The smallest `max_message_size`: RFC 5424 §6.1 has every receiver accept
/// 480 octets.
pub(crate) const MIN_MESSAGE_SIZE: usize = 480;

/// The largest `max_message_size`: what RELP's and octet counting's nine
/// length digits can carry, far beyond any collector's limit.
pub(crate) const MAX_MESSAGE_SIZE: usize = 999_999_999;

impl SinkConfig {
    /// Parses `url`; every other setting at its default.
    pub(crate) fn new(url: String) -> Result<SinkConfig> {
        let (transport, endpoint) = parse_url(&url)?;
        Ok(SinkConfig {
            url,
            transport,
            endpoint,
            tls: TlsSettings::default(),
            buffer_capacity: DEFAULT_BUFFER_CAPACITY,
            when_full: WhenFull::Drop,
            relp_window: DEFAULT_RELP_WINDOW,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_backoff: DEFAULT_MAX_BACKOFF,
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        })
    }

    /// Refuses settings no sink can run with, naming the setting and the URL.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: String| {
            Err(Error::invalid_config(format!(
                "syslog {what} (collector {:?})",
                self.url
            )))
        };
        if self.buffer_capacity == 0 {
            return bad("buffer_capacity must be at least 1".into());
        }
        if self.relp_window == 0 {
            return bad("relp_window must be at least 1".into());
        }
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&self.max_message_size) {
            return bad(format!(
                "max_message_size must be between {MIN_MESSAGE_SIZE} and {MAX_MESSAGE_SIZE} bytes, not {}",
                self.max_message_size
            ));
        }
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("ack_timeout", self.ack_timeout),
        ] {
            if value.is_zero() {
                return bad(format!("{name} must not be zero"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sizes_and_timeouts_and_bad_message_sizes_are_refused() {
        let base = || SinkConfig::new("tcp://127.0.0.1:514".into()).expect("valid");
        assert!(base().validate().is_ok());
        type Case = (&'static str, fn(&mut SinkConfig));
        let cases: [Case; 6] = [
            ("buffer_capacity", |c| c.buffer_capacity = 0),
            ("relp_window", |c| c.relp_window = 0),
            ("ack_timeout", |c| c.ack_timeout = Duration::ZERO),
            ("connect_timeout", |c| c.connect_timeout = Duration::ZERO),
            ("max_message_size", |c| c.max_message_size = 479),
            ("max_message_size", |c| c.max_message_size = 1_000_000_000),
        ];
        for (name, set) in cases {
            let mut config = base();
            set(&mut config);
            let err = config.validate().expect_err(name);
            let text = err.to_string();
            assert!(
                text.contains(name) && text.contains("tcp://127.0.0.1:514"),
                "{text}"
            );
        }
    }
}
