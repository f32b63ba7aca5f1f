//! The baseline: a bare tonic unary echo on the same transport settings as
//! the nodes (TCP_NODELAY, HTTP/2), with no validation, state or tracing.

use std::net::SocketAddr;

use node_kit::tls::NodeTls;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod v1 {
    tonic::include_proto!("bench.v1");
}

use v1::echo_server::{Echo, EchoServer};
use v1::{EchoReply, EchoRequest};

/// Replies with `reply_len` bytes, so request and reply sizes can both match
/// the call it stands in for.
#[derive(Debug, Default)]
pub struct EchoService;

/// Largest reply the echo gives, so a bad request cannot make it allocate
/// without bound.
const MAX_REPLY_LEN: u32 = 1 << 20;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let len = request.get_ref().reply_len.min(MAX_REPLY_LEN) as usize;
        Ok(Response::new(EchoReply {
            body: vec![b'e'; len],
        }))
    }
}

/// Serves the echo on a free loopback port until `shutdown` is cancelled,
/// over mutual TLS with `tls`'s certificate when given (as central).
pub async fn start(
    shutdown: CancellationToken,
    tls: Option<&NodeTls>,
) -> std::io::Result<SocketAddr> {
    let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await?;
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls.server_config())
            .map_err(std::io::Error::other)?;
    }
    let server = builder
        .tcp_nodelay(true)
        .add_service(EchoServer::new(EchoService))
        .serve_with_incoming_shutdown(
            node_kit::server::incoming(listener),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(server);
    Ok(addr)
}
