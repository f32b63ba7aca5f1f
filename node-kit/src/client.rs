//! Outgoing calls: every remote call has a deadline.
//!
//! Channels connect lazily with a connect timeout, so a node can be built
//! before its peers are up; each request carries a `grpc-timeout` that the
//! client enforces too.

use std::time::Duration;

use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::tls::NodeTls;

/// Deadline of every unary call between nodes.
pub const CALL_DEADLINE: Duration = Duration::from_secs(3);
/// How long establishing a TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Every channel pings its connection this often, busy or idle...
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
/// ...and drops it when a ping is not answered within this, so the next
/// call dials afresh. Without it a connection whose peer vanished (a
/// partition that swallowed its packets, a host that died without a
/// reset) takes every later call on it to its deadline, for as long as the
/// operating system keeps the socket: calls fail, are resent on the same
/// dead connection, and fail again. The simulator found it: its partitions
/// lose a connection's bytes for good.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(2);

/// A lazily connecting plain-TCP channel to `endpoint` (e.g.
/// "http://127.0.0.1:5000").
pub fn channel(endpoint: &str) -> Result<Channel, Status> {
    Dialer::default().channel(endpoint)
}

/// How a node's outgoing calls connect: plain TCP (the default), or TLS
/// presenting the node's own certificate.
#[derive(Debug, Clone, Default)]
pub struct Dialer {
    tls: Option<ClientTlsConfig>,
}

impl Dialer {
    /// A dialer for `tls`, or a plain one when `None`.
    pub fn new(tls: Option<&NodeTls>) -> Self {
        Dialer {
            tls: tls.map(NodeTls::client_config),
        }
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS configuration, for a caller that builds its own endpoint.
    pub fn tls_config(&self) -> Option<&ClientTlsConfig> {
        self.tls.as_ref()
    }

    /// The endpoint as dialled: with TLS an `http://` endpoint (a default,
    /// an address learnt from a plain peer) becomes `https://`, so a node
    /// that has a certificate never sends anything in clear.
    pub fn endpoint_url(&self, endpoint: &str) -> String {
        match (&self.tls, endpoint.strip_prefix("http://")) {
            (Some(_), Some(rest)) => format!("https://{rest}"),
            _ => endpoint.to_string(),
        }
    }

    /// A lazily connecting channel to `endpoint`, its calls cut at
    /// [`CALL_DEADLINE`].
    pub fn channel(&self, endpoint: &str) -> Result<Channel, Status> {
        self.channel_with_deadline(endpoint, CALL_DEADLINE)
    }

    /// [`Dialer::channel`] with another deadline per call (a lockstep
    /// grant waits for the node's whole step).
    pub fn channel_with_deadline(
        &self,
        endpoint: &str,
        deadline: Duration,
    ) -> Result<Channel, Status> {
        let url = self.endpoint_url(endpoint);
        let mut ep = Endpoint::from_shared(url).map_err(|e| {
            Status::invalid_argument(format!("endpoint {endpoint:?} is not a valid URI: {e}"))
        })?;
        if let Some(tls) = &self.tls {
            ep = ep.tls_config(tls.clone()).map_err(|e| {
                Status::invalid_argument(format!("endpoint {endpoint:?}: TLS: {e}"))
            })?;
        }
        let ep = ep
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(deadline)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        #[cfg(feature = "sim")]
        if crate::net::in_simulation() {
            let connector = tower::service_fn(crate::net::simulated::connect);
            return Ok(ep.connect_with_connector_lazy(connector));
        }
        if crate::net::memory::enabled() {
            let connector = tower::service_fn(crate::net::memory::connect);
            return Ok(ep.connect_with_connector_lazy(connector));
        }
        Ok(ep.connect_lazy())
    }
}

/// The gRPC metadata entry naming the node that sends a request, e.g.
/// `pairing-sender: jiangsu`. Servers use it only to inject faults per link
/// (`faults`); what a message means is decided by its header.
pub const SENDER_METADATA: &str = "pairing-sender";

/// Wraps `message` in a request carrying the standard deadline. For calls
/// that no node makes (operator queries); nodes use [`request_from`].
pub fn request<T>(message: T) -> Request<T> {
    request_with_deadline(message, CALL_DEADLINE)
}

/// A request from node `sender`: the standard deadline, the trace context
/// and the [`SENDER_METADATA`] entry.
pub fn request_from<T>(sender: &str, message: T) -> Request<T> {
    request_from_with_deadline(sender, message, CALL_DEADLINE)
}

/// [`request_from`] with another deadline (e.g. a stream's).
pub fn request_from_with_deadline<T>(sender: &str, message: T, deadline: Duration) -> Request<T> {
    let mut request = request_with_deadline(message, deadline);
    // Node ids are ASCII names from the scenario; one that is not a valid
    // metadata value is left out rather than failing the call.
    if let Ok(value) = sender.parse() {
        request.metadata_mut().insert(SENDER_METADATA, value);
    }
    request
}

/// Wraps `message` in a request carrying `deadline` and the current span's
/// trace context (W3C `traceparent`), so the receiver's span is its child.
pub fn request_with_deadline<T>(message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    crate::trace::inject(&tracing::Span::current(), request.metadata_mut());
    request
}
