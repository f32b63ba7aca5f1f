//! The gRPC adapter: each RPC counts itself, takes the authority's lock,
//! calls the state machine with the present time, and answers. No protocol
//! decision is made here; a refusal of the machine ([`Refusal`]) becomes a
//! gRPC status here and nowhere else ([`node_kit::edge::status`]).

use std::sync::Arc;

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use counterpart_protocol::catalog::{self, MessageKind};
use counterpart_protocol::Refusal;
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::tls::Callers;
use node_kit::trace::{self, key, CaseTraces};
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::{
    Ack, AssignmentAcknowledgement, AssistanceRequest, AssistanceRequestAck, CapacityReport,
    ClusterStatus, DemobilisationRequest, Dispute, Ledger, LedgerQuery, MessageHeader,
    PairingTable, PairingsQuery, RegisterNode, Registration, ReportQuery, Role, RunReport,
    StatusQuery, SupervisoryReport, WatchQuery,
};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Span;

use crate::access::{self, Claim};
use crate::authority::{Authority, Now};
use crate::report;
use crate::watch::{UpdateStream, Watchers};

#[derive(Debug, Clone)]
pub struct CentralService {
    authority: Arc<Durable<Authority>>,
    counters: Arc<MessageCounters>,
    traces: Arc<CaseTraces>,
    /// With TLS, every RPC checks its caller against [`access`].
    callers: Callers,
    watchers: Watchers,
}

/// What a protocol message claims about its sender, for [`access`].
trait Claimed {
    fn claim(&self) -> Claim<'_>;
}

macro_rules! claimed_by_header {
    ($($message:ty),*) => {$(
        impl Claimed for $message {
            fn claim(&self) -> Claim<'_> {
                Claim { sender_id: sender(&self.header), registers_as: None }
            }
        }
    )*};
}

claimed_by_header!(
    Dispute,
    CapacityReport,
    AssistanceRequest,
    AssignmentAcknowledgement,
    SupervisoryReport,
    DemobilisationRequest
);

impl Claimed for RegisterNode {
    fn claim(&self) -> Claim<'_> {
        Claim {
            sender_id: sender(&self.header),
            registers_as: access::registered_role(self.role),
        }
    }
}

impl CentralService {
    pub fn new(
        authority: Arc<Durable<Authority>>,
        counters: Arc<MessageCounters>,
        traces: Arc<CaseTraces>,
    ) -> Self {
        let watchers = Watchers::new(
            authority.clone(),
            counters.clone(),
            traces.clone(),
            CancellationToken::new(),
        );
        CentralService {
            authority,
            counters,
            traces,
            callers: Callers::Unchecked,
            watchers,
        }
    }

    /// The same service, ending its `WatchOperation` streams when `shutdown`
    /// trips (an open stream would otherwise hold the server's graceful
    /// shutdown).
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.watchers = Watchers::new(
            self.authority.clone(),
            self.counters.clone(),
            self.traces.clone(),
            shutdown,
        );
        self
    }

    /// The same service, checking every caller when `callers` says so.
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.callers = callers;
        self
    }

    /// Whether the caller of `request` may send it as a `kind` claiming
    /// `claim`; always when callers are unchecked (plain TCP).
    fn allow<T>(
        &self,
        kind: &MessageKind,
        request: &Request<T>,
        claim: Claim<'_>,
    ) -> Result<(), Status> {
        match self.callers.of(request)? {
            Some(caller) => access::check(&caller, kind, claim),
            None => Ok(()),
        }
    }

    /// Whether the caller of `request` may ask the query `rpc`.
    fn allow_query<T>(&self, rpc: &str, request: &Request<T>) -> Result<(), Status> {
        match self.callers.of(request)? {
            Some(caller) => access::check_query(&caller, rpc),
            None => Ok(()),
        }
    }

    /// An operator query, once its caller is allowed.
    fn operator_query<T, R>(
        &self,
        rpc: &str,
        request: Request<T>,
        answer: impl FnOnce(&Authority, &T, Now) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        self.allow_query(rpc, &request)?;
        self.query(request, answer)
    }

    /// [`Self::handle_now`], then, for a change, waits until it is saved:
    /// nobody is told of a change a crash could still undo.
    async fn handle<T: Claimed, R>(
        &self,
        kind: &'static MessageKind,
        request: Request<T>,
        apply: impl FnOnce(&mut Authority, &T, Now) -> Result<R, Refusal> + Send,
    ) -> Result<Response<R>, Status> {
        let answer = self.handle_now(kind, request, apply);
        if answer.is_ok() {
            self.authority.flushed().await;
        }
        answer
    }

    /// Opens the RPC's span as a child of the caller's, counts the message,
    /// then runs `apply` (inside the span: it may annotate
    /// `Span::current()`) on the authority at the present time. A refusal
    /// marks the span as an error. The lock is never held across an await;
    /// a change is saved when it is released, before the answer goes out.
    fn handle_now<T: Claimed, R>(
        &self,
        kind: &'static MessageKind,
        request: Request<T>,
        apply: impl FnOnce(&mut Authority, &T, Now) -> Result<R, Refusal>,
    ) -> Result<Response<R>, Status> {
        let span = trace::server_span(kind.server_span, kind.stage, request.metadata());
        let _entered = span.enter();
        // A refused caller's message is not one of the run's: not counted.
        if let Err(status) = self.allow(kind, &request, request.get_ref().claim()) {
            trace::fail(&span, status.message());
            return Err(status);
        }
        self.counters.count(kind.message);
        let message = request.into_inner();
        let result = {
            let mut authority = self.authority.lock();
            let now = now_for(&authority);
            apply(&mut authority, &message, now).map_err(node_kit::edge::status)
        };
        if let Err(status) = &result {
            trace::fail(&span, status.message());
        }
        result.map(Response::new)
    }

    /// Runs `answer` on the authority as it is, without counting: operator
    /// queries are not protocol messages, and the run report counts only
    /// those.
    fn query<T, R>(
        &self,
        request: Request<T>,
        answer: impl FnOnce(&Authority, &T, Now) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        let message = request.into_inner();
        // A published copy: a long answer (the run report) never holds the
        // lock every handler needs.
        let authority = self.authority.published();
        let now = now_for(&authority);
        answer(&authority, &message, now).map(Response::new)
    }
}

