//! The `RecipientCity` gRPC service: a thin adapter that counts each
//! message, hands it to the [`Recipient`] machine under its lock and returns
//! the machine's answer. The lock is never held across an `.await`.
//!
//! Each handler runs in its own span (`city.decision`, `city.shipment`,
//! `city.closure`, `city.clock`), child of the caller's; a message about a
//! case that the machine takes makes that span the case's context, if the
//! city knows none yet (see [`crate::spans`]).

use std::sync::Arc;

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use counterpart_protocol::catalog::{self, MessageKind};
use node_kit::counters::MessageCounters;
use node_kit::durable::{Changing, Durable};
use node_kit::edge;
use node_kit::tls::Callers;
use node_kit::trace;
use pairing_proto::v1::recipient_city_server::RecipientCity;
use pairing_proto::v1::{
    Ack, Books, BooksQuery, CaseClosure, CaseDecision, ClockStart, Mediation, Shipment,
};
use tonic::{Request, Response, Status};
use tracing::Span;

use crate::recipient::Recipient;
use crate::spans::{self, CityTraces};
use node_kit::access::{self, Guarded};

/// The city's state, shared by the service, the driver and the courier's
/// callbacks; saved after every change when the city has a data directory.
pub type SharedRecipient = Arc<Durable<Recipient>>;

#[derive(Debug, Clone)]
pub struct CityService {
    machine: SharedRecipient,
    counters: Arc<MessageCounters>,
    traces: Arc<CityTraces>,
    /// With TLS, every message's caller is checked against [`access`].
    callers: Callers,
}

impl CityService {
    pub fn new(
        machine: SharedRecipient,
        counters: Arc<MessageCounters>,
        traces: Arc<CityTraces>,
    ) -> Self {
        CityService {
            machine,
            counters,
            traces,
            callers: Callers::Unchecked,
        }
    }

    /// The same service, checking every caller when `callers` says so.
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.callers = callers;
        self
    }

    /// Takes in a message of `kind` as the catalog says: checks its
    /// caller (always allowed when callers are unchecked, on plain TCP),
    /// counts it and opens its span. A refused message is not counted.
    fn receive<M: Guarded>(
        &self,
        kind: &'static MessageKind,
        request: &Request<M>,
    ) -> Result<Span, Status> {
        let sender_id = request
            .get_ref()
            .header()
            .map_or("", |h| h.sender_id.as_str());
        let allowed = match self.callers.of(request)? {
            Some(caller) => access::check_kind(&caller, kind, sender_id),
            None => Ok(()),
        };
        if let Err(status) = allowed {
            tracing::warn!(rpc = kind.rpc, message = status.message(), "caller refused");
            return Err(status);
        }
        self.counters.count(kind.message);
        Ok(self
            .traces
            .server_span(kind.server_span, kind.stage, request.metadata()))
    }

    /// The machine, to change: saved (if changed) when the guard drops,
    /// before the handler answers.
    fn machine(&self) -> Result<Changing<'_, Recipient>, Status> {
        Ok(self.machine.lock())
    }

    /// Ends a handler's work: a refusal marks the span, a message the
    /// machine took about `case_id` may make the span the case's context.
    async fn answer(
        &self,
        span: &Span,
        case_id: &str,
        outcome: Result<Ack, Status>,
    ) -> Result<Response<Ack>, Status> {
        if outcome.is_ok() {
            // Nobody is told of a change a crash could still undo.
            self.machine.flushed().await;
        }
        match &outcome {
            Ok(_) => self.traces.remember(case_id, span),
            Err(status) => trace::fail(span, status.message()),
        }
        outcome.map(Response::new)
    }
}

/// Scenario time now by the machine's clock, for stamping what arrives. A
/// message that arrives before time 0 (or before the clock starts, when the
/// machine refuses it anyway) is stamped at 0: no record is dated before the
/// scenario.
pub fn scenario_now(machine: &Recipient) -> ScenarioTime {
    machine
        .clock()
        .map(|clock| ScenarioTime(clock.scenario_at(unix_now_ms()).0.max(0)))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl RecipientCity for CityService {
    async fn start_clock(&self, request: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        let span = self.receive(&catalog::CITY_CLOCK_START, &request)?;
        let start = request.into_inner();
        let outcome =
            span.in_scope(|| (self.machine()?.on_clock_start(&start)).map_err(edge::status));
        // The clock is about no case: nothing to remember.
        self.answer(&span, "", outcome).await
    }

    async fn notify_decision(
        &self,
        request: Request<CaseDecision>,
    ) -> Result<Response<Ack>, Status> {
        let span = self.receive(&catalog::CASE_DECISION, &request)?;
        let decision = request.into_inner();
        spans::annotate_decision(&span, &decision);
        let outcome = span.in_scope(|| {
            let mut machine = self.machine()?;
            let now = scenario_now(&machine);
            machine.on_decision(&decision, now).map_err(edge::status)
        });
        if let (Ok(_), Some(why)) = (&outcome, spans::rejection(&decision)) {
            trace::fail(&span, &why);
        }
        self.answer(&span, &decision.case_id, outcome).await
    }

    async fn close_case(&self, request: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        let span = self.receive(&catalog::CASE_CLOSURE, &request)?;
        let closure = request.into_inner();
        spans::annotate_case(&span, &closure.case_id);
        let outcome = span.in_scope(|| self.machine()?.on_closure(&closure).map_err(edge::status));
        self.answer(&span, &closure.case_id, outcome).await
    }

    async fn deliver_shipment(&self, request: Request<Shipment>) -> Result<Response<Ack>, Status> {
        let span = self.receive(&catalog::SHIPMENT, &request)?;
        let shipment = request.into_inner();
        spans::annotate_shipment(&span, &shipment);
        let outcome = span.in_scope(|| {
            let mut machine = self.machine()?;
            let now = scenario_now(&machine);
            let ack = machine.on_shipment(&shipment, now).map_err(edge::status)?;
            let discrepancy = machine
                .receipt_of(&shipment.shipment_id)
                .and_then(|r| spans::discrepancy(&r.discrepancies));
            Ok((ack, discrepancy))
        });
        let outcome = outcome.map(|(ack, discrepancy)| {
            if let Some(discrepancy) = discrepancy {
                trace::fail(&span, &discrepancy);
            }
            ack
        });
        self.answer(&span, &shipment.case_id, outcome).await
    }

    async fn mediate(&self, request: Request<Mediation>) -> Result<Response<Ack>, Status> {
        let span = self.receive(&catalog::CITY_MEDIATION, &request)?;
        let ruling = request.into_inner();
        spans::annotate_case(&span, &ruling.case_id);
        trace::annotate(&span, trace::key::DISPUTE_ID, &ruling.dispute_id);
        trace::annotate(&span, trace::key::RULING, ruling.ruling().as_str_name());
        let outcome = span.in_scope(|| self.machine()?.on_mediation(&ruling).map_err(edge::status));
        self.answer(&span, &ruling.case_id, outcome).await
    }

    /// An operator query, not a protocol message: not counted, no change.
    async fn get_books(&self, request: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        if let Some(caller) = self.callers.of(&request)? {
            access::may_read_books(&caller)?;
        }
        Ok(Response::new(self.machine.read().books()))
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "service_trace_tests.rs"]
mod trace_tests;

#[cfg(test)]
#[path = "service_malformed_tests.rs"]
mod malformed_tests;
