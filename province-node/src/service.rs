//! The `DonorProvince` gRPC service: a thin adapter that counts each
//! message, hands it to the [`Donor`] machine with the scenario time, and
//! returns the machine's answer. The lock is never held across an await.

use std::sync::{Arc, Mutex, MutexGuard};

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use node_kit::counters::MessageCounters;
use pairing_proto::v1::donor_province_server::DonorProvince;
use pairing_proto::v1::{
    Ack, Adjustment, Assignment, ClockStart, DemobilisationOrder, Evaluation, NeedsUpdate,
    PlanProposal, Receipt,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::donor::Donor;

/// Plan proposals waiting to be written to one negotiation stream. The city
/// sends one update per report interval, so a few suffice; a city that
/// stops reading stalls only its own stream.
pub const PROPOSAL_QUEUE: usize = 4;

/// The donor machine shared by the service and the driver, and the
/// messages received so far.
#[derive(Debug)]
pub struct SharedDonor {
    donor: Mutex<Donor>,
    pub counters: MessageCounters,
}

impl SharedDonor {
    pub fn new(donor: Donor) -> Self {
        SharedDonor {
            donor: Mutex::new(donor),
            counters: MessageCounters::default(),
        }
    }

    /// The machine, locked. A handler that panicked cannot have left it
    /// half-changed (handlers check before they change), so a poisoned lock
    /// is taken over rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, Donor> {
        self.donor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Scenario time now by the donor's clock (zero before the clock started;
/// the machine refuses what needs the clock then).
pub fn scenario_now(donor: &Donor) -> ScenarioTime {
    donor
        .clock()
        .map(|c| c.scenario_at(unix_now_ms()))
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct ProvinceService {
    shared: Arc<SharedDonor>,
    /// Ends open negotiation streams, which would otherwise hold up the
    /// server's graceful shutdown for as long as a city keeps them open.
    shutdown: CancellationToken,
}

impl ProvinceService {
    pub fn new(shared: Arc<SharedDonor>, shutdown: CancellationToken) -> Self {
        ProvinceService { shared, shutdown }
    }

    /// Counts `kind`, applies `message` to the machine, logs a refusal.
    fn apply<M>(
        &self,
        kind: &'static str,
        request: Request<M>,
        handler: impl FnOnce(&mut Donor, &M, ScenarioTime) -> Result<Ack, Status>,
    ) -> Result<Response<Ack>, Status> {
        self.shared.counters.count(kind);
        let message = request.into_inner();
        let outcome = {
            let mut donor = self.shared.lock();
            let now = scenario_now(&donor);
            handler(&mut donor, &message, now)
        };
        if let Err(status) = &outcome {
            tracing::warn!(kind, code = ?status.code(), message = status.message(), "refused");
        }
        outcome.map(Response::new)
    }
}

#[tonic::async_trait]
impl DonorProvince for ProvinceService {
    async fn start_clock(&self, request: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        self.apply("ClockStart", request, |d, m, _| d.on_clock_start(m))
    }

    async fn assign(&self, request: Request<Assignment>) -> Result<Response<Ack>, Status> {
        self.apply("Assignment", request, Donor::on_assignment)
    }

    async fn evaluate(&self, request: Request<Evaluation>) -> Result<Response<Ack>, Status> {
        self.apply("Evaluation", request, Donor::on_evaluation)
    }

    async fn adjust(&self, request: Request<Adjustment>) -> Result<Response<Ack>, Status> {
        self.apply("Adjustment", request, Donor::on_adjustment)
    }

    async fn demobilise(
        &self,
        request: Request<DemobilisationOrder>,
    ) -> Result<Response<Ack>, Status> {
        self.apply("DemobilisationOrder", request, Donor::on_demobilisation)
    }

    async fn confirm_receipt(&self, request: Request<Receipt>) -> Result<Response<Ack>, Status> {
        self.apply("Receipt", request, Donor::on_receipt)
    }

    type NegotiatePlanStream = ReceiverStream<Result<PlanProposal, Status>>;

    /// Answers each needs update with a plan proposal; a refused update
    /// ends the stream with its status.
    async fn negotiate_plan(
        &self,
        request: Request<Streaming<NeedsUpdate>>,
    ) -> Result<Response<Self::NegotiatePlanStream>, Status> {
        let mut updates = request.into_inner();
        let (proposals, rx) = mpsc::channel(PROPOSAL_QUEUE);
        let (shared, shutdown) = (self.shared.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = proposals.closed() => break,
                    next = updates.message() => next,
                };
                let update = match next {
                    Ok(Some(update)) => update,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::debug!(code = ?status.code(), "negotiation stream ended");
                        break;
                    }
                };
                shared.counters.count("NeedsUpdate");
                let answer = {
                    let mut donor = shared.lock();
                    let now = scenario_now(&donor);
                    donor.on_needs_update(&update, now)
                };
                let refused = answer.is_err();
                if let Err(status) = &answer {
                    tracing::warn!(code = ?status.code(), message = status.message(), "needs update refused");
                }
                if proposals.send(answer).await.is_err() || refused {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
