//! The recipient city's protocol state machine, free of I/O: it takes the
//! messages that arrive and the scenario time, and returns the messages to
//! send. The gRPC service and the driver are thin adapters around it.
//!
//! - `mod.rs` (this file): the machine's state and what it knows of the
//!   city (capacity, needs, situation).
//! - `inbound`: what central and the donors send (clock, decision,
//!   shipment, closure), checked and applied.
//! - `outbound`: what is due at a tick ([`Recipient::on_tick`]) and what a
//!   send's outcome changes ([`Recipient::on_sent`]).
//! - `disputes`: a shortfall dispute about a donor, and central's ruling.
//! - `receipt`: manifest validation and the receipt for a shipment.
//! - `outgoing`: one outgoing message and its bounded resends.
//! - `persist`: the machine's durable form, saved after every change.
//! - `books`: what the city itself recorded receiving, for reconciliation.
//! - `tally`: the city's daily tally for its reports, its course under the
//!   care its own books say it had.
//! - [`epidemic`]: the city's situation at a scenario time, from the
//!   scenario's curve.
//! - `testing` (tests, and feature `testing` for city-node's tests): a
//!   scenario built in code and helpers that drive the machine.
//!
//! What the machine cannot do itself is passed in: the scenario time of
//! every message and tick, the header factory (whose boot stamp the node
//! takes from the wall clock), and how each send ended, classified at the
//! edge ([`Failure`]). A refusal is a [`Refusal`](crate::Refusal); the
//! node's gRPC service turns it into a status. The node (`city-node`) keeps
//! the service, the tick loop, the negotiation streams and the spans.

mod books;
mod disputes;
pub mod epidemic;
mod inbound;
mod outbound;
mod outgoing;
mod persist;
mod receipt;
mod tally;

use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::needs::{self, TreatmentResources};
use counterpart_domain::outcomes::CityDay;
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{City, Scenario};
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{
    Ack, AssistanceRequest, AssistanceRequestAck, DemobilisationRequest, Dispute, NeedsUpdate,
    PlanProposal, Receipt, Situation, SupervisoryReport,
};

use crate::header::HeaderFactory;
use crate::resend::RoundOutcome;
use outgoing::Outgoing;

pub use disputes::RaisedDispute;
pub use persist::{APPLIED_KIND, LEGACY_KIND, STATE_KIND};

/// Requests a city may make in one run (protocol step 4).
pub const MAX_REQUESTS: u32 = 3;
/// Scenario days a city waits after a rejection before asking again.
pub const RETRY_AFTER_REJECTION_DAYS: f64 = 3.0;

/// A message the machine wants sent, with its destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// To central: open a case (step 4).
    AssistanceRequest(AssistanceRequest),
    /// To central: the open case's situation and receipts (step 12).
    SupervisoryReport(SupervisoryReport),
    /// To central: the city has been quiet long enough and its own
    /// capacity covers its active cases (step 16).
    DemobilisationRequest(DemobilisationRequest),
    /// To the donor that shipped (step 10).
    Receipt {
        donor_id: String,
        endpoint: String,
        receipt: Receipt,
    },
    /// To central: a dispute about a donor ("Mediation").
    Dispute(Dispute),
    /// On the negotiation stream to a donor of the open case (step 11).
    NeedsUpdate {
        donor_id: String,
        endpoint: String,
        update: NeedsUpdate,
    },
}

/// A send that did not get through, as the edge classified it (the gRPC
/// status stays at the edge: `node_kit::retry::round_outcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// [`RoundOutcome::Transient`] (it may go through later) or
    /// [`RoundOutcome::Refused`] (sending it again changes nothing).
    pub round: RoundOutcome,
    /// What the receiver or the transport said, for the operator's log.
    pub reason: String,
}

impl Failure {
    /// A failure that may pass: the receiver was unreachable or busy.
    pub fn transient(reason: impl Into<String>) -> Self {
        Failure {
            round: RoundOutcome::Transient,
            reason: reason.into(),
        }
    }

    /// The receiver refused the message.
    pub fn refused(reason: impl Into<String>) -> Self {
        Failure {
            round: RoundOutcome::Refused,
            reason: reason.into(),
        }
    }
}

