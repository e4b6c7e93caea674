//! [`SyslogConfig`]: where and how to forward records to a collector, and
//! [`Confirmation`]: which sinks must have a record before a waiting caller
//! hears that it arrived. What each transport guarantees is documented
//! here, where users read it.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::{Facility, SyslogFormatter};
use crate::net::{SinkConfig, WhenFull};

/// Default [`confirm_timeout`](SyslogConfig::confirm_timeout): the longest
/// any call waits for the collector unless it gives a deadline of its own.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_CONFIRM_TIMEOUT, Duration::from_secs(10));
/// ```
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

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
/// use std::time::Duration;
///
/// # async fn setup() -> Result<(), concurrent_log_handler::Error> {
/// let handler = AsyncConcurrentHandler::builder("/var/log/api/app.log")
///     .max_bytes(100 << 20)
///     .backup_count(10)
///     .syslog(
///         SyslogConfig::new("relp://logs.internal:2514")?
///             .facility(Facility::Local0)
///             .app_name("api")
///             // emit_wait: on local disk *and* acknowledged by the collector…
///             .confirmation(Confirmation::Both)
///             // …or an error after 2 s that names the collector.
///             .confirm_timeout(Duration::from_secs(2)),
///     )
///     .build()?;
/// # handler.shutdown().await
/// # }
/// ```
///
/// # The local file never waits on the network
///
/// The writer writes each batch to the local file first, then offers its
/// records to the sink, in file order. The sink connects lazily and
/// reconnects with exponential backoff and jitter (a new outage starts
/// over from 100 ms, capped by [`max_backoff`](Self::max_backoff)). While
/// the collector is slow or away, records wait in the sink's buffer of
/// [`buffer_capacity`](Self::buffer_capacity) records; beyond it the sink's
/// own [`WhenFull`] policy applies, never the handler's fallback mode: by
/// default it drops the record from the forwarding (the local file has it),
/// counts it in the sink's stats ([`Stats::syslog`](crate::Stats::syslog))
/// and reports it in the local log.
///
/// # Waits, and what bounds them
///
/// | call | waits for, with `LocalFile` | with `Collector` | with `Both` | bounded by |
/// |---|---|---|---|---|
/// | `emit` below `sync_level` | nothing | nothing | nothing | — |
/// | `emit` at or above `sync_level` | the file | the file | the file | the file's lock |
/// | `emit_wait` | the file | the collector's confirmation | both | the file's lock; the collector's part by [`confirm_timeout`](Self::confirm_timeout) |
/// | `flush` | the file | the collector's confirmation of everything before it | both | as `emit_wait` |
/// | `stop`, dropping a thread handler's guard | the file, then the collector's confirmation of everything before it | the same | the same | the caller's deadline, and for the collector `confirm_timeout` |
/// | `shutdown`, dropping an async handler's guard or a blocking handler, the exit hook | the file, then the sink's delivery of what it holds, after which it is closed | the same | the same | the caller's deadline (the exit hook's: two seconds), and for the collector `confirm_timeout` |
///
/// A wait for the collector that reaches its deadline fails with
/// [`ErrorKind::DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout), which
/// names the collector and how many records it has not delivered; the
/// record itself stays in the sink and is still delivered if the collector
/// comes back before the sink is closed. What a closing sink could not
/// deliver by its deadline is given up, counted in `SinkStats::dropped`,
/// and said on stderr and in the error `shutdown` returns.
///
/// # What each transport guarantees
///
/// | URL | delivery | a confirmation means | can be lost | can be duplicated |
/// |---|---|---|---|---|
/// | `relp://`, `relp+tls://` | at least once | the collector answered `rsp 200` | nothing it acknowledged (see below) | records acknowledged by the collector whose `rsp` did not reach us before the connection broke: they are sent again (`resent`) |
/// | `tcp://` | at most once past the collector's kernel | the collector's kernel acknowledged the record's bytes (Linux; elsewhere: written to the socket) | what the collector's kernel acknowledged but its process never read (its socket buffer, a killed process's input buffer) | records resent after a break because the collector's kernel had not acknowledged their bytes |
/// | `tls://` | as `tcp://`, by batch | the collector's kernel acknowledged the end of the record's batch | as `tcp://` | the batch of a write that failed part-way is sent again whole |
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
/// A message longer than [`max_message_size`](Self::max_message_size)
/// (default 8 KiB, rsyslog's own default limit) is cut to it, as RFC 5424
/// §6.1 allows, ending in ` [truncated]`, and counted in
/// `SinkStats::truncated`; the local file keeps it whole. Raise both limits
/// together: rsyslog drops a RELP session whose frame exceeds its
/// `maxMessageSize`.
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
/// | [`buffer_capacity`](Self::buffer_capacity) | [`DEFAULT_BUFFER_CAPACITY`](crate::DEFAULT_BUFFER_CAPACITY) |
/// | [`when_full`](Self::when_full) | [`WhenFull::Drop`] |
/// | [`relp_window`](Self::relp_window) | [`DEFAULT_RELP_WINDOW`](crate::DEFAULT_RELP_WINDOW) |
/// | [`connect_timeout`](Self::connect_timeout) | [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT) |
/// | [`max_backoff`](Self::max_backoff) | [`DEFAULT_MAX_BACKOFF`](crate::DEFAULT_MAX_BACKOFF) |
/// | [`ack_timeout`](Self::ack_timeout) | [`DEFAULT_ACK_TIMEOUT`](crate::DEFAULT_ACK_TIMEOUT) |
/// | [`max_message_size`](Self::max_message_size) | [`DEFAULT_MAX_MESSAGE_SIZE`](crate::DEFAULT_MAX_MESSAGE_SIZE) |
/// | [`confirmation`](Self::confirmation) | [`Confirmation::LocalFile`] |
/// | [`confirm_timeout`](Self::confirm_timeout) | [`DEFAULT_CONFIRM_TIMEOUT`] |
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
    pub(crate) sink: SinkConfig,
    formatter: SyslogFormatter,
    pub(crate) confirmation: Confirmation,
    pub(crate) confirm_timeout: Duration,
}

