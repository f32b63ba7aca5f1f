//! Server bootstrap: bind, announce, serve with the standard extras.
//!
//! Every node serves, beside its own service, the gRPC health protocol
//! (tonic-health; container health checks probe it) and reflection
//! (tonic-reflection; `grpcurl` can explore a node without the .proto files).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::Router;
use tonic::transport::Server;
use tonic_health::server::HealthReporter;

use crate::tls::NodeTls;

/// Streams a client may reset before the server accepts them, per
/// connection, before the connection is closed (h2's default is 20).
pub const MAX_PENDING_RESET_STREAMS: usize = 1_024;

/// Largest encoded message a node accepts or sends, in bytes. The largest
/// legitimate message is a donor's cumulative `SupervisoryReport` at the end
/// of a long case: a shipment every two scenario days for a few months, so
/// some tens of records of a few lines each, tens of kilobytes. 4 MiB (the
/// gRPC default, named here so every server states it) leaves a wide
/// margin; anything bigger is refused by the decoder (OUT_OF_RANGE) before
/// a handler sees it.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Largest answer to an operator's query (central's status, ledger and run
/// report) a node sends and `pairctl` takes, in bytes. The run report lists
/// every event of every case: about 9 KB a case, so 4.4 MB at 500 cases
/// (which [`MAX_MESSAGE_BYTES`] refused: `pairctl up --report` failed
/// from about 480 cities on) and about 90 MB at 10,000. Protocol messages
/// keep the small limit on the way in; only answers may be this big.
pub const MAX_QUERY_REPLY_BYTES: usize = 256 * 1024 * 1024;

/// The line a node prints on stdout once it listens, so a launcher that
/// asked for port 0 learns the real address: `LISTENING 127.0.0.1:50123`.
pub const ANNOUNCE_PREFIX: &str = "LISTENING ";

/// Binds `addr` (port 0 picks a free port) and returns the listener and the
/// address actually bound.
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// The connections `listener` accepts, each with TCP_NODELAY set. Tonic's
/// `Server::tcp_nodelay` applies only to listeners tonic binds itself, not
/// to a stream of accepted sockets handed to `serve_with_incoming`: without
/// this, a small answer written behind another waited for the peer's
/// delayed ACK, and calls with others in flight took 40 ms at p99 (the hot
/// paths at 32 in flight, the setup's registrations).
pub fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// What [`serve`] returns: the server, running until shut down.
pub type Serving = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
>;

/// Serves `router` on `listener` until `shutdown` is cancelled: on the
/// host's TCP, in memory, or on the simulated network (`crate::net`).
pub fn serve(
    router: Router,
    listener: crate::net::Listener,
    shutdown: tokio_util::sync::CancellationToken,
) -> Serving {
    use crate::net::Listener;
    let stopped = shutdown.cancelled_owned();
    match listener {
        Listener::Host(listener) => {
            Box::pin(router.serve_with_incoming_shutdown(incoming(listener), stopped))
        }
        Listener::Memory(listener) => Box::pin(
            router.serve_with_incoming_shutdown(crate::net::memory::incoming(listener), stopped),
        ),
        #[cfg(feature = "sim")]
        Listener::Simulated(listener) => Box::pin(
            router.serve_with_incoming_shutdown(crate::net::simulated::incoming(listener), stopped),
        ),
    }
}

/// Prints the announce line on stdout.
pub fn announce(addr: SocketAddr) {
    println!("{ANNOUNCE_PREFIX}{addr}");
}

/// A server builder with the health and reflection services already added.
/// The caller adds its own service, marks it serving on the returned
/// reporter, and serves.
pub fn router() -> (Router, HealthReporter) {
    router_with_tls(None).expect("a server without TLS has nothing to misconfigure")
}

/// [`router`], serving over TLS with client certificates required when
/// `tls` is given. Fails if the certificate or key cannot be used.
pub fn router_with_tls(tls: Option<&NodeTls>) -> Result<(Router, HealthReporter), String> {
    let mut server = Server::builder();
    if let Some(tls) = tls {
        server = server
            .tls_config(tls.server_config())
            .map_err(|e| format!("TLS: {}: {e}", tls.identity()))?;
    }
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pairing_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the compiled descriptor set is valid");
    let router = server
        // A stuck peer must not hold a connection forever.
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        // Clients reset streams whose deadline passed. When a node falls
        // behind (a starved machine), h2's default of 20 such resets closes
        // the whole connection, failing every call on it and feeding a retry
        // storm; a higher bound keeps the protection against reset floods.
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_RESET_STREAMS))
        .add_service(health)
        .add_service(reflection);
    Ok((router, reporter))
}

/// A node started in-process: where it listens, how to stop it, and the
/// task that ends when it has stopped. The binaries and the integration
/// tests start nodes the same way.
#[derive(Debug)]
pub struct RunningNode {
    pub addr: SocketAddr,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub task: tokio::task::JoinHandle<Result<(), String>>,
}

impl RunningNode {
    /// The endpoint peers use to reach this node.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Trips the shutdown token and waits for the node to stop.
    pub async fn stop(self) -> Result<(), String> {
        self.shutdown.cancel();
        self.task
            .await
            .map_err(|e| format!("node task failed: {e}"))?
    }
}

/// How long a node may take to stop once told, before its binary gives up
/// on it (a launcher waits a little longer before it kills).
pub const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// What every node binary does once its node has started: print the
/// announce line, run until Ctrl-C / SIGTERM or the node's own failure,
/// stop it (bounded by [`STOP_TIMEOUT`]), and turn the outcome into the exit
/// code, with one line on stderr naming `program` when it failed.
pub async fn run_until_signalled(program: &str, node: RunningNode) -> std::process::ExitCode {
    announce(node.addr);
    let signals = crate::shutdown::on_signals();
    let RunningNode {
        shutdown, mut task, ..
    } = node;
    let ended = tokio::select! {
        _ = signals.cancelled() => {
            shutdown.cancel();
            tokio::time::timeout(STOP_TIMEOUT, &mut task)
                .await
                .unwrap_or_else(|_| Ok(Err(format!("did not stop within {STOP_TIMEOUT:?}"))))
        }
        ended = &mut task => ended,
    };
    let failure = match ended {
        Ok(Ok(())) => return std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => e,
        Err(join) => format!("node task failed: {join}"),
    };
    eprintln!("{program}: {failure}");
    std::process::ExitCode::FAILURE
}
