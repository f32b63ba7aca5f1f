//! The simulated network of a turmoil simulation, in the shapes tonic
//! wants: a stream of accepted connections for a server, a connector for a
//! channel. Both carry real HTTP/2 and protobuf bytes; only TCP is
//! simulated.

use std::io;
use std::net::SocketAddr;

use futures_util::stream::{self, Stream};
use hyper_util::rt::TokioIo;
use tonic::transport::Uri;

use super::{Connection, Listener};

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
) -> impl Stream<Item = io::Result<Connection<turmoil::net::TcpStream>>> + Send + 'static {
    stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| {
            let (local, remote) = (stream.local_addr().ok(), stream.peer_addr().ok());
            Connection::new(stream, local, remote)
        });
        Some((accepted, listener))
    })
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