/// How one send ended: the receiver's reply, or why there is none.
pub type Outcome<R> = Result<R, Failure>;

/// The round an outcome counts as, for the resend policy.
fn round_of<R>(outcome: &Outcome<R>) -> RoundOutcome {
    match outcome {
        Ok(_) => RoundOutcome::Accepted,
        Err(failure) => failure.round,
    }
}

/// The outcome of sending an [`Outbound`], fed back by the driver.
#[derive(Debug, Clone)]
pub enum Sent {
    AssistanceRequest {
        message_id: String,
        outcome: Outcome<AssistanceRequestAck>,
    },
    SupervisoryReport {
        message_id: String,
        outcome: Outcome<()>,
    },
    DemobilisationRequest {
        message_id: String,
        outcome: Outcome<()>,
    },
    Receipt {
        shipment_id: String,
        outcome: Outcome<()>,
    },
    /// The dispute about donor `donor_id` (its `counterpart_id`).
    Dispute {
        donor_id: String,
        outcome: Outcome<()>,
    },
    /// A donor's answer to a NeedsUpdate on the negotiation stream.
    PlanProposal {
        donor_id: String,
        outcome: Outcome<PlanProposal>,
    },
}

/// What an outcome taught the machine that the operator should hear of
/// (the node logs it; the machine has no log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Central refused the assistance request, or could not be reached for
    /// any of its rounds: it counts as a rejection, and the city asks again
    /// [`RETRY_AFTER_REJECTION_DAYS`] later.
    RequestNotAccepted { reason: String },
}

/// Where the city's current case stands.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Stage {
    /// Asked for; central has not decided.
    Requested,
    Accepted,
    Rejected {
        at: ScenarioTime,
    },
    Closed {
        at: ScenarioTime,
    },
}

/// A donor of the case, as the latest decision revision names it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DonorLink {
    pub endpoint: String,
    /// False once a later revision dropped the donor (released). Its
    /// shipments still in transit are receipted; it gets no NeedsUpdate.
    pub active: bool,
}

/// Demobilisation (step 16): a fresh report first, then the request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Demobilisation {
    NotYet,
    /// The report that must reach central before the request is on its way.
    ReportSent {
        message_id: String,
    },
    ReportDelivered,
    Requested(Outgoing<DemobilisationRequest>),
}

/// The city's current (latest) assistance case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    /// Set by central's reply to the request, or by its decision if that
    /// comes first.
    pub id: Option<String>,
    pub stage: Stage,
    pub revision: u32,
    pub donors: BTreeMap<String, DonorLink>,
    request: Outgoing<AssistanceRequest>,
    next_report_at: Option<ScenarioTime>,
    demobilisation: Demobilisation,
    /// Disputes raised about the case's donors, by donor id; absent from
    /// the saves of releases before mediation.
    #[serde(default)]
    disputes: BTreeMap<String, disputes::RaisedDispute>,
}

/// A shipment the city has received and the receipt it owes the donor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ReceivedShipment {
    donor_id: String,
    /// Where the donor was when the shipment arrived.
    endpoint: String,
    case_id: String,
    received: Quantities,
    receipt: Outgoing<Receipt>,
}

/// The recipient city's protocol state.
#[derive(Debug)]
pub struct Recipient {
    scenario: Arc<Scenario>,
    city_index: usize,
    headers: Arc<HeaderFactory>,
    clock: Option<Clock>,
    requests_made: u32,
    case: Option<Case>,
    /// Ids of the cases the current one replaced (at most MAX_REQUESTS).
    earlier_case_ids: Vec<String>,
    /// By shipment id; bounded by [`receipt::MAX_SHIPMENTS`].
    shipments: BTreeMap<String, ReceivedShipment>,
    /// The latest plan each donor proposed on the negotiation stream.
    proposals: BTreeMap<String, PlanProposal>,
    applied: AppliedIds<Ack>,
    /// What the journal holds of the state beside the applied ids.
    last_written: counterpart_domain::journal::LastWritten,
    /// Whether the last tick changed anything durable (not saved itself).
    last_tick_changed: bool,
    /// The city's course so far, a day each, from its own books (`tally`);
    /// not saved: a restarted city computes the same days again.
    course: Vec<CityDay>,
}

