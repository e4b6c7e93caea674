//! [`SyslogConfig`]: where and how to forward records to a collector, and
//! [`Confirmation`]: which sinks must have a record before it counts as
//! arrived. What each transport guarantees is documented here, where users
//! read it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::defaults::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FLUSH_TIMEOUT,
    DEFAULT_MAX_BACKOFF, DEFAULT_RELP_WINDOW,
};
use super::url::{Endpoint, Transport, parse_url};
use crate::error::{Error, Result};
use crate::format::{Facility, SyslogFormatter};

/// TLS settings of a `tls://` or `relp+tls://` collector.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_auth: Option<(PathBuf, PathBuf)>,
    pub(crate) server_name: Option<String>,
    pub(crate) accept_invalid_certs: bool,
}

/// Where and how to forward log records to a syslog collector, beside the
/// local file: give it to any handler's builder with `.syslog(config)`.
///
/// # Deployment
///
/// The pattern this is made for: every service writes its local rotating
/// file (the full record, whatever the network does) and forwards each
/// record over RELP to a central rsyslog, which relays onward
/// (Elasticsearch, Kafka, files) with its own queues:
///
/// ```text
/// service ─► app.log (local, rotated, complete)
///    └─────► relp://logs.internal:2514 ─► rsyslog (imrelp, disk-assisted queue) ─► …
/// ```
///
/// ```no_run
/// use concurrent_log_handler::format::Facility;
/// use concurrent_log_handler::{AsyncConcurrentHandler, Confirmation, SyslogConfig};
///
/// # async fn setup() -> Result<(), concurrent_log_handler::Error> {
/// let handler = AsyncConcurrentHandler::builder("/var/log/api/app.log")
///     .max_bytes(100 << 20)
///     .backup_count(10)
///     .syslog(
///         SyslogConfig::new("relp://logs.internal:2514")?
///             .facility(Facility::Local0)
///             .app_name("api")
///             // emit_wait: on local disk *and* acknowledged by the collector
///             .confirmation(Confirmation::Both),
///     )
///     .build()?;
/// # handler.shutdown().await
/// # }
/// ```
///
/// The sink connects lazily and reconnects with exponential backoff and
/// jitter (capped by [`max_backoff`](Self::max_backoff)); `emit` never waits
/// for the network in `Drop` or `Nowait` mode. While the collector is
/// unreachable, records wait in a buffer of
/// [`buffer_capacity`](Self::buffer_capacity); beyond it the handler's
/// fallback mode applies: `Block` waits (the writer slows down with the
/// network), `Drop` and `Nowait` stop forwarding the overflow, count it in
/// the sink's stats (`Stats::syslog`) and report it in the local log. A
/// `flush`, `stop` or `shutdown` waits at most
/// [`flush_timeout`](Self::flush_timeout) for the collector.
///
/// # What each transport guarantees
///
/// | URL | delivery | a confirmation means | can be lost | can be duplicated |
/// |---|---|---|---|---|
/// | `relp://`, `relp+tls://` | at least once | the collector answered `rsp 200` | nothing it acknowledged (see below) | records acknowledged by the collector whose `rsp` did not reach us before the connection broke: they are sent again (`resent`) |
/// | `tcp://`, `tls://` | at most once past the collector's kernel | the bytes were written and flushed to the socket: *sent*, not acknowledged | what the collector's kernel acknowledged but its process never read (its socket buffer, a killed process's input buffer) | records resent after a break because the collector's kernel had not acknowledged their bytes (plain TCP: whole records; TLS: whole batches) |
/// | `udp://` | best effort | the datagram was handed to the kernel | anything: no acknowledgement, no error for a datagram nobody receives | no |
/// | `unix://` (`/dev/log`) | as the local daemon reads | the datagram was queued on the socket | what the daemon drops itself | no |
///
/// "Acknowledged" by RELP means rsyslog took the record into its queue: it
/// survives a crash of rsyslogd only if that queue is direct or disk-backed.
///
/// Plain TCP loss is counted as far as the sending side can see it: after a
/// break, the records whose bytes the peer's kernel never acknowledged
/// (from `TCP_INFO`'s `tcpi_bytes_acked`, read on the broken socket) are
/// sent again on the next connection and counted in
/// [`SinkStats::resent`](crate::SinkStats::resent). `SIOCOUTQ` cannot tell this: Linux empties the
/// send queue when a reset arrives, which is how a dead collector's kernel
/// answers, so it reads 0 exactly when it matters; the byte counter
/// survives the reset. Data the collector's kernel acknowledged and then
/// threw away with the process leaves no trace on our side: only RELP can
/// promise that nothing confirmed is lost.
///
/// [`SyslogConfig::new`] parses the collector's URL; the other methods
/// take and return the config (each `#[must_use]`).
///
/// | URL | transport | default port |
/// |---|---|---|
/// | `tcp://host:port` | RFC 6587 octet-counted frames over TCP | 514 |
/// | `tls://host:port` | the same over TLS (RFC 5425), rustls | 6514 |
/// | `relp://host:port` | RELP: every record acknowledged by the collector | 2514 |
/// | `relp+tls://host:port` | RELP over TLS | 2514 |
/// | `udp://host:port` | one datagram per message (RFC 5426); lossy | 514 |
/// | `unix:///dev/log` | one datagram per message on a local socket | |
///
/// | setting | default |
/// |---|---|
/// | [`facility`](Self::facility) | `user` |
/// | [`app_name`](Self::app_name) | the executable's file name |
/// | [`hostname`](Self::hostname) | `gethostname(2)` |
/// | [`msgid`](Self::msgid) | each record's target |
/// | [`enterprise_id`](Self::enterprise_id) | 32473 (`[fields@32473 …]`) |
/// | [`ca_file`](Self::ca_file) | the system's CA bundle |
/// | [`client_auth`](Self::client_auth) | none |
/// | [`server_name`](Self::server_name) | the URL's host |
/// | [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs) | `false`: certificates are always verified |
/// | [`buffer_capacity`](Self::buffer_capacity) | [`DEFAULT_BUFFER_CAPACITY`] |
/// | [`relp_window`](Self::relp_window) | [`DEFAULT_RELP_WINDOW`] |
/// | [`connect_timeout`](Self::connect_timeout) | [`DEFAULT_CONNECT_TIMEOUT`] |
/// | [`max_backoff`](Self::max_backoff) | [`DEFAULT_MAX_BACKOFF`] |
/// | [`ack_timeout`](Self::ack_timeout) | [`DEFAULT_ACK_TIMEOUT`] |
/// | [`confirmation`](Self::confirmation) | [`Confirmation::LocalFile`] |
/// | [`flush_timeout`](Self::flush_timeout) | [`DEFAULT_FLUSH_TIMEOUT`] |
///
/// ```
/// use concurrent_log_handler::format::Facility;
/// use concurrent_log_handler::{Error, ErrorKind, SyslogConfig};
///
/// let config = SyslogConfig::new("relp://collector.internal:2514")?
///     .facility(Facility::Local0)
///     .app_name("api")
///     .relp_window(64);
/// assert_eq!(config.url(), "relp://collector.internal:2514");
///
/// let err = SyslogConfig::new("http://collector:80").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
/// assert!(err.to_string().contains("http://collector:80"), "{err}");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    url: String,
    pub(crate) transport: Transport,
    pub(crate) endpoint: Endpoint,
    formatter: SyslogFormatter,
    pub(crate) tls: TlsSettings,
    pub(crate) buffer_capacity: usize,
    pub(crate) relp_window: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) confirmation: Confirmation,
    pub(crate) flush_timeout: Duration,
}

