//! The `DonorProvince` gRPC service, on node-kit's one adapter
//! ([`Adapter::handle`]: the message's span as a child of the caller's, the
//! caller check, the count, the [`Donor`] under its lock at the scenario
//! time, a refusal as the gRPC status of the same code and message, the
//! flush before the answer). The lock is never held across an await, nor a
//! span entered.
//!
//! What stays here is the province's own: what its spans record about a
//! case (see [`crate::spans`]), and the negotiation stream, whose updates
//! each answer in a `province.plan` span of the stream's trace and are
//! checked against the city that opened the stream; each update goes
//! through the adapter's [`Adapter::admit`] and [`Adapter::apply`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard};

use counterpart_domain::clock::ScenarioTime;
use node_kit::counters::MessageCounters;
use node_kit::durable::{Changing, Durable};
use node_kit::lockstep::{self, StepSender};
use node_kit::service::{Adapter, Machine};
use node_kit::tls::Callers;
use node_kit::trace::{self, CaseTraces};
use opentelemetry::trace::TraceId;
use pairing_proto::v1::donor_province_server::DonorProvince;
use pairing_proto::v1::{
    Ack, Adjustment, Assignment, Books, BooksQuery, ClockStart, DemobilisationOrder, Evaluation,
    Mediation, NeedsUpdate, PlanProposal, Receipt, StepDone, StepGrant,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};
use tracing::Span;

use counterpart_protocol::Refusal;

use crate::donor::Donor;
use crate::spans::{self, Inbound};
use node_kit::access::{self, Guarded};

/// Plan proposals waiting to be written to one negotiation stream. The city
/// sends one update per report interval, so a few suffice; a city that
/// stops reading stalls only its own stream.
pub const PROPOSAL_QUEUE: usize = 4;
/// Needs updates one negotiation stream may carry. A city sends one per
/// report interval and reopens its stream at its deadline, so a few dozen
/// is a long stream; past this bound the donor ends it (the city reopens).
pub const MAX_UPDATES_PER_STREAM: usize = 1_024;
/// Negotiation streams open at once: one per city this donor serves, and a
/// scenario has far fewer cities. Each holds a task, so they are bounded.
pub const MAX_OPEN_STREAMS: usize = 64;

/// The donor machine shared by the service and the driver, the messages
/// received so far, and the trace of each case (the service remembers it,
/// the driver's sends join it).
#[derive(Debug)]
pub struct SharedDonor {
    donor: Arc<Durable<Donor>>,
    pub counters: Arc<MessageCounters>,
    pub traces: CaseTraces,
}

impl SharedDonor {
    /// `donor` as `node_kit::durable::open` made it: saved in a data
    /// directory, or in memory only.
    pub fn new(donor: Durable<Donor>) -> Self {
        SharedDonor {
            donor: Arc::new(donor),
            counters: Arc::default(),
            traces: CaseTraces::default(),
        }
    }

    /// The service adapter over this donor and its counters.
    fn adapter(&self) -> Adapter<Donor> {
        Adapter::new(self.donor.clone(), self.counters.clone())
    }

    /// The durable machine itself, for the tick loop.
    pub fn durable(&self) -> &Durable<Donor> {
        &self.donor
    }

    /// The machine, locked, to change: saved (if changed) when the guard
    /// drops, before anyone is told. A handler that panicked cannot have
    /// left it half-changed (handlers check before they change), so a
    /// poisoned lock is taken over rather than propagated.
    pub fn lock(&self) -> Changing<'_, Donor> {
        self.donor.lock()
    }

    /// The machine, locked, to look at.
    pub fn read(&self) -> MutexGuard<'_, Donor> {
        self.donor.read()
    }

    /// Returns once every change made so far is on disk.
    pub async fn flushed(&self) {
        self.donor.flushed().await;
    }

    /// Waits, at most `bound`, until every change so far is on disk.
    pub async fn drain(&self, bound: std::time::Duration) -> bool {
        self.donor.drain(bound).await
    }
}

/// Scenario time now by the donor's clock (zero before the clock started;
/// the machine refuses what needs the clock then): [`Machine::now`].
pub fn scenario_now(donor: &Donor) -> ScenarioTime {
    donor.now()
}

#[derive(Debug, Clone)]
pub struct ProvinceService {
    shared: Arc<SharedDonor>,
    /// The donor's edge; with TLS, every message's caller is checked
    /// against [`access`].
    adapter: Adapter<Donor>,
    /// Negotiation streams open now (at most [`MAX_OPEN_STREAMS`]).
    open_streams: Arc<AtomicUsize>,
    /// Ends open negotiation streams, which would otherwise hold up the
    /// server's graceful shutdown for as long as a city keeps them open.
    shutdown: CancellationToken,
    /// Where the lockstep clock's grants go: the tick loop.
    steps: Option<StepSender>,
}

impl ProvinceService {
    pub fn new(shared: Arc<SharedDonor>, shutdown: CancellationToken) -> Self {
        ProvinceService {
            adapter: shared.adapter(),
            shared,
            open_streams: Arc::new(AtomicUsize::new(0)),
            shutdown,
            steps: None,
        }
    }

    /// The same service, handing the lockstep clock's grants to the tick loop that
    /// holds the other end of `steps`.
    pub fn with_steps(mut self, steps: StepSender) -> Self {
        self.steps = Some(steps);
        self
    }

