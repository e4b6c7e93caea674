//! The defaults of a syslog sink's buffer, RELP window, timeouts and
//! message size.

use std::time::Duration;

/// Records the sink holds while it cannot send (disconnected, or the RELP
/// window is full), by default.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_BUFFER_CAPACITY, 10_000);
/// ```
pub const DEFAULT_BUFFER_CAPACITY: usize = 10_000;
/// RELP frames sent and not yet acknowledged, at most, by default (rsyslog's
/// omrelp uses 128 too).
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_RELP_WINDOW, 128);
/// ```
pub const DEFAULT_RELP_WINDOW: usize = 128;
/// How long one connection attempt (with TLS handshake and RELP `open`) may
/// take, by default.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(5));
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between two connection attempts, by default.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_MAX_BACKOFF, Duration::from_secs(30));
/// ```
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a RELP frame may wait for its `rsp`, or a write may block,
/// before the connection is taken for dead and its records are resent.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(concurrent_log_handler::DEFAULT_ACK_TIMEOUT, Duration::from_secs(30));
/// ```
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest syslog message sent, by default: 8 KiB, rsyslog's default
/// `maxMessageSize` (which its RELP input, imrelp, also takes as its
/// `maxDataSize`). A longer message is truncated, marked and counted (see
/// [`SyslogConfig::max_message_size`](crate::SyslogConfig::max_message_size)).
///
/// ```
/// assert_eq!(concurrent_log_handler::DEFAULT_MAX_MESSAGE_SIZE, 8192);
/// ```
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8 * 1024;