/// Which sinks must have a record before `emit_wait` (and `flush`) say it
/// arrived, when a handler forwards to a collector; see
/// [`SyslogConfig::confirmation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Confirmation {
    /// The local file only: the collector gets the record as soon as it can,
    /// and its failures are counted in the sink's stats.
    LocalFile,
    /// The collector only: over RELP, its acknowledgement; over TCP and TLS,
    /// the record written to the connection; for datagrams, sent.
    Collector,
    /// Both: `Ok` once the file has it and the collector confirmed, the
    /// first error of either otherwise.
    Both,
}

impl SyslogConfig {
    /// Parses the collector's URL (see the table above).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the URL when its scheme is unknown,
    /// its host or port is missing or malformed, a `unix://` path is not
    /// absolute, or it names TLS and the crate was built without the `tls`
    /// feature.
    pub fn new(url: impl Into<String>) -> Result<SyslogConfig> {
        let url = url.into();
        let (transport, endpoint) = parse_url(&url)?;
        Ok(SyslogConfig {
            url,
            transport,
            endpoint,
            formatter: SyslogFormatter::new(),
            tls: TlsSettings::default(),
            buffer_capacity: DEFAULT_BUFFER_CAPACITY,
            relp_window: DEFAULT_RELP_WINDOW,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_backoff: DEFAULT_MAX_BACKOFF,
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            confirmation: Confirmation::LocalFile,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
        })
    }

    /// The URL as given to [`new`](Self::new); errors name the collector by it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The facility of every message (default `user`).
    #[must_use]
    pub fn facility(mut self, facility: Facility) -> Self {
        self.formatter = self.formatter.facility(facility);
        self
    }

    /// The APP-NAME of every message (default: the executable's file name).
    #[must_use]
    pub fn app_name(mut self, app_name: impl AsRef<str>) -> Self {
        self.formatter = self.formatter.app_name(app_name);
        self
    }

    /// The HOSTNAME of every message (default: `gethostname(2)`).
    #[must_use]
    pub fn hostname(mut self, hostname: impl AsRef<str>) -> Self {
        self.formatter = self.formatter.hostname(hostname);
        self
    }

