//! The gRPC adapter: each protocol message goes through node-kit's one
//! adapter ([`Adapter::handle`]: span, caller check, count, the authority
//! under its lock at the present time, refusal to status, flush before the
//! answer). No protocol decision is made here; a refusal of the machine
//! becomes a gRPC status in node-kit and nowhere else.
//!
//! What stays here is central's own: its caller check reads a message's
//! claim (a registration claims the role it registers as, which no
//! province or city rule covers), and its operator queries read a published
//! copy of the authority rather than the locked machine.

use std::sync::Arc;

use counterpart_protocol::catalog::{self, MessageKind};
use counterpart_protocol::Refusal;
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::service::{Adapter, Concurrency, Machine};
use node_kit::tls::Callers;
use node_kit::trace::{self, key, CaseTraces};
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::{
    Ack, AssignmentAcknowledgement, AssistanceRequest, AssistanceRequestAck, CapacityReport,
    ClusterStatus, DemobilisationRequest, Dispute, Ledger, LedgerQuery, MessageHeader,
    PairingTable, PairingsQuery, RegisterNode, Registration, ReportQuery, Role, RunReport,
    StatusQuery, SupervisoryReport, WatchQuery,
};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Span;

use crate::access::{self, Claim};
use crate::authority::{Authority, Now, ReportRecords};
use crate::report;
use crate::watch::{UpdateStream, Watchers};

#[derive(Debug, Clone)]
pub struct CentralService {
    /// The authority, the counters and, with TLS, the check of every
    /// caller against [`access`].
    adapter: Adapter<Authority>,
    traces: Arc<CaseTraces>,
    watchers: Watchers,
    /// Run reports being built at once, at most [`MAX_REPORT_BUILDS`].
    report_builds: Arc<Semaphore>,
}

