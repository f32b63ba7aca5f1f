//! The `RecipientCity` gRPC service: a thin adapter that counts each
//! message, hands it to the [`Recipient`] machine under its lock and returns
//! the machine's answer. The lock is never held across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard};

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use node_kit::counters::MessageCounters;
use pairing_proto::v1::recipient_city_server::RecipientCity;
use pairing_proto::v1::{Ack, CaseClosure, CaseDecision, ClockStart, Shipment};
use tonic::{Request, Response, Status};

use crate::recipient::Recipient;

/// The city's state, shared by the service, the driver and the courier's
/// callbacks.
pub type SharedRecipient = Arc<Mutex<Recipient>>;

#[derive(Debug, Clone)]
pub struct CityService {
    machine: SharedRecipient,
    counters: Arc<MessageCounters>,
}

impl CityService {
    pub fn new(machine: SharedRecipient, counters: Arc<MessageCounters>) -> Self {
        CityService { machine, counters }
    }

    fn machine(&self) -> Result<MutexGuard<'_, Recipient>, Status> {
        self.machine
            .lock()
            .map_err(|_| Status::internal("city state lock poisoned"))
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
        self.counters.count("ClockStart");
        let ack = self.machine()?.on_clock_start(request.get_ref())?;
        Ok(Response::new(ack))
    }

    async fn notify_decision(
        &self,
        request: Request<CaseDecision>,
    ) -> Result<Response<Ack>, Status> {
        self.counters.count("CaseDecision");
        let mut machine = self.machine()?;
        let now = scenario_now(&machine);
        let ack = machine.on_decision(request.get_ref(), now)?;
        Ok(Response::new(ack))
    }

    async fn close_case(&self, request: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        self.counters.count("CaseClosure");
        let ack = self.machine()?.on_closure(request.get_ref())?;
        Ok(Response::new(ack))
    }

    async fn deliver_shipment(&self, request: Request<Shipment>) -> Result<Response<Ack>, Status> {
        self.counters.count("Shipment");
        let mut machine = self.machine()?;
        let now = scenario_now(&machine);
        let ack = machine.on_shipment(request.get_ref(), now)?;
        Ok(Response::new(ack))
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
