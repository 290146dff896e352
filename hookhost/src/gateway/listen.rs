//! Where the client connects: a unix socket (go-plugin's choice on every
//! system but Windows) or loopback TCP within the client's port range, and
//! the accepted connections, through TLS when AutoMTLS is on.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::authority::AuthorityFix;

/// How long a new client has to complete its TLS handshake, or without
/// TLS to send its first bytes.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Which kind of listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// A unix socket (go-plugin's default).
    #[default]
    Unix,
    /// Loopback TCP, in `PLUGIN_MIN_PORT`..`PLUGIN_MAX_PORT`.
    Tcp,
}

/// A bound listener; a unix socket's file is removed when it is dropped.
pub(crate) enum Listener {
    Unix {
        listener: UnixListener,
        path: PathBuf,
    },
    Tcp(TcpListener),
}

impl Listener {
    /// A socket named `plugin<random>` in `dir` (as go-plugin names it),
    /// readable and writable by this user only, or by `group` too.
    pub(crate) fn unix(dir: &Path, group: Option<&str>) -> io::Result<Listener> {
        let gid = group.map(group_id).transpose()?;
        let mut attempt = 0u32;
        loop {
            let path = dir.join(format!("plugin{}", unique_suffix(attempt)));
            match UnixListener::bind(&path) {
                Ok(listener) => {
                    let mode = if gid.is_some() { 0o660 } else { 0o600 };
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
                    if let Some(gid) = gid {
                        std::os::unix::fs::chown(&path, None, Some(gid))?;
                    }
                    return Ok(Listener::Unix { listener, path });
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < 100 => attempt += 1,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot listen on {}: {e}", path.display()),
                    ));
                }
            }
        }
    }

    /// The first free port of `min..=max` on 127.0.0.1 (0..0: any).
    pub(crate) async fn tcp((min, max): (u16, u16)) -> io::Result<Listener> {
        for port in min..=max {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
                return Ok(Listener::Tcp(listener));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("no free TCP port on 127.0.0.1 between {min} and {max}"),
        ))
    }

    /// The network, as the handshake line names it.
    pub(crate) fn network(&self) -> &'static str {
        match self {
            Listener::Unix { .. } => "unix",
            Listener::Tcp(_) => "tcp",
        }
    }

    /// The address, as the handshake line gives it.
    pub(crate) fn address(&self) -> io::Result<String> {
        match self {
            Listener::Unix { path, .. } => Ok(path.display().to_string()),
            Listener::Tcp(listener) => Ok(listener.local_addr()?.to_string()),
        }
    }

    /// The accepted connections, until `stop` turns true; with `tls`, only
    /// those that complete its handshake (each in its own task, so a slow
    /// client holds up nobody).
    pub(crate) fn incoming(
        self,
        tls: Option<TlsAcceptor>,
        mut stop: watch::Receiver<bool>,
    ) -> ReceiverStream<io::Result<Conn>> {
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                let stream: Accepted = tokio::select! {
                    () = stopped(&mut stop) => break,
                    accepted = self.accept() => match accepted {
                        Ok(stream) => stream,
                        Err(e) => {
                            tracing::warn!(error = %e, "accepting a plugin client connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let sender = sender.clone();
                match &tls {
                    None => {
                        // A client sends HTTP/2's preface at once: one that
                        // stays silent is closed, not held for good.
                        tokio::spawn(async move {
                            match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, stream.readable()).await
                            {
                                Ok(Ok(())) => {
                                    let stream = Box::new(AuthorityFix::new(stream.into_io()));
                                    let _ = sender.send(Ok(Conn(stream))).await;
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "plugin client connection failed")
                                }
                                Err(_) => tracing::warn!(
                                    "plugin client refused: it sent nothing within 10 s"
                                ),
                            }
                        });
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let stream = stream.into_io();
                        tokio::spawn(async move {
                            let handshake =
                                tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(stream))
                                    .await;
                            match handshake {
                                Ok(Ok(tls)) => {
                                    let tls = Box::new(AuthorityFix::new(tls));
                                    let _ = sender.send(Ok(Conn(tls))).await;
                                }
                                Ok(Err(e)) => {
                                    tracing::warn!(error = %e, "plugin client refused: TLS handshake failed")
                                }
                                Err(_) => {
                                    tracing::warn!(
                                        "plugin client refused: no TLS handshake within 10 s"
                                    )
                                }
                            }
                        });
                    }
                }
            }
            drop(self);
        });
        ReceiverStream::new(receiver)
    }

    async fn accept(&self) -> io::Result<Accepted> {
        Ok(match self {
            Listener::Unix { listener, .. } => Accepted::Unix(listener.accept().await?.0),
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Accepted::Tcp(stream)
            }
        })
    }
}

/// An accepted connection, before it is served.
enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

impl Accepted {
    /// Wait until the client has sent something (or closed): a byte to
    /// peek at, not only readiness (which may be spurious).
    async fn readable(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        use tokio::io::Interest;
        let peek = |fd: i32| {
            let mut byte = 0u8;
            // SAFETY: recv(2) into a one-byte buffer we own, not consuming.
            let n = unsafe {
                libc::recv(
                    fd,
                    (&raw mut byte).cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        loop {
            let peeked = match self {
                Accepted::Unix(stream) => {
                    stream.readable().await?;
                    stream.try_io(Interest::READABLE, || peek(stream.as_raw_fd()))
                }
                Accepted::Tcp(stream) => {
                    stream.readable().await?;
                    stream.try_io(Interest::READABLE, || peek(stream.as_raw_fd()))
                }
            };
            match peeked {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    fn into_io(self) -> Box<dyn Io> {
        match self {
            Accepted::Unix(stream) => Box::new(stream),
            Accepted::Tcp(stream) => Box::new(stream),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn unique_suffix(attempt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}{:09}{attempt}", std::process::id(), nanos)
}

/// A group name or number.
fn group_id(group: &str) -> io::Result<u32> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    let name = std::ffi::CString::new(group)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group name with a NUL byte"))?;
    // SAFETY: getgrnam reads a NUL-terminated name; the gid is copied out
    // before anything else can call it (start-up, one thread).
    let entry = unsafe { libc::getgrnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("PLUGIN_UNIX_SOCKET_GROUP: no group {group:?}"),
        ));
    }
    // SAFETY: non-null: a valid group entry.
    Ok(unsafe { (*entry).gr_gid })
}

/// What a connection is: a socket, or TLS over one.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// An accepted connection, as tonic serves it.
pub(crate) struct Conn(Box<dyn Io>);

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_unix_socket_is_private_and_removed_with_the_listener() {
        let dir = tempfile::tempdir().unwrap();
        let listener = Listener::unix(dir.path(), None).unwrap();
        let address = listener.address().unwrap();
        assert_eq!(listener.network(), "unix");
        let name = Path::new(&address).file_name().unwrap().to_string_lossy();
        assert!(name.starts_with("plugin"), "{name}");
        let mode = std::fs::metadata(&address).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(listener);
        assert!(!Path::new(&address).exists());
    }

    #[tokio::test]
    async fn tcp_takes_a_port_in_the_range_and_says_when_none_is_free() {
        let first = Listener::tcp((0, 0)).await.unwrap();
        let taken: u16 = first
            .address()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(first.network(), "tcp");
        let err = Listener::tcp((taken, taken)).await.err().unwrap();
        assert!(
            err.to_string()
                .contains(&format!("between {taken} and {taken}")),
            "{err}"
        );
    }
}