impl Recipient {
    /// The machine for city `city_id` of `scenario`; `headers` stamps every
    /// message it sends (shared with registration so ids never repeat; the
    /// node makes it with its boot stamp, `node_kit::header::this_life`).
    pub fn new(
        scenario: Arc<Scenario>,
        city_id: &str,
        headers: Arc<HeaderFactory>,
    ) -> Result<Self, String> {
        let city_index = scenario
            .cities
            .iter()
            .position(|c| c.id == city_id)
            .ok_or_else(|| format!("city {city_id:?} is not in scenario {:?}", scenario.name))?;
        Ok(Recipient {
            scenario,
            city_index,
            headers,
            clock: None,
            requests_made: 0,
            case: None,
            earlier_case_ids: Vec::new(),
            shipments: BTreeMap::new(),
            proposals: BTreeMap::new(),
            applied: AppliedIds::default(),
            last_written: Default::default(),
            last_tick_changed: false,
            course: Vec::new(),
        })
    }

    /// Whether the last `on_tick` changed anything that must be saved; a
    /// tick that found nothing due did not.
    pub fn last_tick_changed(&self) -> bool {
        self.last_tick_changed
    }

    pub fn city(&self) -> &City {
        &self.scenario.cities[self.city_index]
    }

    pub fn clock(&self) -> Option<Clock> {
        self.clock
    }

    pub fn case(&self) -> Option<&Case> {
        self.case.as_ref()
    }

    pub fn requests_made(&self) -> u32 {
        self.requests_made
    }

    /// The disputes of the current case, by donor.
    pub fn disputes(&self) -> impl Iterator<Item = (&str, &RaisedDispute)> {
        (self.case.iter()).flat_map(|c| c.disputes.iter().map(|(d, r)| (d.as_str(), r)))
    }

    pub fn proposal_from(&self, donor_id: &str) -> Option<&PlanProposal> {
        self.proposals.get(donor_id)
    }

    /// The receipt the city made for shipment `shipment_id`, if it has one.
    pub fn receipt_of(&self, shipment_id: &str) -> Option<&Receipt> {
        self.shipments.get(shipment_id).map(|s| s.receipt.message())
    }

    /// Shipments whose receipt has not reached the donor (yet, or at all).
    pub fn undelivered_receipts(&self) -> Vec<&str> {
        self.shipments
            .iter()
            .filter(|(_, s)| !s.receipt.delivery().is_done())
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// The id of the case that is open (accepted, not closed).
    pub fn open_case_id(&self) -> Option<&str> {
        self.case
            .as_ref()
            .filter(|c| c.stage == Stage::Accepted)
            .and_then(|c| c.id.as_deref())
    }

    /// What the city has to treat with, per type: its own doctors and
    /// nurses, the teams of the open case (teams go home when a case
    /// closes), and every material and fund received in the run.
    pub fn on_hand(&self) -> Quantities {
        let city = self.city();
        let mut on_hand = Quantities::from([
            (ResourceType::Doctor, city.local_doctors),
            (ResourceType::Nurse, city.local_nurses),
        ]);
        let open = self.open_case_id();
        for shipment in self.shipments.values() {
            for (&t, &q) in &shipment.received {
                let team_at_home = t.travels_with_team() && open != Some(shipment.case_id.as_str());
                if !team_at_home {
                    *on_hand.entry(t).or_insert(0) += q;
                }
            }
        }
        on_hand
    }

    /// Active cases the city can treat now (step 4).
    pub fn capacity_cases(&self) -> i64 {
        let on_hand = self.on_hand();
        let resources = TreatmentResources {
            beds: self.city().beds,
            doctors: on_hand[&ResourceType::Doctor],
            nurses: on_hand[&ResourceType::Nurse],
        };
        needs::capacity_cases(resources, &self.scenario.needs_per_active_case)
    }

    /// The situation at `now`, from the scenario's curve.
    pub fn situation(&self, now: ScenarioTime) -> Situation {
        epidemic::situation(&self.scenario, self.city(), now)
    }

    /// Needs beyond what the city has, per type (step 4).
    pub fn needs(&self, active_cases: i64) -> Quantities {
        needs::needs(
            active_cases,
            &self.on_hand(),
            &self.scenario.needs_per_active_case,
        )
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