/// Annotates the current span with the case and the node that sent a
/// message about it, under the key of the node's role.
fn annotate_case(authority: &Authority, case_id: &str, sender: &str) {
    let span = Span::current();
    trace::annotate(&span, key::CASE_ID, case_id);
    let role_key = match authority.role_of(sender) {
        Some(Role::Province) => key::PROVINCE,
        _ => key::CITY,
    };
    trace::annotate(&span, role_key, sender);
}

fn sender(header: &Option<MessageHeader>) -> &str {
    header.as_ref().map_or("", |h| h.sender_id.as_str())
}

/// The present time for `authority`: scenario time 0 until the clock starts
/// (and before its epoch).
pub fn now_for(authority: &Authority) -> Now {
    let unix_ms = unix_now_ms();
    let scenario = authority
        .clock()
        .map(|c| c.scenario_at(unix_ms).max(ScenarioTime(0)))
        .unwrap_or_default();
    Now { scenario, unix_ms }
}

#[tonic::async_trait]
impl CentralAuthority for CentralService {
    async fn register(
        &self,
        request: Request<RegisterNode>,
    ) -> Result<Response<Registration>, Status> {
        self.handle(&catalog::REGISTER, request, |a, m, now| a.register(m, now))
            .await
    }

    async fn report_capacity(
        &self,
        request: Request<CapacityReport>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::CAPACITY_REPORT, request, |a, m, now| {
            trace::annotate(&Span::current(), key::PROVINCE, sender(&m.header));
            a.report_capacity(m, now)
        })
        .await
    }

    async fn request_assistance(
        &self,
        request: Request<AssistanceRequest>,
    ) -> Result<Response<AssistanceRequestAck>, Status> {
        let traces = self.traces.clone();
        self.handle(&catalog::ASSISTANCE_REQUEST, request, move |a, m, now| {
            let ack = a.request_assistance(m, now)?;
            let span = Span::current();
            annotate_case(a, &ack.case_id, sender(&m.header));
            trace::quantities(&span, &m.needs);
            // The case's trace: every later step of the case joins it.
            traces.remember(&ack.case_id, &span);
            if a.is_rejected(&ack.case_id) {
                trace::fail(&span, "request rejected: within local capacity");
            }
            Ok(ack)
        })
        .await
    }

    async fn acknowledge_assignment(
        &self,
        request: Request<AssignmentAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::ACKNOWLEDGEMENT, request, |a, m, now| {
            trace::annotate(&Span::current(), key::ASSIGNMENT_ID, &m.assignment_id);
            if let Some(case_id) = a.case_id_of_assignment(&m.assignment_id) {
                annotate_case(a, &case_id, sender(&m.header));
            }
            a.acknowledge_assignment(m, now)
        })
        .await
    }

    async fn submit_report(
        &self,
        request: Request<SupervisoryReport>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::SUPERVISORY_REPORT, request, |a, m, now| {
            annotate_case(a, &m.case_id, sender(&m.header));
            a.submit_report(m, now)
        })
        .await
    }

    async fn raise_dispute(&self, request: Request<Dispute>) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::DISPUTE, request, |a, m, now| {
            annotate_case(a, &m.case_id, sender(&m.header));
            trace::annotate(&Span::current(), key::DISPUTE_ID, &m.dispute_id);
            a.raise_dispute(m, now)
        })
        .await
    }

    async fn request_demobilisation(
        &self,
        request: Request<DemobilisationRequest>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::DEMOBILISATION_REQUEST, request, |a, m, now| {
            annotate_case(a, &m.case_id, sender(&m.header));
            a.request_demobilisation(m, now)
        })
        .await
    }

    async fn get_status(
        &self,
        request: Request<StatusQuery>,
    ) -> Result<Response<ClusterStatus>, Status> {
        self.operator_query("GetStatus", request, |a, _, now| Ok(a.status(now)))
    }

    async fn list_pairings(
        &self,
        request: Request<PairingsQuery>,
    ) -> Result<Response<PairingTable>, Status> {
        self.operator_query("ListPairings", request, |a, _, _| Ok(a.pairings()))
    }

    async fn get_ledger(&self, request: Request<LedgerQuery>) -> Result<Response<Ledger>, Status> {
        self.operator_query("GetLedger", request, |a, _, _| Ok(a.ledger_reply()))
    }

    async fn get_report(
        &self,
        request: Request<ReportQuery>,
    ) -> Result<Response<RunReport>, Status> {
        let counters = self.counters.clone();
        self.operator_query("GetReport", request, move |a, _, now| {
            let messages = a.message_totals(&counters.snapshot());
            let run = report::build(a, now.scenario, messages);
            let json = serde_json::to_string(&run)
                .map_err(|e| Status::internal(format!("report: {e}")))?;
            Ok(RunReport { json })
        })
    }

    type WatchOperationStream = UpdateStream;

    async fn watch_operation(
        &self,
        request: Request<WatchQuery>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        self.allow_query("WatchOperation", &request)?;
        self.watchers.open(request.get_ref()).map(Response::new)
    }
}