    /// A fixed MSGID for every message (default: each record's target).
    #[must_use]
    pub fn msgid(mut self, msgid: impl AsRef<str>) -> Self {
        self.formatter = self.formatter.msgid(msgid);
        self
    }

    /// The private enterprise number of the structured-data ID
    /// (`fields@<number>`; default 32473, the number for examples).
    #[must_use]
    pub fn enterprise_id(mut self, enterprise_id: u32) -> Self {
        self.formatter = self.formatter.enterprise_id(enterprise_id);
        self
    }

    /// The PEM file of the CA certificates the collector's certificate must
    /// chain to (default: the system's bundle, `/etc/ssl/certs/ca-certificates.crt`
    /// or `/etc/pki/tls/certs/ca-bundle.crt`).
    #[must_use]
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.tls.ca_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// A client certificate (chain, PEM) and its private key (PEM: PKCS#8,
    /// PKCS#1 or SEC1), for collectors that authenticate their clients.
    #[must_use]
    pub fn client_auth(mut self, cert_pem: impl AsRef<Path>, key_pem: impl AsRef<Path>) -> Self {
        self.tls.client_auth = Some((
            cert_pem.as_ref().to_path_buf(),
            key_pem.as_ref().to_path_buf(),
        ));
        self
    }

    /// The name the collector's certificate must carry (default: the URL's
    /// host, a DNS name or an IP address).
    #[must_use]
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.tls.server_name = Some(name.into());
        self
    }

    /// Accepts any certificate from the collector, so anyone on the path
    /// can read and forge the logs. For a test bench only; off by default.
    #[must_use]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// How many records wait in the sink while it cannot send (at least 1).
    /// Beyond it, the handler's fallback mode decides (drop and count, or
    /// block).
    #[must_use]
    pub fn buffer_capacity(mut self, records: usize) -> Self {
        self.buffer_capacity = records;
        self
    }

    /// How many RELP frames may be sent before the first of them is
    /// acknowledged (at least 1).
    #[must_use]
    pub fn relp_window(mut self, frames: usize) -> Self {
        self.relp_window = frames;
        self
    }

    /// How long one connection attempt may take, handshakes included.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait between connection attempts; the wait doubles from
    /// 100 ms up to this, with random jitter.
    #[must_use]
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// How long a RELP frame may wait for its acknowledgement (or a write
    /// may block) before the connection is dropped and its records resent.
    #[must_use]
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Which sinks must have a record before `emit_wait` says it arrived
    /// (default [`Confirmation::LocalFile`]). With
    /// [`Confirmation::Collector`] or [`Both`](Confirmation::Both) over
    /// `relp://`, a confirmed record is in the collector's hands.
    pub fn confirmation(mut self, confirmation: Confirmation) -> Self {
        self.confirmation = confirmation;
        self
    }

    /// How long a handler's `flush`, `stop` or `shutdown` waits for the
    /// collector to have what was forwarded (default
    /// [`DEFAULT_FLUSH_TIMEOUT`]); what is still undelivered then is given
    /// up at shutdown and counted.
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// The formatter that writes the messages of this config: its facility,
    /// app name, hostname, msgid and enterprise number.
    ///
    /// ```
    /// use concurrent_log_handler::format::{Facility, Formatter};
    /// use concurrent_log_handler::{Level, Record, SyslogConfig};
    ///
    /// let config = SyslogConfig::new("tcp://127.0.0.1:514")?.facility(Facility::Local3).app_name("api");
    /// let mut out = Vec::new();
    /// config.formatter().format(&Record::new(Level::Error, "boom"), &mut out);
    /// let message = String::from_utf8(out).unwrap();
    /// assert!(message.starts_with("<155>1 "), "{message}"); // 19 * 8 + 3
    /// assert!(message.contains(" api "));
    /// # Ok::<(), concurrent_log_handler::Error>(())
    /// ```
    pub fn formatter(&self) -> SyslogFormatter {
        self.formatter.clone()
    }

    /// Refuses settings no sink can run with.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.buffer_capacity == 0 {
            return Err(Error::invalid_config(
                "syslog buffer_capacity must be at least 1",
            ));
        }
        if self.relp_window == 0 {
            return Err(Error::invalid_config(
                "syslog relp_window must be at least 1",
            ));
        }
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("ack_timeout", self.ack_timeout),
            ("flush_timeout", self.flush_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::invalid_config(format!(
                    "syslog {name} must not be zero"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sizes_and_timeouts_are_refused() {
        let base = || SyslogConfig::new("tcp://127.0.0.1:514").expect("valid");
        assert!(base().validate().is_ok());
        assert!(base().buffer_capacity(0).validate().is_err());
        assert!(base().relp_window(0).validate().is_err());
        assert!(base().ack_timeout(Duration::ZERO).validate().is_err());
        assert!(base().connect_timeout(Duration::ZERO).validate().is_err());
    }
}