    /// The same service, checking every caller when `callers` says so.
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.adapter = self.adapter.with_callers(callers);
        self
    }

    /// The adapter's [`Adapter::handle`] with the province's caller rule
    /// ([`access::check`]) and what its spans record: the message's ids and
    /// quantities, the province, the case and its city. An accepted
    /// message about a case makes its span the case's trace context if the
    /// province has none yet; a refused one changes nothing, not even that.
    async fn apply<M: Inbound + Send + 'static>(
        &self,
        request: Request<M>,
        handler: impl FnOnce(&mut Donor, &M, ScenarioTime) -> Result<Ack, Refusal> + Send + 'static,
    ) -> Result<Response<Ack>, Status> {
        let shared = self.shared.clone();
        let apply = move |donor: &mut Donor, message: &M, now, span: &Span| {
            message.annotate(span);
            let outcome = handler(donor, message, now);
            spans::annotate_case(span, donor, message);
            if outcome.is_ok() {
                if let Some(trouble) = message.trouble() {
                    trace::fail(span, &trouble);
                }
                if let Some(case_id) = message.case_id() {
                    shared.traces.remember(case_id, span);
                }
            }
            outcome
        };
        self.adapter
            .handle(M::KIND, request, access::check, apply)
            .await
    }
}

/// What one negotiation stream shares between its updates: the stream's
/// own trace context, from the metadata sent when the city opened it.
struct NegotiationStream {
    shared: Arc<SharedDonor>,
    adapter: Adapter<Donor>,
    metadata: MetadataMap,
    trace_id: Option<TraceId>,
    /// The city that opened the stream, when callers are checked: every
    /// update must be sent as that city.
    caller: Option<node_kit::tls::Identity>,
}

impl NegotiationStream {
    /// Answers one needs update inside its own `province.plan` span.
    fn answer(&self, update: &NeedsUpdate) -> Result<PlanProposal, Status> {
        let span = spans::plan_span(
            &self.shared.traces,
            &self.metadata,
            self.trace_id,
            &update.case_id,
        );
        let _entered = span.enter();
        let kind = NeedsUpdate::KIND;
        let allowed = match &self.caller {
            Some(caller) => access::check(caller, update),
            None => Ok(()),
        };
        self.adapter.admit(kind, &span, allowed)?;
        self.adapter
            .apply(kind, &span, update, |donor, update, now, span| {
                update.annotate(span);
                let answer = donor.on_needs_update(update, now);
                spans::annotate_case(span, donor, update);
                if answer.is_ok() {
                    self.shared.traces.remember(&update.case_id, span);
                }
                answer
            })
    }
}

/// Counts one open negotiation stream until dropped.
struct OpenStream(Arc<AtomicUsize>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tonic::async_trait]
impl DonorProvince for ProvinceService {
    async fn start_clock(&self, request: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        self.apply(request, |d, m, _| d.on_clock_start(m)).await
    }

    async fn advance(&self, request: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        let steps = self.steps.as_ref().ok_or_else(lockstep::no_tick_loop)?;
        let machine = self.adapter.machine();
        lockstep::advance(machine, self.adapter.callers(), steps, request).await
    }

    async fn assign(&self, request: Request<Assignment>) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_assignment).await
    }

    async fn evaluate(&self, request: Request<Evaluation>) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_evaluation).await
    }

    async fn adjust(&self, request: Request<Adjustment>) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_adjustment).await
    }

    async fn demobilise(
        &self,
        request: Request<DemobilisationOrder>,
    ) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_demobilisation).await
    }

    async fn mediate(&self, request: Request<Mediation>) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_mediation).await
    }

    async fn confirm_receipt(&self, request: Request<Receipt>) -> Result<Response<Ack>, Status> {
        self.apply(request, Donor::on_receipt).await
    }

    /// An operator query, not a protocol message: not counted, no change.
    async fn get_books(&self, request: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        if let Some(caller) = self.adapter.callers().of(&request)? {
            access::may_read_books(&caller)?;
        }
        Ok(Response::new(self.shared.read().books()))
    }

    type NegotiatePlanStream = ReceiverStream<Result<PlanProposal, Status>>;

    /// Answers each needs update with a plan proposal; a refused update
    /// ends the stream with its status.
    async fn negotiate_plan(
        &self,
        request: Request<Streaming<NeedsUpdate>>,
    ) -> Result<Response<Self::NegotiatePlanStream>, Status> {
        let caller = self.adapter.callers().of(&request)?;
        if let Some(caller) = &caller {
            access::may_negotiate(caller)?;
        }
        if self.open_streams.fetch_add(1, Ordering::SeqCst) >= MAX_OPEN_STREAMS {
            self.open_streams.fetch_sub(1, Ordering::SeqCst);
            return Err(Status::resource_exhausted(format!(
                "needs updates: {MAX_OPEN_STREAMS} negotiation streams are open, the most this donor keeps"
            )));
        }
        let open = OpenStream(self.open_streams.clone());
        let stream = NegotiationStream {
            caller,
            shared: self.shared.clone(),
            adapter: self.adapter.clone(),
            trace_id: spans::stream_trace(request.metadata()),
            metadata: request.metadata().clone(),
        };
        let mut updates = request.into_inner();
        let (proposals, rx) = mpsc::channel(PROPOSAL_QUEUE);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let _open = open;
            let mut received = 0usize;
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
                received += 1;
                if received > MAX_UPDATES_PER_STREAM {
                    let _ = proposals
                        .send(Err(Status::resource_exhausted(format!(
                            "needs updates: more than {MAX_UPDATES_PER_STREAM} on one stream; open another"
                        ))))
                        .await;
                    break;
                }
                let answer = stream.answer(&update);
                let refused = answer.is_err();
                if !refused {
                    stream.shared.flushed().await;
                }
                if proposals.send(answer).await.is_err() || refused {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
