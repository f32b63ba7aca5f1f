//! Stand-ins for provinces and cities: one server that acknowledges every
//! message central sends (clock start, assignments, decisions...) and does
//! nothing else, so a benchmark of central measures central alone.

use std::net::SocketAddr;

use pairing_proto::v1::donor_province_server::{DonorProvince, DonorProvinceServer};
use pairing_proto::v1::recipient_city_server::{RecipientCity, RecipientCityServer};
use pairing_proto::v1::{
    Ack, Adjustment, Assignment, Books, BooksQuery, CaseClosure, CaseDecision, ClockStart,
    DemobilisationOrder, Evaluation, Mediation, NeedsUpdate, PlanProposal, Receipt, Shipment,
    StepDone, StepGrant,
};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

#[derive(Debug, Default, Clone, Copy)]
pub struct StubNode;

/// A stub has nothing to do in a step: it is done at once.
fn step_done(grant: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
    Ok(Response::new(StepDone {
        step: grant.get_ref().step,
        messages_sent: 0,
    }))
}

fn ack() -> Result<Response<Ack>, Status> {
    Ok(Response::new(Ack { duplicate: false }))
}

#[tonic::async_trait]
impl DonorProvince for StubNode {
    async fn advance(&self, r: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        step_done(r)
    }
    async fn get_books(&self, _: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        Err(Status::unimplemented("a bench stub keeps no books"))
    }
    async fn start_clock(&self, _: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        ack()
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
    async fn confirm_receipt(&self, _: Request<Receipt>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn mediate(&self, _: Request<Mediation>) -> Result<Response<Ack>, Status> {
        ack()
    }

    type NegotiatePlanStream = tokio_stream::Empty<Result<PlanProposal, Status>>;

    async fn negotiate_plan(
        &self,
        _: Request<Streaming<NeedsUpdate>>,
    ) -> Result<Response<Self::NegotiatePlanStream>, Status> {
        Err(Status::unimplemented(
            "the benchmark's stub node negotiates nothing",
        ))
    }
}

#[tonic::async_trait]
impl RecipientCity for StubNode {
    async fn advance(&self, r: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        step_done(r)
    }
    async fn get_books(&self, _: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        Err(Status::unimplemented("a bench stub keeps no books"))
    }
    async fn start_clock(&self, _: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn notify_decision(&self, _: Request<CaseDecision>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn close_case(&self, _: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn deliver_shipment(&self, _: Request<Shipment>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn mediate(&self, _: Request<Mediation>) -> Result<Response<Ack>, Status> {
        ack()
    }
}

/// Serves both stub services on a free loopback port until `shutdown`.
pub async fn start(shutdown: CancellationToken) -> std::io::Result<SocketAddr> {
    let (listener, addr) = node_kit::server::bind("127.0.0.1:0").await?;
    let server = Server::builder()
        .tcp_nodelay(true)
        .add_service(DonorProvinceServer::new(StubNode))
        .add_service(RecipientCityServer::new(StubNode))
        .serve_with_incoming_shutdown(
            node_kit::server::incoming(listener),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(server);
    Ok(addr)
}
