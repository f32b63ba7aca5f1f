//! Outgoing calls: every remote call has a deadline.
//!
//! Channels connect lazily with a connect timeout, so a node can be built
//! before its peers are up; each request carries a `grpc-timeout` that the
//! client enforces too.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// Deadline of every unary call between nodes.
pub const CALL_DEADLINE: Duration = Duration::from_secs(3);
/// How long establishing a TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A lazily connecting channel to `endpoint` (e.g. "http://127.0.0.1:5000").
pub fn channel(endpoint: &str) -> Result<Channel, Status> {
    let ep = Endpoint::from_shared(endpoint.to_string()).map_err(|e| {
        Status::invalid_argument(format!("endpoint {endpoint:?} is not a valid URI: {e}"))
    })?;
    Ok(ep
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_DEADLINE)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Wraps `message` in a request carrying the standard deadline.
pub fn request<T>(message: T) -> Request<T> {
    request_with_deadline(message, CALL_DEADLINE)
}

/// Wraps `message` in a request carrying `deadline` and the current span's
/// trace context (W3C `traceparent`), so the receiver's span is its child.
pub fn request_with_deadline<T>(message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    crate::trace::inject(&tracing::Span::current(), request.metadata_mut());
    request
}
