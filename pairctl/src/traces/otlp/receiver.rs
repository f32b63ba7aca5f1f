//! An in-memory OTLP/gRPC trace receiver: the collector the integration
//! tests point every node's exporter at, so they can check the traces of a
//! run without a Jaeger or a collector process.
//!
//! It keeps at most [`MAX_SPANS`] spans; past that it drops what arrives
//! and says so in the export's partial success (and in
//! [`Receiver::dropped_spans`]), so a runaway exporter cannot eat the
//! test's memory.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

use super::spans_from_request;
use crate::traces::model::Span;

/// The most spans a receiver keeps.
pub const MAX_SPANS: usize = 1_000_000;
/// The largest export request accepted: a batch exporter sends 512 spans
/// at a time, far below this.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;
/// How often [`Receiver::wait_quiet`] looks at the last export time.
const QUIET_POLL: Duration = Duration::from_millis(20);

/// What the receiver has collected so far.
#[derive(Debug)]
struct SpanStore {
    spans: Vec<Span>,
    capacity: usize,
    dropped: u64,
    last_export: Instant,
}

impl SpanStore {
    /// Keeps what fits; returns how many were dropped.
    fn keep(&mut self, spans: Vec<Span>) -> usize {
        self.last_export = Instant::now();
        let room = self.capacity - self.spans.len();
        let dropped = spans.len().saturating_sub(room);
        self.spans.extend(spans.into_iter().take(room));
        self.dropped += dropped as u64;
        assert!(self.spans.len() <= self.capacity, "the store is bounded");
        dropped
    }
}

type SharedStore = Arc<Mutex<SpanStore>>;

/// A panic elsewhere cannot leave the store half-written (every change is
/// one `extend`), so a poisoned lock is still safe to read.
fn lock(store: &SharedStore) -> MutexGuard<'_, SpanStore> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The gRPC handler: converts, stores, reports partial success.
struct TraceCollector {
    store: SharedStore,
}

#[tonic::async_trait]
impl TraceService for TraceCollector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let conversion = spans_from_request(request.get_ref());
        let dropped = lock(&self.store).keep(conversion.spans);
        let rejected_spans = (conversion.rejected.len() + dropped) as i64;
        let mut problems = conversion.rejected;
        if dropped > 0 {
            problems.push(format!("{dropped} span(s) dropped: the receiver is full"));
        }
        let partial_success = (!problems.is_empty()).then(|| ExportTracePartialSuccess {
            rejected_spans,
            error_message: problems.join("; "),
        });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }
}

/// A running OTLP/gRPC trace receiver. Dropping it stops the server too.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    store: SharedStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl Receiver {
    /// Listens on `addr` (e.g. `127.0.0.1:0` for any free port).
    pub async fn start(addr: &str) -> Result<Receiver, String> {
        Self::start_with_capacity(addr, MAX_SPANS).await
    }

    /// Listens on `addr`, keeping at most `capacity` spans.
    pub async fn start_with_capacity(addr: &str, capacity: usize) -> Result<Receiver, String> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("OTLP receiver cannot listen on {addr}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("OTLP receiver has no local address: {e}"))?;
        let store: SharedStore = Arc::new(Mutex::new(SpanStore {
            spans: Vec::new(),
            capacity,
            dropped: 0,
            last_export: Instant::now(),
        }));
        let service = TraceServiceServer::new(TraceCollector {
            store: store.clone(),
        })
        .max_decoding_message_size(MAX_REQUEST_BYTES);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(node_kit::server::incoming(listener), async {
                    // A dropped sender stops the server as well.
                    let _ = stopped.await;
                }),
        );
        Ok(Receiver {
            addr,
            store,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give an OTLP exporter, e.g. `http://127.0.0.1:4317`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<Span> {
        lock(&self.store).spans.clone()
    }

    /// Spans dropped because the receiver was full.
    pub fn dropped_spans(&self) -> u64 {
        lock(&self.store).dropped
    }

    /// Waits until no export has arrived for `quiet` (the exporters have
    /// flushed), or `timeout` has passed; returns the spans either way.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> Vec<Span> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && lock(&self.store).last_export.elapsed() < quiet {
            tokio::time::sleep(QUIET_POLL).await;
        }
        self.spans()
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            // The spans are kept in memory: how the server ended does not
            // change them, and a test that stops it has read them already.
            let _ = server.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::otlp::tests::city_export;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

    async fn client(receiver: &Receiver) -> TraceServiceClient<tonic::transport::Channel> {
        TraceServiceClient::connect(receiver.endpoint())
            .await
            .expect("the receiver listens")
    }

    #[tokio::test]
    async fn an_exported_request_is_read_back() {
        let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
        assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
        let response = client(&receiver).await.export(city_export()).await.unwrap();
        assert_eq!(response.into_inner().partial_success, None);
        let spans = receiver
            .wait_quiet(Duration::from_millis(50), Duration::from_secs(5))
            .await;
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["city.request", "city.report"]);
        assert!(spans.iter().all(|s| s.service == "city-huangshi"));
        receiver.stop().await;
    }

    #[tokio::test]
    async fn a_full_receiver_drops_and_says_so() {
        let receiver = Receiver::start_with_capacity("127.0.0.1:0", 1)
            .await
            .unwrap();
        let response = client(&receiver).await.export(city_export()).await.unwrap();
        let partial = response.into_inner().partial_success.expect("partial");
        assert_eq!(partial.rejected_spans, 1);
        assert!(
            partial.error_message.contains("full"),
            "{}",
            partial.error_message
        );
        assert_eq!(receiver.spans().len(), 1);
        assert_eq!(receiver.dropped_spans(), 1);
    }

    #[tokio::test]
    async fn an_unreadable_span_is_rejected_and_the_rest_kept() {
        let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
        let mut export = city_export();
        export.resource_spans[0].scope_spans[0].spans[0].span_id = vec![7; 3];
        let response = client(&receiver).await.export(export).await.unwrap();
        let partial = response.into_inner().partial_success.expect("partial");
        assert_eq!(partial.rejected_spans, 1);
        assert!(
            partial.error_message.contains("spans[0].span_id"),
            "{}",
            partial.error_message
        );
        assert_eq!(receiver.spans().len(), 1);
    }

    #[tokio::test]
    async fn a_stopped_receiver_refuses_connections() {
        let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
        let endpoint = receiver.endpoint();
        receiver.stop().await;
        assert!(TraceServiceClient::connect(endpoint).await.is_err());
    }

    #[tokio::test]
    async fn a_taken_port_is_an_error() {
        let first = Receiver::start("127.0.0.1:0").await.unwrap();
        let err = Receiver::start(&first.local_addr().to_string())
            .await
            .unwrap_err();
        assert!(err.contains("cannot listen"), "{err}");
    }
}
