//! The gRPC adapter: each RPC counts itself, takes the authority's lock,
//! calls the state machine with the present time, and answers. No protocol
//! decision is made here.

use std::sync::{Arc, Mutex};

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use node_kit::counters::MessageCounters;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::{
    Ack, AssignmentAcknowledgement, AssistanceRequest, AssistanceRequestAck, CapacityReport,
    ClusterStatus, DemobilisationRequest, Ledger, LedgerQuery, PairingTable, PairingsQuery,
    RegisterNode, Registration, ReportQuery, RunReport, StatusQuery, SupervisoryReport,
};
use tonic::{Request, Response, Status};

use crate::authority::{Authority, Now};
use crate::report;

#[derive(Debug, Clone)]
pub struct CentralService {
    authority: Arc<Mutex<Authority>>,
    counters: Arc<MessageCounters>,
}

impl CentralService {
    pub fn new(authority: Arc<Mutex<Authority>>, counters: Arc<MessageCounters>) -> Self {
        CentralService {
            authority,
            counters,
        }
    }

    /// Counts the protocol message, then runs `apply` on the authority at the
    /// present time. The lock is never held across an await.
    fn handle<T, R>(
        &self,
        kind: &str,
        request: Request<T>,
        apply: impl FnOnce(&mut Authority, &T, Now) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        self.counters.count(kind);
        self.query(request, apply)
    }

    /// Runs `apply` without counting: operator queries are not protocol
    /// messages, and the run report counts only those.
    fn query<T, R>(
        &self,
        request: Request<T>,
        apply: impl FnOnce(&mut Authority, &T, Now) -> Result<R, Status>,
    ) -> Result<Response<R>, Status> {
        let message = request.into_inner();
        let mut authority = self
            .authority
            .lock()
            .map_err(|_| Status::internal("central state lock poisoned"))?;
        let now = now_for(&authority);
        apply(&mut authority, &message, now).map(Response::new)
    }
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
        self.handle("RegisterNode", request, |a, m, now| a.register(m, now))
    }

    async fn report_capacity(
        &self,
        request: Request<CapacityReport>,
    ) -> Result<Response<Ack>, Status> {
        self.handle("CapacityReport", request, |a, m, now| {
            a.report_capacity(m, now)
        })
    }

    async fn request_assistance(
        &self,
        request: Request<AssistanceRequest>,
    ) -> Result<Response<AssistanceRequestAck>, Status> {
        self.handle("AssistanceRequest", request, |a, m, now| {
            a.request_assistance(m, now)
        })
    }

    async fn acknowledge_assignment(
        &self,
        request: Request<AssignmentAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        self.handle("AssignmentAcknowledgement", request, |a, m, now| {
            a.acknowledge_assignment(m, now)
        })
    }

    async fn submit_report(
        &self,
        request: Request<SupervisoryReport>,
    ) -> Result<Response<Ack>, Status> {
        self.handle("SupervisoryReport", request, |a, m, now| {
            a.submit_report(m, now)
        })
    }

    async fn request_demobilisation(
        &self,
        request: Request<DemobilisationRequest>,
    ) -> Result<Response<Ack>, Status> {
        self.handle("DemobilisationRequest", request, |a, m, now| {
            a.request_demobilisation(m, now)
        })
    }

    async fn get_status(
        &self,
        request: Request<StatusQuery>,
    ) -> Result<Response<ClusterStatus>, Status> {
        self.query(request, |a, _, now| Ok(a.status(now)))
    }

    async fn list_pairings(
        &self,
        request: Request<PairingsQuery>,
    ) -> Result<Response<PairingTable>, Status> {
        self.query(request, |a, _, _| Ok(a.pairings()))
    }

    async fn get_ledger(&self, request: Request<LedgerQuery>) -> Result<Response<Ledger>, Status> {
        self.query(request, |a, _, _| Ok(a.ledger_reply()))
    }

    async fn get_report(
        &self,
        request: Request<ReportQuery>,
    ) -> Result<Response<RunReport>, Status> {
        let counters = self.counters.clone();
        self.query(request, move |a, _, now| {
            let messages = a.message_totals(&counters.snapshot());
            let run = report::build(a, now.scenario, messages);
            let json = serde_json::to_string(&run)
                .map_err(|e| Status::internal(format!("report: {e}")))?;
            Ok(RunReport { json })
        })
    }
}
