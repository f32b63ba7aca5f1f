//! Fake peers for in-process tests: a central and a donor that record what
//! the city sends them and answer as the protocol says. Like real nodes,
//! they open a `peer.*` span as the child of each call's `traceparent`, so a
//! test that records spans sees the edges from the city's calls.

use counterpart_domain::clock::unix_now_ms;
use node_kit::trace::{server_span, Stage};
use pairing_proto::v1::central_authority_server::{CentralAuthority, CentralAuthorityServer};
use pairing_proto::v1::donor_province_server::{DonorProvince, DonorProvinceServer};
use pairing_proto::v1::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// Wall milliseconds per scenario day in the in-process tests.
pub const TEST_DAY_MS: i64 = 200;

/// What reached the fake central, in arrival order.
#[derive(Debug)]
pub enum AtCentral {
    Registered(RegisterNode),
    Request(AssistanceRequest),
    Report(SupervisoryReport),
    Demobilisation(DemobilisationRequest),
}

/// What reached the fake donor; `stream` numbers the negotiation streams.
#[derive(Debug)]
pub enum AtDonor {
    Receipt(Receipt),
    Needs { stream: usize, update: NeedsUpdate },
}

pub struct FakeCentral {
    events: mpsc::UnboundedSender<AtCentral>,
    /// Scenario time 0 is the moment the fake was made.
    epoch_unix_ms: i64,
}

pub struct FakeDonor {
    events: mpsc::UnboundedSender<AtDonor>,
    streams: std::sync::atomic::AtomicUsize,
}

/// Serves both fakes on one 127.0.0.1:0 listener (central and donor share
/// the endpoint); returns it and the event queues. The server stops when
/// `shutdown` is cancelled.
pub async fn serve_peers(
    shutdown: CancellationToken,
) -> (
    String,
    mpsc::UnboundedReceiver<AtCentral>,
    mpsc::UnboundedReceiver<AtDonor>,
) {
    let (central_tx, central_rx) = mpsc::unbounded_channel();
    let (donor_tx, donor_rx) = mpsc::unbounded_channel();
    let central = FakeCentral {
        events: central_tx,
        epoch_unix_ms: unix_now_ms(),
    };
    let donor = FakeDonor {
        events: donor_tx,
        streams: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .add_service(CentralAuthorityServer::new(central))
        .add_service(DonorProvinceServer::new(donor))
        .serve_with_incoming_shutdown(
            node_kit::server::incoming(listener),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(server);
    (format!("http://{addr}"), central_rx, donor_rx)
}

fn ack() -> Result<Response<Ack>, Status> {
    Ok(Response::new(Ack { duplicate: false }))
}

#[tonic::async_trait]
impl CentralAuthority for FakeCentral {
    async fn register(&self, r: Request<RegisterNode>) -> Result<Response<Registration>, Status> {
        let _ = self.events.send(AtCentral::Registered(r.into_inner()));
        let clock = ScenarioClock {
            epoch_unix_ms: self.epoch_unix_ms,
            day_ms: TEST_DAY_MS,
            start_date: "2020-02-07".into(),
            ..Default::default()
        };
        Ok(Response::new(Registration {
            scenario: "test".into(),
            clock: Some(clock),
            ..Default::default()
        }))
    }
    async fn report_capacity(&self, _: Request<CapacityReport>) -> Result<Response<Ack>, Status> {
        Err(Status::unimplemented("cities report no capacity"))
    }
    async fn request_assistance(
        &self,
        r: Request<AssistanceRequest>,
    ) -> Result<Response<AssistanceRequestAck>, Status> {
        let _span = server_span("peer.request", Stage::Decision, r.metadata());
        let _ = self.events.send(AtCentral::Request(r.into_inner()));
        Ok(Response::new(AssistanceRequestAck {
            case_id: "case-huangshi-1".into(),
            duplicate: false,
        }))
    }
    async fn acknowledge_assignment(
        &self,
        _: Request<AssignmentAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        Err(Status::unimplemented("not a city message"))
    }
    async fn submit_report(&self, r: Request<SupervisoryReport>) -> Result<Response<Ack>, Status> {
        let _span = server_span("peer.report", Stage::Implementation, r.metadata());
        let _ = self.events.send(AtCentral::Report(r.into_inner()));
        ack()
    }
    async fn request_demobilisation(
        &self,
        r: Request<DemobilisationRequest>,
    ) -> Result<Response<Ack>, Status> {
        let _ = self.events.send(AtCentral::Demobilisation(r.into_inner()));
        ack()
    }
    async fn raise_dispute(&self, _: Request<Dispute>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn get_status(&self, _: Request<StatusQuery>) -> Result<Response<ClusterStatus>, Status> {
        Err(Status::unimplemented("operator query"))
    }
    async fn list_pairings(
        &self,
        _: Request<PairingsQuery>,
    ) -> Result<Response<PairingTable>, Status> {
        Err(Status::unimplemented("operator query"))
    }
    async fn get_ledger(&self, _: Request<LedgerQuery>) -> Result<Response<Ledger>, Status> {
        Err(Status::unimplemented("operator query"))
    }
    async fn get_report(&self, _: Request<ReportQuery>) -> Result<Response<RunReport>, Status> {
        Err(Status::unimplemented("operator query"))
    }
    type WatchOperationStream = tokio_stream::Empty<Result<OperationUpdate, Status>>;
    async fn watch_operation(
        &self,
        _: Request<WatchQuery>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        Err(Status::unimplemented("operator query"))
    }
}

#[tonic::async_trait]
impl DonorProvince for FakeDonor {
    type NegotiatePlanStream = ReceiverStream<Result<PlanProposal, Status>>;

    async fn start_clock(&self, _: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn advance(&self, _: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        Err(Status::unimplemented("the fake donor takes no steps"))
    }
    async fn get_books(&self, _: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        Err(Status::unimplemented("the fake donor keeps no books"))
    }
    async fn assign(&self, _: Request<Assignment>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn evaluate(&self, _: Request<Evaluation>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn adjust(&self, _: Request<Adjustment>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn demobilise(&self, _: Request<DemobilisationOrder>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn mediate(&self, _: Request<Mediation>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn confirm_receipt(&self, r: Request<Receipt>) -> Result<Response<Ack>, Status> {
        let _span = server_span("peer.receipt", Stage::Implementation, r.metadata());
        let _ = self.events.send(AtDonor::Receipt(r.into_inner()));
        ack()
    }
    /// Answers every update with a proposal for the same case.
    async fn negotiate_plan(
        &self,
        r: Request<Streaming<NeedsUpdate>>,
    ) -> Result<Response<Self::NegotiatePlanStream>, Status> {
        let _span = server_span("peer.negotiate", Stage::Implementation, r.metadata());
        let stream = self
            .streams
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut updates = r.into_inner();
        let events = self.events.clone();
        let (proposals, out) = mpsc::channel(4);
        tokio::spawn(async move {
            while let Ok(Some(update)) = updates.message().await {
                let proposal = PlanProposal {
                    case_id: update.case_id.clone(),
                    ..Default::default()
                };
                let _ = events.send(AtDonor::Needs { stream, update });
                if proposals.send(Ok(proposal)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(out)))
    }
}
