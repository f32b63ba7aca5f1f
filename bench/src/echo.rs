//! The baseline: a bare tonic unary echo on the same transport settings as
//! the nodes (TCP_NODELAY, HTTP/2), with no validation, state or tracing.

use std::net::SocketAddr;
use std::sync::Arc;

use node_kit::tls::NodeTls;
use prost::Message;
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

/// What the echo's client sends as its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EchoBody {
    /// The protocol message central's client sends, built and encoded
    /// afresh for each call as central's client does: both clients then do
    /// the same work on the cores they share with the servers.
    Message,
    /// One buffer of as many bytes, copied for each call (the hot-path
    /// benchmark before 2026-12-07): the echo's client then does less
    /// work than central's, on the same cores.
    Padding,
}

/// The echo body of call `i`, as the sender `i % senders` sends it.
pub type EchoBodies = Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>;

/// The echo's bodies: `encoded(i)` (central's message of call `i`,
/// encoded), or padding such that the echo request of a reply of
/// `reply_len` bytes is at most `request_bytes` encoded.
pub fn echo_bodies(
    kind: EchoBody,
    request_bytes: usize,
    reply_len: u32,
    encoded: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> EchoBodies {
    if kind == EchoBody::Message {
        return Arc::new(encoded);
    }
    let mut body_len = request_bytes;
    let padding = loop {
        let m = EchoRequest {
            body: vec![b'x'; body_len],
            reply_len,
        };
        if m.encoded_len() <= request_bytes || body_len == 0 {
            break m.body;
        }
        body_len -= 1;
    };
    Arc::new(move |_| padding.clone())
}

/// The body length of an echo reply of `reply_bytes` encoded.
pub fn echo_reply_body(reply_bytes: usize) -> usize {
    // EchoReply { body } costs 1 tag byte and a length varint.
    reply_bytes.saturating_sub(if reply_bytes > 128 { 3 } else { 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_are_each_calls_message() {
        let bodies = echo_bodies(EchoBody::Message, 949, 0, |i| vec![i as u8; 3]);
        assert_eq!(bodies(2), vec![2, 2, 2]);
        assert_eq!(bodies(5), vec![5, 5, 5]);
    }

    #[test]
    fn padding_makes_the_echo_request_as_large_as_centrals_and_no_larger() {
        for request_bytes in [23, 127, 128, 315, 840, 949, 20_000] {
            for reply_len in [0, 21, 200] {
                let bodies = echo_bodies(EchoBody::Padding, request_bytes, reply_len, |_| {
                    unreachable!("padding builds no message")
                });
                let len = EchoRequest {
                    body: bodies(0),
                    reply_len,
                }
                .encoded_len();
                // A length prefix one byte shorter can leave it two short.
                assert!(
                    (request_bytes - 2..=request_bytes).contains(&len),
                    "{len} bytes for {request_bytes} (reply_len {reply_len})"
                );
            }
        }
    }
}
