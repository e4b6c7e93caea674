//! The network sink: where the bytes of RFC 5424 messages go once the local
//! file has their records. This room is a library that takes bytes: it
//! never sees a `Record`, a formatter or a file.
//!
//! - `config`: [`SinkConfig`], where to send (`tcp://`, `tls://`, `relp://`,
//!   `relp+tls://`, `udp://`, `unix://`) and how (TLS files, buffer and
//!   [`WhenFull`], RELP window, timeouts, backoff, message size); `url`
//!   parses its URL, `defaults` holds its defaults.
//! - `framing`: RFC 6587 octet counting and RELP frames (tokio-util codecs).
//! - `transport`: connecting (TCP, TLS with rustls, datagram sockets) and
//!   what the kernel tells about a TCP connection.
//! - `sink`: the sink itself, [`SinkHandle`]: a bounded intake, a private
//!   runtime thread, one ledger of records in flight, sessions per
//!   transport, reconnects with a backoff per outage, and a close by the
//!   caller's deadline that counts what it gave up.
//!
//! What each transport guarantees, and how to deploy it, is in
//! [`SyslogConfig`](crate::SyslogConfig)'s docs, where users read it.

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

pub(crate) use config::SinkConfig;
#[cfg(feature = "tls")]
use config::TlsSettings;
pub use config::WhenFull;
pub use defaults::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_RELP_WINDOW,
};
pub(crate) use sink::{Envelope, SinkHandle};
use url::{Endpoint, Transport};

/// What the fuzz targets reach through `crate::fuzzing`: the frame decoders
/// of what a collector sends, and the endpoint a URL names.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    pub(crate) use super::framing::{OctetCounting, RelpCodec, RelpFrame, RelpOut};
    pub(crate) use super::url::Endpoint;
}
