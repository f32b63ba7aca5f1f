//! An in-memory network for many nodes in one process: listeners and
//! connections are pairs of in-memory pipes (`tokio::io::duplex`), not
//! sockets, so they hold no file descriptors.
//!
//! Why: a node on loopback TCP in one process holds about ten open files
//! (its listener, both ends of its connection to central and of the
//! lockstep clock's connection from central, its peers'; 1,932 measured
//! for 200 nodes), and the open-file limit of the benchmark machine
//! (20,000, not raisable there) stops one process near 2,000 nodes. The scale
//! benchmark's 10,000 nodes run here instead (`scale in-process --net
//! memory`). Everything above the pipe is what a deployment runs: HTTP/2,
//! protobuf, the services, the drivers, on real time; only the kernel's TCP
//! is gone.
//!
//! The network is process-wide and off until [`enable`] is called; once on,
//! every [`super::listen`] and every [`crate::client::Dialer`] channel of
//! the process uses it (a process is all in memory or all on sockets).
//! Addresses are handed out as `127.x.y.1:port`, unique in the process, so
//! the nodes' endpoints read as usual.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Uri;

use super::Listener as NetListener;

/// Bytes one direction of a connection buffers before its writer waits:
/// an HTTP/2 frame of the default size with room to spare.
pub const PIPE_BYTES: usize = 64 * 1024;
/// Connections dialled and not yet accepted, per listener: a bounded
/// backlog, as a kernel's listen queue is. A dial beyond it waits.
pub const BACKLOG: usize = 128;
/// Addresses the network hands out, at most: a limit on the registry.
pub const MAX_ADDRESSES: u32 = 16 * 1024 * 1024;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the in-memory network on for the rest of the process's life.
/// Call it before any node starts.
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Whether this process's nodes talk over the in-memory network.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[derive(Default)]
struct Network {
    listening: Mutex<HashMap<SocketAddr, mpsc::Sender<Pipe>>>,
    /// The last address handed out, as a number (see [`address`]).
    last: AtomicU32,
}

fn network() -> &'static Network {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK.get_or_init(Network::default)
}

impl Network {
    fn listening(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, mpsc::Sender<Pipe>>> {
        self.listening.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh address, never handed out before in this process.
    fn fresh(&self) -> io::Result<SocketAddr> {
        let n = self.last.fetch_add(1, Ordering::Relaxed) + 1;
        if n > MAX_ADDRESSES {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("the in-memory network has handed out {MAX_ADDRESSES} addresses"),
            ));
        }
        Ok(address(n))
    }
}

/// Address number `n`: `127.a.b.1`, port `1024 + n % 64,000`, where `a.b`
/// counts the blocks of 64,000.
fn address(n: u32) -> SocketAddr {
    let block = n / 64_000;
    let port = 1024 + (n % 64_000) as u16;
    let ip = Ipv4Addr::new(127, (block >> 8) as u8, block as u8, 1);
    SocketAddr::from((ip, port))
}

/// A listener on the in-memory network. Dropping it (or the stream
/// [`incoming`] made of it) takes its address off the network: later dials
/// are refused, as a closed port's are.
pub struct Listener {
    registration: Registration,
    accepted: mpsc::Receiver<Pipe>,
}

/// An address on the network, held while something listens there.
struct Registration(SocketAddr);

impl Drop for Registration {
    fn drop(&mut self) {
        network().listening().remove(&self.0);
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "in-memory listener on {}", self.registration.0)
    }
}

/// Binds a fresh address on the in-memory network. `addr` is what the node
/// was told to listen on; only a port of 0 is honoured (a fixed port would
/// collide between the nodes of one process).
pub(crate) fn listen(addr: &str) -> io::Result<(NetListener, SocketAddr)> {
    if !addr.ends_with(":0") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot listen on {addr} in memory: give port 0, the network picks the address"
            ),
        ));
    }
    let net = network();
    let local = net.fresh()?;
    let (sender, accepted) = mpsc::channel(BACKLOG);
    net.listening().insert(local, sender);
    let listener = Listener {
        registration: Registration(local),
        accepted,
    };
    Ok((NetListener::Memory(listener), local))
}

/// The connections `listener` accepts, for `serve_with_incoming`.
pub(crate) fn incoming(
    listener: Listener,
) -> impl Stream<Item = io::Result<Pipe>> + Send + 'static {
    // The registration rides along in the stream, so the address stays on
    // the network exactly as long as the server serves.
    let Listener {
        registration,
        accepted,
    } = listener;
    ReceiverStream::new(accepted).map(move |connection| {
        let _listening = &registration;
        Ok(connection)
    })
}

/// One end of an in-memory connection.
pub type Pipe = super::Connection<DuplexStream>;

/// Dials the address in `uri` on the in-memory network: refused when
/// nothing listens there, as on TCP.
pub(crate) async fn connect(uri: Uri) -> io::Result<TokioIo<Pipe>> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{uri}: {why}"));
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let ip: Ipv4Addr = host
        .parse()
        .map_err(|_| invalid("the in-memory network knows IPv4 addresses only"))?;
    let port = uri.port_u16().ok_or_else(|| invalid("no port"))?;
    let remote = SocketAddr::from((ip, port));
    let listener = network().listening().get(&remote).cloned();
    let listener = listener.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("nothing listens on {remote} in memory"),
        )
    })?;
    let local = network().fresh()?;
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let accepted = Pipe::new(theirs, Some(remote), Some(local));
    listener.send(accepted).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("{remote} stopped listening"),
        )
    })?;
    Ok(TokioIo::new(Pipe::new(ours, Some(local), Some(remote))))
}

#[cfg(test)]
mod tests {
    //! These drive the network's functions directly: [`enable`] is for the
    //! whole process, and the other tests of this binary listen on TCP.
    use super::*;
    use tonic::transport::Endpoint;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    #[test]
    fn addresses_are_unique_and_read_as_loopback() {
        assert_ne!(address(1), address(64_001), "a new block has a new address");
        assert_eq!(address(1).to_string(), "127.0.0.1:1025");
        assert_eq!(address(64_001).to_string(), "127.0.1.1:1025");
        let (a, b) = (network().fresh().unwrap(), network().fresh().unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn only_port_zero_can_be_listened_on() {
        let err = listen("127.0.0.1:50051").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("127.0.0.1:50051"), "{err}");
    }

    #[tokio::test]
    async fn a_grpc_call_crosses_the_pipes_and_a_closed_address_refuses() {
        let (listener, local) = listen("127.0.0.1:0").unwrap();
        let (router, health) = crate::server::router();
        health.set_serving::<tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>>().await;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let serving = tokio::spawn(crate::server::serve(router, listener, shutdown.clone()));

        let uri = format!("http://{local}");
        let channel = Endpoint::from_shared(uri.clone())
            .unwrap()
            .connect_with_connector_lazy(tower::service_fn(connect));
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("the health check answers over the pipes")
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving);

        shutdown.cancel();
        serving.await.unwrap().unwrap();
        let refused = connect(uri.parse().unwrap()).await.err().expect("refused");
        assert_eq!(
            refused.kind(),
            io::ErrorKind::ConnectionRefused,
            "{refused}"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_refused_and_names_the_address() {
        let err = connect("http://127.200.0.1:9".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains("127.200.0.1:9"), "{err}");
        let err = connect("http://central:9".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
}
