//! Forwarding to a syslog collector (rsyslog, syslog-ng): where the bytes of
//! RFC 5424 messages go once formatted. This room never sees a `Record`; it
//! carries bytes.
//!
//! - [`SyslogConfig`]: where to send (`tcp://`, `tls://`, `relp://`,
//!   `relp+tls://`, `udp://`, `unix://`) and how (TLS files, buffer, RELP
//!   window, timeouts, backoff), plus the header fields of the messages;
//!   `url` parses its URL, `defaults` holds its defaults.
//! - `framing`: RFC 6587 octet counting and RELP frames (tokio-util codecs).
//! - `transport`: connecting (TCP, TLS with rustls, datagram sockets) and
//!   what the kernel tells about a TCP connection.
//! - `sink`: the sink the writer hands messages to: a bounded buffer, a
//!   private runtime thread, reconnects; [`SinkStats`](crate::SinkStats). What the callers
//!   and its task share: `sink::shared`; the task's connection loop:
//!   `sink::task`, and what it does with records: `sink::records`. Its
//!   sessions: `sink::stream` (TCP/TLS, datagrams) and `sink::relp` (the
//!   RELP window and acknowledgements).
//!
//! What each transport guarantees, and how to deploy it, is in
//! [`SyslogConfig`]'s docs, where users read it.

mod config;
mod defaults;
mod framing;
mod sink;
#[cfg(test)]
#[path = "../../tests/it/rsyslog.rs"]
#[allow(unreachable_pub)] // shared with the integration tests, where it is pub
mod test_rsyslog;
#[cfg(test)]
mod tests;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod url;

#[cfg(feature = "tls")]
use config::TlsSettings;
pub use config::{Confirmation, SyslogConfig};
pub use defaults::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FLUSH_TIMEOUT,
    DEFAULT_MAX_BACKOFF, DEFAULT_RELP_WINDOW,
};
#[allow(unused_imports)] // for the handlers, which do not use them yet
pub(crate) use sink::{Outgoing, Submitted, SyslogSink};
use url::{Endpoint, Transport};