/// Which sinks must have a record before `emit_wait` and `flush` say it
/// arrived, when a handler forwards to a collector; see
/// [`SyslogConfig::confirmation`].
///
/// Whatever the choice, the record is written to the local file first,
/// and records at or above `sync_level` are in the file when `emit`
/// returns (that promise is about the file alone). Each wait for the
/// collector ends by [`SyslogConfig::confirm_timeout`] at the latest, with
/// an error naming the collector ([`SyslogConfig`] has the table of waits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Confirmation {
    /// The local file only: the collector gets the record as soon as it can,
    /// and its failures are counted in the sink's stats.
    LocalFile,
    /// The collector only: over RELP, its acknowledgement; over TCP and TLS,
    /// its kernel's acknowledgement of the bytes; for datagrams, sent.
    Collector,
    /// Both: `Ok` once the file has it and the collector confirmed, the
    /// first error of either otherwise.
    Both,
}

impl Confirmation {
    /// Whether a caller waits for the collector.
    pub(crate) fn waits_for_collector(self) -> bool {
        matches!(self, Confirmation::Collector | Confirmation::Both)
    }

    /// Whether a caller waits for the file.
    pub(crate) fn waits_for_file(self) -> bool {
        matches!(self, Confirmation::LocalFile | Confirmation::Both)
    }
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
        Ok(SyslogConfig {
            sink: SinkConfig::new(url.into())?,
            formatter: SyslogFormatter::new(),
            confirmation: Confirmation::LocalFile,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        })
    }

    /// The URL as given to [`new`](Self::new); errors name the collector by it.
    pub fn url(&self) -> &str {
        &self.sink.url
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
        self.sink.tls.ca_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// A client certificate (chain, PEM) and its private key (PEM: PKCS#8,
    /// PKCS#1 or SEC1), for collectors that authenticate their clients.
    #[must_use]
    pub fn client_auth(mut self, cert_pem: impl AsRef<Path>, key_pem: impl AsRef<Path>) -> Self {
        self.sink.tls.client_auth = Some((
            cert_pem.as_ref().to_path_buf(),
            key_pem.as_ref().to_path_buf(),
        ));
        self
    }

    /// The name the collector's certificate must carry (default: the URL's
    /// host, a DNS name or an IP address).
    #[must_use]
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.sink.tls.server_name = Some(name.into());
        self
    }

    /// Accepts any certificate from the collector, so anyone on the path
    /// can read and forge the logs. For a test bench only; off by default.
    #[must_use]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.sink.tls.accept_invalid_certs = accept;
        self
    }

    /// How many records wait in the sink while it cannot send (at least 1).
    /// Beyond it, [`when_full`](Self::when_full) decides.
    #[must_use]
    pub fn buffer_capacity(mut self, records: usize) -> Self {
        self.sink.buffer_capacity = records;
        self
    }

    /// What the sink does with a record when its buffer is full (default
    /// [`WhenFull::Drop`]: drop it from the forwarding, count and report
    /// it). The handler's fallback mode never applies to the sink.
    #[must_use]
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.sink.when_full = when_full;
        self
    }

    /// How many RELP frames may be sent before the first of them is
    /// acknowledged (at least 1).
    #[must_use]
    pub fn relp_window(mut self, frames: usize) -> Self {
        self.sink.relp_window = frames;
        self
    }

    /// How long one connection attempt may take, handshakes included (RELP's
    /// `open` too).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.sink.connect_timeout = timeout;
        self
    }

    /// The longest wait between connection attempts; in each outage the
    /// wait doubles from 100 ms up to this, with random jitter.
    #[must_use]
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.sink.max_backoff = max;
        self
    }

    /// How long the collector may take to acknowledge what was sent (a RELP
    /// `rsp`, TCP acknowledgements of written bytes) or to take a write,
    /// before the connection is taken for dead and its records are sent
    /// again on a new one.
    #[must_use]
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.sink.ack_timeout = timeout;
        self
    }

    /// The longest message sent (480 bytes to 999,999,999; default
    /// [`DEFAULT_MAX_MESSAGE_SIZE`](crate::DEFAULT_MAX_MESSAGE_SIZE), 8 KiB):
    /// set it to the collector's limit (rsyslog's global `maxMessageSize`,
    /// which its `imrelp` input also takes as `maxDataSize`). A longer
    /// message is cut to it at a character boundary and ends in
    /// ` [truncated]`, counted in `SinkStats::truncated`; the local file
    /// keeps the whole record. A datagram is also cut to what one datagram
    /// carries.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.sink.max_message_size = bytes;
        self
    }

    /// Which sinks must have a record before `emit_wait` and `flush` say
    /// it arrived (default [`Confirmation::LocalFile`]). With
    /// [`Confirmation::Collector`] or [`Both`](Confirmation::Both) over
    /// `relp://`, a confirmed record is in the collector's hands.
    #[must_use]
    pub fn confirmation(mut self, confirmation: Confirmation) -> Self {
        self.confirmation = confirmation;
        self
    }

    /// The longest any call waits for the collector (default
    /// [`DEFAULT_CONFIRM_TIMEOUT`]): the collector's part of `emit_wait`
    /// and `flush`, and the delivery of what the sink holds when the
    /// handler is stopped or shut down, unless the call's own deadline is
    /// sooner. A wait that reaches it fails with
    /// [`ErrorKind::DeliveryTimeout`](crate::ErrorKind::DeliveryTimeout).
    #[must_use]
    pub fn confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
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
        self.sink.validate()?;
        if self.confirm_timeout.is_zero() {
            return Err(Error::invalid_config(format!(
                "syslog confirm_timeout must not be zero (collector {:?})",
                self.sink.url
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_confirm_timeout_is_refused_and_sink_settings_are_checked() {
        let base = || SyslogConfig::new("tcp://127.0.0.1:514").expect("valid");
        assert!(base().validate().is_ok());
        assert!(base().confirm_timeout(Duration::ZERO).validate().is_err());
        assert!(base().buffer_capacity(0).validate().is_err());
        assert!(base().max_message_size(100).validate().is_err());
    }
}
