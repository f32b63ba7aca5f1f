//! Where a node's sockets and wall clock are: the host's, or, when the node
//! runs as a host of a turmoil simulation (`pairctl sim`, feature `sim`),
//! the simulation's.
//!
//! A node does not choose: [`in_simulation`] asks turmoil whether the code
//! runs inside a simulated host, and the three functions that touch the
//! machine ([`listen`], [`crate::client::Dialer`]'s channels, [`unix_now_ms`])
//! answer from the simulation there. So the simulator runs the nodes' own
//! `start` functions, services and drivers, unchanged, over simulated TCP
//! and on simulated time, and every run of a seed is the same run.
//!
//! Without the feature this module is the host's TCP and wall clock, and
//! [`in_simulation`] is always false.
//!
//! A third network, [`memory`], is for many nodes in one process on real
//! time (the scale benchmark): a process that calls [`memory::enable`]
//! listens and dials over in-memory pipes instead of sockets.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Whether this code runs as a host of a turmoil simulation.
pub fn in_simulation() -> bool {
    #[cfg(feature = "sim")]
    {
        turmoil::in_simulation()
    }
    #[cfg(not(feature = "sim"))]
    {
        false
    }
}

/// Milliseconds since the Unix epoch: the wall clock, or the simulation's
/// clock inside a simulation (turmoil does not simulate `SystemTime`).
/// What a node stamps its life with and what a wall-clock run reads.
pub fn unix_now_ms() -> i64 {
    #[cfg(feature = "sim")]
    if let Some(since_epoch) = turmoil::since_epoch() {
        return i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
    }
    counterpart_domain::clock::unix_now_ms()
}

/// A bound listener: on the host's TCP stack, or the simulation's.
pub enum Listener {
    Host(tokio::net::TcpListener),
    Memory(memory::Listener),
    #[cfg(feature = "sim")]
    Simulated(turmoil::net::TcpListener),
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listener::Host(listener) => listener.fmt(f),
            Listener::Memory(listener) => listener.fmt(f),
            #[cfg(feature = "sim")]
            Listener::Simulated(_) => f.write_str("simulated listener"),
        }
    }
}

/// Binds `addr` (port 0 picks a free port) on the host, or in the
/// simulation when this code runs inside one, and returns the listener and
/// the address actually bound.
pub async fn listen(addr: &str) -> std::io::Result<(Listener, SocketAddr)> {
    #[cfg(feature = "sim")]
    if in_simulation() {
        return simulated::listen(addr).await;
    }
    if memory::enabled() {
        return memory::listen(addr);
    }
    let (listener, local) = crate::server::bind(addr).await?;
    Ok((Listener::Host(listener), local))
}

pub mod memory;
#[cfg(feature = "sim")]
pub(crate) mod simulated;

/// One end of a connection on a network other than the host's TCP (the
/// simulation's, or the in-memory one), with the addresses tonic reports
/// as a request's `remote_addr`; reads and writes go to `io`.
pub struct Connection<S> {
    io: S,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
}

impl<S> Connection<S> {
    pub(crate) fn new(io: S, local: Option<SocketAddr>, remote: Option<SocketAddr>) -> Self {
        Connection { io, local, remote }
    }
}

impl<S: Send + 'static> tonic::transport::server::Connected for Connection<S> {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;
    fn connect_info(&self) -> Self::ConnectInfo {
        tonic::transport::server::TcpConnectInfo {
            local_addr: self.local,
            remote_addr: self.remote,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Connection<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Connection<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
