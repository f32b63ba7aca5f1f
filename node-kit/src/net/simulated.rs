//! The simulated network of a turmoil simulation, in the shapes tonic
//! wants: a stream of accepted connections for a server, a connector for a
//! channel. Both carry real HTTP/2 and protobuf bytes; only TCP is
//! simulated.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, Stream};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::Uri;

use super::Listener;

pub(crate) async fn listen(addr: &str) -> io::Result<(Listener, SocketAddr)> {
    let listener = turmoil::net::TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {addr} in the simulation: {e}"),
        )
    })?;
    let local = listener.local_addr()?;
    Ok((Listener::Simulated(listener), local))
}

/// The connections `listener` accepts, for `serve_with_incoming`.
pub(crate) fn incoming(
    listener: turmoil::net::TcpListener,
) -> impl Stream<Item = io::Result<Connection>> + Send + 'static {
    stream::unfold(listener, |listener| async move {
        let accepted = listener
            .accept()
            .await
            .map(|(stream, _)| Connection(stream));
        Some((accepted, listener))
    })
}

/// One accepted simulated connection, with the addresses tonic reports as
/// the request's `remote_addr`.
pub(crate) struct Connection(turmoil::net::TcpStream);

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: self.0.local_addr().ok(),
            remote_addr: self.0.peer_addr().ok(),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Dials the host and port of `uri` over the simulated network (the host
/// is a simulated host's name, e.g. `http://central:50051`).
pub(crate) async fn connect(uri: Uri) -> io::Result<TokioIo<turmoil::net::TcpStream>> {
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{uri}: no host")))?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = turmoil::net::TcpStream::connect((host.as_str(), port)).await?;
    Ok(TokioIo::new(stream))
}
