//! Connecting to the collector: TCP (optionally wrapped in TLS) for the
//! stream transports, a UDP or Unix datagram socket for the others; and
//! what the kernel can tell about a TCP connection's delivery.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UdpSocket, UnixDatagram};

use super::{Endpoint, Transport};

/// A stream to the collector, plain or TLS, over a [`Counted`] TCP stream.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP stream underneath, with the count of bytes written to it.
    fn tcp(&self) -> &Counted;
}

impl Io for Counted {
    fn tcp(&self) -> &Counted {
        self
    }
}

#[cfg(feature = "tls")]
impl Io for tokio_rustls::client::TlsStream<Counted> {
    fn tcp(&self) -> &Counted {
        self.get_ref().0
    }
}

/// An open connection.
pub(crate) enum Conn {
    Stream(Box<dyn Io>),
    Datagram(Datagram),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conn::Stream(_) => f.write_str("Conn::Stream"),
            Conn::Datagram(d) => d.fmt(f),
        }
    }
}

/// A connected datagram socket: one message per datagram.
#[derive(Debug)]
pub(crate) enum Datagram {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Datagram {
    pub(crate) async fn send(&self, message: &[u8]) -> io::Result<usize> {
        match self {
            Datagram::Udp(socket) => socket.send(message).await,
            Datagram::Unix(socket) => socket.send(message).await,
        }
    }

    /// The largest message one datagram carries: 65,507 bytes over IPv4
    /// and 65,527 over IPv6 (65,535 less the headers that count against
    /// it); `None` for a Unix socket, whose limit is its buffer size
    /// (`EMSGSIZE` tells).
    pub(crate) fn max_payload(&self) -> Option<usize> {
        match self {
            Datagram::Udp(socket) => match socket.peer_addr() {
                Ok(addr) if addr.is_ipv6() => Some(65_527),
                _ => Some(65_507),
            },
            Datagram::Unix(_) => None,
        }
    }
}

/// What [`connect`] needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) transport: Transport,
    pub(crate) endpoint: Endpoint,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::TlsClient>,
}

/// Connects to the collector (TCP connect and TLS handshake; for datagram
/// sockets, binding and `connect` so that sends need no address), within
/// `timeout`. A stream tries the addresses the host resolves to in order
/// until one connects; a UDP socket, which cannot tell whether anyone
/// listens until a send fails, takes the address `attempt` points at, so
/// that each new attempt after a failed send tries the next one.
pub(crate) async fn connect(
    target: &Target,
    timeout: Duration,
    attempt: usize,
) -> io::Result<Conn> {
    match tokio::time::timeout(timeout, connect_now(target, attempt)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {timeout:?}"),
        )),
    }
}

async fn connect_now(target: &Target, attempt: usize) -> io::Result<Conn> {
    let (host, port) = match &target.endpoint {
        Endpoint::Unix(path) => {
            let socket = UnixDatagram::unbound()?;
            socket.connect(path)?;
            return Ok(Conn::Datagram(Datagram::Unix(socket)));
        }
        Endpoint::Inet { host, port } => (host.as_str(), *port),
    };
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let no_address = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        )
    };
    if target.transport == Transport::Udp {
        let addr = *addrs
            .get(attempt % addrs.len().max(1))
            .ok_or_else(no_address)?;
        let local: std::net::SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        return Ok(Conn::Datagram(Datagram::Udp(socket)));
    }
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return stream_over(stream, target).await,
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(no_address))
}

async fn stream_over(stream: TcpStream, target: &Target) -> io::Result<Conn> {
    // Batches are written whole; Nagle would only hold back the last
    // segment of each (and a RELP window's worth of small frames).
    stream.set_nodelay(true)?;
    let counted = Counted::new(stream);
    if !target.transport.is_tls() {
        return Ok(Conn::Stream(Box::new(counted)));
    }
    #[cfg(feature = "tls")]
    if let Some(tls) = &target.tls {
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(&tls.config));
        let stream = connector.connect(tls.server_name.clone(), counted).await?;
        return Ok(Conn::Stream(Box::new(stream)));
    }
    Err(io::Error::other("TLS is not configured"))
}

/// A TCP stream that counts the bytes handed to the kernel, and remembers
/// how many bytes the peer had acknowledged when it was connected, so that
/// the two can be compared later (see [`Counted::written`] and [`Counted::acknowledged`]).
#[derive(Debug)]
pub(crate) struct Counted {
    stream: TcpStream,
    written: u64,
    /// `tcpi_bytes_acked` right after connecting (the SYN counts as one
    /// byte in it on Linux); `None` when the kernel does not report it.
    acked_at_start: Option<u64>,
}

impl Counted {
    fn new(stream: TcpStream) -> Counted {
        let acked_at_start = bytes_acked(&stream).ok();
        Counted {
            stream,
            written: 0,
            acked_at_start,
        }
    }

    /// Bytes handed to the kernel so far (TLS records included, for TLS).
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Bytes written that the peer's kernel has acknowledged so far; `None`
    /// if the kernel cannot tell. Also readable after the connection broke:
    /// the counter survives a reset.
    pub(crate) fn acknowledged(&self) -> Option<u64> {
        let start = self.acked_at_start?;
        let now = bytes_acked(&self.stream).ok()?;
        Some(now.saturating_sub(start).min(self.written))
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.written += n as u64;
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// `tcpi_bytes_acked` of `TCP_INFO`: the bytes the peer has acknowledged
/// (RFC 4898 `tcpEStatsAppHCThruOctetsAcked`; Linux 4.2 and later).
#[cfg(target_os = "linux")]
fn bytes_acked(stream: &TcpStream) -> io::Result<u64> {
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the fd is the open socket of `stream`, borrowed for the call;
    // `info` is valid for writes of `len` bytes (the kernel writes at most
    // `len` and sets `len` to what it wrote); `zeroed` makes every byte
    // initialised, so reading fields the kernel left alone is defined.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // An older kernel writes a shorter struct that ends before the field.
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + 8;
    if (len as usize) < needed {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the kernel does not report tcpi_bytes_acked",
        ));
    }
    // SAFETY: every byte was initialised by `zeroed` or by the kernel.
    Ok(unsafe { info.assume_init() }.tcpi_bytes_acked)
}

#[cfg(not(target_os = "linux"))]
fn bytes_acked(_stream: &TcpStream) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "TCP_INFO is read on Linux only",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_acked_follows_what_the_peer_received_and_survives_a_reset() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut client = Counted::new(client);
        assert_eq!(client.acknowledged(), Some(0), "nothing written yet");
        client.write_all(&[7u8; 10_000]).await.unwrap();
        client.flush().await.unwrap();
        assert_eq!(client.written(), 10_000);
        let mut got = vec![0u8; 10_000];
        server.read_exact(&mut got).await.unwrap();
        // The ACKs are on their way; loopback delivers them within moments.
        let mut acked = None;
        for _ in 0..200 {
            acked = client.acknowledged();
            if acked == Some(10_000) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(acked, Some(10_000));
        // A reset (linger 0 on close) empties the send queue; the counter stays.
        server.set_zero_linger().unwrap();
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = client.write_all(b"after the reset").await;
        assert_eq!(client.acknowledged(), Some(10_000));
    }
}