/// Run reports built at once: each holds a copy of its JSON (about 90 MB
/// at ten thousand cases) and most of a core for a second or two.
pub const MAX_REPORT_BUILDS: usize = 2;

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
            adapter: Adapter::new(authority, counters),
            traces,
            watchers,
            report_builds: Arc::new(Semaphore::new(MAX_REPORT_BUILDS)),
        }
    }

    /// The same service, ending its `WatchOperation` streams when `shutdown`
    /// trips (an open stream would otherwise hold the server's graceful
    /// shutdown).
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.watchers = Watchers::new(
            self.adapter.machine().clone(),
            self.adapter.counters().clone(),
            self.traces.clone(),
            shutdown,
        );
        self
    }

    /// The same service, checking every caller when `callers` says so.
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.adapter = self.adapter.with_callers(callers);
        self
    }

    /// The same service, its handlers reaching the authority as
    /// `concurrency` says (a sequencer starts on the current runtime).
    pub fn with_concurrency(mut self, concurrency: Concurrency) -> Self {
        self.adapter = self.adapter.with_concurrency(concurrency);
        self
    }

    /// Whether the caller of `request` may ask the query `rpc`.
    fn allow_query<T>(&self, rpc: &str, request: &Request<T>) -> Result<(), Status> {
        match self.adapter.callers().of(request)? {
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

    /// The adapter's [`Adapter::handle`], with central's caller check: the
    /// caller may send a `kind` claiming what the message claims (always
    /// when callers are unchecked, on plain TCP). `apply` runs inside the
    /// message's span and may annotate it.
    async fn handle<T: Claimed + Send + 'static, R: Send + 'static>(
        &self,
        kind: &'static MessageKind,
        request: Request<T>,
        apply: impl FnOnce(&mut Authority, &T, Now, &Span) -> Result<R, Refusal> + Send + 'static,
    ) -> Result<Response<R>, Status> {
        let check = |caller: &_, message: &T| access::check(caller, kind, message.claim());
        self.adapter.handle(kind, request, check, apply).await
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
        // A published copy: an answer never holds the lock every handler
        // needs. (The run report, which takes seconds at ten thousand
        // cases, does not come through here: `get_report` builds it off
        // the async workers.)
        let authority = self.adapter.machine().published();
        let now = authority.now();
        answer(&authority, &message, now).map(Response::new)
    }
}

/// Annotates `span` with the case and the node that sent a message about
/// it, under the key of the node's role.
fn annotate_case(span: &Span, authority: &Authority, case_id: &str, sender: &str) {
    if span.is_disabled() {
        return; // no exporter: nothing to look up
    }
    trace::annotate(span, key::CASE_ID, case_id);
    let role_key = match authority.role_of(sender) {
        Some(Role::Province) => key::PROVINCE,
        _ => key::CITY,
    };
    trace::annotate(span, role_key, sender);
}

fn sender(header: &Option<MessageHeader>) -> &str {
    header.as_ref().map_or("", |h| h.sender_id.as_str())
}

#[tonic::async_trait]
impl CentralAuthority for CentralService {
    async fn register(
        &self,
        request: Request<RegisterNode>,
    ) -> Result<Response<Registration>, Status> {
        self.handle(&catalog::REGISTER, request, |a, m, now, _| {
            a.register(m, now)
        })
        .await
    }

    async fn report_capacity(
        &self,
        request: Request<CapacityReport>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::CAPACITY_REPORT, request, |a, m, now, span| {
            trace::annotate(span, key::PROVINCE, sender(&m.header));
            a.report_capacity(m, now)
        })
        .await
    }

    async fn request_assistance(
        &self,
        request: Request<AssistanceRequest>,
    ) -> Result<Response<AssistanceRequestAck>, Status> {
        let traces = self.traces.clone();
        self.handle(
            &catalog::ASSISTANCE_REQUEST,
            request,
            move |a, m, now, span| {
                let ack = a.request_assistance(m, now)?;
                annotate_case(span, a, &ack.case_id, sender(&m.header));
                trace::quantities(span, &m.needs);
                // The case's trace: every later step of the case joins it.
                traces.remember(&ack.case_id, span);
                if a.is_rejected(&ack.case_id) {
                    trace::fail(span, "request rejected: within local capacity");
                }
                Ok(ack)
            },
        )
        .await
    }

    async fn acknowledge_assignment(
        &self,
        request: Request<AssignmentAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::ACKNOWLEDGEMENT, request, |a, m, now, span| {
            trace::annotate(span, key::ASSIGNMENT_ID, &m.assignment_id);
            if let Some(case_id) = a.case_id_of_assignment(&m.assignment_id) {
                annotate_case(span, a, &case_id, sender(&m.header));
            }
            a.acknowledge_assignment(m, now)
        })
        .await
    }

    async fn submit_report(
        &self,
        request: Request<SupervisoryReport>,
    ) -> Result<Response<Ack>, Status> {
        // Checked and converted before the lock, which is held only for
        // what needs central's state.
        let records = ReportRecords::of(request.get_ref());
        self.handle(&catalog::SUPERVISORY_REPORT, request, |a, m, now, span| {
            annotate_case(span, a, &m.case_id, sender(&m.header));
            a.submit_checked_report(m, records, now)
        })
        .await
    }

    async fn raise_dispute(&self, request: Request<Dispute>) -> Result<Response<Ack>, Status> {
        self.handle(&catalog::DISPUTE, request, |a, m, now, span| {
            annotate_case(span, a, &m.case_id, sender(&m.header));
            trace::annotate(span, key::DISPUTE_ID, &m.dispute_id);
            a.raise_dispute(m, now)
        })
        .await
    }

    async fn request_demobilisation(
        &self,
        request: Request<DemobilisationRequest>,
    ) -> Result<Response<Ack>, Status> {
        self.handle(
            &catalog::DEMOBILISATION_REQUEST,
            request,
            |a, m, now, span| {
                annotate_case(span, a, &m.case_id, sender(&m.header));
                a.request_demobilisation(m, now)
            },
        )
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
        self.allow_query("GetReport", &request)?;
        let permit = self.report_builds.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "GetReport: {MAX_REPORT_BUILDS} reports are being built already; ask again when one is done"
            ))
        })?;
        let counters = self.adapter.counters().clone();
        let authority = self.adapter.machine().published();
        // Off the async workers: at ten thousand cases the report takes
        // seconds to build, and a worker busy with it stalls every handler
        // queued behind it.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = authority.now();
            let messages = authority.message_totals(&counters.snapshot());
            let run = report::build(&authority, now.scenario, messages);
            let json = serde_json::to_string(&run)
                .map_err(|e| Status::internal(format!("report: {e}")))?;
            Ok(Response::new(RunReport { json }))
        })
        .await
        .map_err(|e| Status::internal(format!("report: the build failed: {e}")))?
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

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
