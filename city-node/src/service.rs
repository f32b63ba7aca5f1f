//! The `RecipientCity` gRPC service, on node-kit's one adapter
//! ([`Adapter::handle`]): each message's caller is checked, the message
//! counted, handed to the [`Recipient`] machine under its lock at the
//! scenario time, a refusal answered as its status, and an accepted change
//! saved before the answer. The lock is never held across an `.await`.
//!
//! Each handler runs in its own span (`city.decision`, `city.shipment`,
//! `city.closure`, `city.clock`, `city.mediation`), child of the caller's
//! and naming the city; a message about a case that the machine takes
//! makes that span the case's context, if the city knows none yet (see
//! [`crate::spans`]). What the city's spans record (a decision's donors
//! and rejection, a shipment's lines and discrepancy) stays here and in
//! [`crate::spans`]: no other role receives those messages.

use std::sync::Arc;

use counterpart_domain::clock::ScenarioTime;
use counterpart_protocol::catalog::{self, MessageKind};
use counterpart_protocol::Refusal;
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::lockstep::{self, StepSender};
use node_kit::service::Adapter;
use node_kit::tls::{Callers, Identity};
use node_kit::trace::{self, key};
use pairing_proto::v1::recipient_city_server::RecipientCity;
use pairing_proto::v1::{
    Ack, Books, BooksQuery, CaseClosure, CaseDecision, ClockStart, Mediation, Shipment, StepDone,
    StepGrant,
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
    /// The machine's edge; with TLS, every message's caller is checked
    /// against [`access`].
    adapter: Adapter<Recipient>,
    traces: Arc<CityTraces>,
    /// Where the lockstep clock's grants go: the tick loop.
    steps: Option<StepSender>,
}

impl CityService {
    pub fn new(
        machine: SharedRecipient,
        counters: Arc<MessageCounters>,
        traces: Arc<CityTraces>,
    ) -> Self {
        let adapter = Adapter::new(machine, counters).naming_spans(key::CITY, traces.city_id());
        CityService {
            adapter,
            traces,
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

    /// Takes in a message of `kind` as the catalog says (the city's entry:
    /// clock starts and rulings have one per receiving role) through the
    /// adapter. `apply` runs on the machine inside the message's span; if
    /// the machine takes the message, the span may become the context of
    /// the case `case_id` names.
    async fn receive<M: Guarded + Send + 'static, R: Send + 'static>(
        &self,
        kind: &'static MessageKind,
        request: Request<M>,
        case_id: fn(&M) -> &str,
        apply: impl FnOnce(&mut Recipient, &M, ScenarioTime, &Span) -> Result<R, Refusal>
            + Send
            + 'static,
    ) -> Result<Response<R>, Status> {
        let check = |caller: &Identity, message: &M| {
            let sender_id = message.header().map_or("", |h| h.sender_id.as_str());
            access::check_kind(caller, kind, sender_id)
        };
        let traces = self.traces.clone();
        let apply = move |machine: &mut Recipient, message: &M, now, span: &Span| {
            let outcome = apply(machine, message, now, span)?;
            traces.remember(case_id(message), span);
            Ok(outcome)
        };
        self.adapter.handle(kind, request, check, apply).await
    }
}

#[tonic::async_trait]
impl RecipientCity for CityService {
    async fn start_clock(&self, request: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        // The clock is about no case: nothing to remember.
        self.receive(
            &catalog::CITY_CLOCK_START,
            request,
            |_| "",
            |m, start, _, _| m.on_clock_start(start),
        )
        .await
    }

    async fn advance(&self, request: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        let steps = self.steps.as_ref().ok_or_else(lockstep::no_tick_loop)?;
        let machine = self.adapter.machine();
        lockstep::advance(machine, self.adapter.callers(), steps, request).await
    }

    async fn notify_decision(
        &self,
        request: Request<CaseDecision>,
    ) -> Result<Response<Ack>, Status> {
        let case_id: fn(&CaseDecision) -> &str = |d| &d.case_id;
        self.receive(
            &catalog::CASE_DECISION,
            request,
            case_id,
            |m, decision, now, span| {
                spans::annotate_decision(span, decision);
                let ack = m.on_decision(decision, now)?;
                if let Some(why) = spans::rejection(decision) {
                    trace::fail(span, &why);
                }
                Ok(ack)
            },
        )
        .await
    }

    async fn close_case(&self, request: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        let case_id: fn(&CaseClosure) -> &str = |c| &c.case_id;
        self.receive(
            &catalog::CASE_CLOSURE,
            request,
            case_id,
            |m, closure, _, span| {
                spans::annotate_case(span, &closure.case_id);
                m.on_closure(closure)
            },
        )
        .await
    }

    async fn deliver_shipment(&self, request: Request<Shipment>) -> Result<Response<Ack>, Status> {
        let case_id: fn(&Shipment) -> &str = |s| &s.case_id;
        self.receive(
            &catalog::SHIPMENT,
            request,
            case_id,
            |m, shipment, now, span| {
                spans::annotate_shipment(span, shipment);
                let ack = m.on_shipment(shipment, now)?;
                let discrepancy = m
                    .receipt_of(&shipment.shipment_id)
                    .and_then(|r| spans::discrepancy(&r.discrepancies));
                if let Some(discrepancy) = discrepancy {
                    trace::fail(span, &discrepancy);
                }
                Ok(ack)
            },
        )
        .await
    }

    async fn mediate(&self, request: Request<Mediation>) -> Result<Response<Ack>, Status> {
        let case_id: fn(&Mediation) -> &str = |r| &r.case_id;
        self.receive(
            &catalog::CITY_MEDIATION,
            request,
            case_id,
            |m, ruling, _, span| {
                spans::annotate_case(span, &ruling.case_id);
                trace::annotate(span, key::DISPUTE_ID, &ruling.dispute_id);
                trace::annotate(span, key::RULING, ruling.ruling().as_str_name());
                m.on_mediation(ruling)
            },
        )
        .await
    }

    /// An operator query, not a protocol message: not counted, no change.
    async fn get_books(&self, request: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        if let Some(caller) = self.adapter.callers().of(&request)? {
            access::may_read_books(&caller)?;
        }
        Ok(Response::new(self.adapter.machine().read().books()))
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
