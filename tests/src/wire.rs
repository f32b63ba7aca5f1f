//! Arbitrary bytes as protocol requests: the fuzz target (`fuzz/`) and a
//! property test feed bytes here. The first byte picks a request type of
//! the three services; the rest is decoded as that message (prost), and a
//! message that decodes goes to the state machine that handles it, on nodes
//! of the `small` scenario with the clock started. Nothing may panic, and
//! a refusal must carry a code meant for bad input and a message.
//!
//! This file has no dependency beyond the node crates, so the fuzz crate
//! (outside the workspace) includes it by path.

use std::sync::Arc;

use central::authority::{Authority, Now};
use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::scenario::Scenario;
use counterpart_protocol::catalog::{MessageKind, CATALOG};
use counterpart_protocol::{Refusal, RefusalCode, Service};
use pairing_proto::v1::*;
use prost::Message;
use province_node::donor::Donor;

/// Wall time of the machines' clock epoch.
const EPOCH_UNIX_MS: i64 = 1_700_000_000_000;

/// One node of each role, ready to take messages.
pub struct Machines {
    pub central: Authority,
    pub donor: Donor,
    pub city: city_node::recipient::Recipient,
}

fn setup_header(node: &str, id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: format!("{node}-setup-{id}"),
        sender_id: node.into(),
        scenario_time_ms: 0,
    })
}

impl Machines {
    /// Central with every node registered (its clock started), the first
    /// province and the first city with the clock.
    pub fn new(scenario: Arc<Scenario>) -> Machines {
        let now = Now {
            scenario: ScenarioTime(0),
            unix_ms: EPOCH_UNIX_MS,
        };
        let mut central = Authority::new(scenario.clone(), DAY_MS, None, EPOCH_UNIX_MS);
        let nodes = scenario
            .provinces
            .iter()
            .map(|p| (p.id.clone(), Role::Province))
            .chain(scenario.cities.iter().map(|c| (c.id.clone(), Role::City)));
        for (id, role) in nodes {
            let m = RegisterNode {
                header: setup_header(&id, "reg"),
                role: role as i32,
                endpoint: format!("http://{id}.test:1"),
                ..Default::default()
            };
            central.register(&m, now).expect("scenario nodes register");
        }
        let clock = ClockStart {
            header: setup_header("central", "clock"),
            clock: Some(ScenarioClock {
                epoch_unix_ms: EPOCH_UNIX_MS,
                day_ms: DAY_MS,
                start_date: scenario.start_date.format("%Y-%m-%d").to_string(),
                ..Default::default()
            }),
        };
        let province = &scenario.provinces[0].id;
        let mut donor = Donor::new(
            scenario.clone(),
            province,
            Arc::new(node_kit::header::this_life(province)),
        )
        .expect("the province is in the scenario");
        donor.on_clock_start(&clock).expect("clock starts");
        let city_id = &scenario.cities[0].id;
        let mut city = city_node::recipient::Recipient::new(
            scenario.clone(),
            city_id,
            Arc::new(node_kit::header::this_life(city_id)),
        )
        .expect("the city is in the scenario");
        city.on_clock_start(&clock).expect("clock starts");
        Machines {
            central,
            donor,
            city,
        }
    }
}

/// Request types: the first byte selects one, in catalog order.
pub const KINDS: usize = CATALOG.len();

/// The first byte that selects `kind`.
pub fn kind_byte(kind: &MessageKind) -> u8 {
    let i = CATALOG
        .iter()
        .position(|k| k == kind)
        .expect("a catalog kind");
    u8::try_from(i).expect("fewer than 256 kinds")
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bytes are not a message of the type picked.
    Undecoded,
    /// Decoded and applied.
    Applied,
    /// Decoded and refused, with this code.
    Refused(RefusalCode),
}

/// Decodes `bytes` as a request and applies it; panics only if a refusal
/// is not what bad input should get.
pub fn apply(m: &mut Machines, bytes: &[u8]) -> Outcome {
    let Some((&kind, body)) = bytes.split_first() else {
        return Outcome::Undecoded;
    };
    let now = Now {
        scenario: ScenarioTime(DAY_MS),
        unix_ms: EPOCH_UNIX_MS + DAY_MS,
    };
    let kind = &CATALOG[kind as usize % KINDS];
    let outcome = handle(m, kind, body, now);
    if let Some(Err(status)) = &outcome {
        assert!(
            matches!(
                status.code(),
                RefusalCode::InvalidArgument
                    | RefusalCode::NotFound
                    | RefusalCode::FailedPrecondition
                    | RefusalCode::PermissionDenied
                    | RefusalCode::ResourceExhausted
            ),
            "unexpected refusal: {status:?}"
        );
        assert!(!status.message().is_empty(), "refusal without a message");
    }
    // Time passing after a message must not panic either.
    let later = Now {
        scenario: ScenarioTime(2 * DAY_MS),
        unix_ms: EPOCH_UNIX_MS + 2 * DAY_MS,
    };
    m.central.on_tick(later);
    m.donor.on_tick(later.scenario);
    m.city.on_tick(later.scenario);
    match outcome {
        None => Outcome::Undecoded,
        Some(Ok(())) => Outcome::Applied,
        Some(Err(status)) => Outcome::Refused(status.code()),
    }
}

/// Decodes `body` as the request of `kind` and hands it to the machine
/// that receives it; `None` when it does not decode.
fn handle(
    m: &mut Machines,
    kind: &MessageKind,
    body: &[u8],
    now: Now,
) -> Option<Result<(), Refusal>> {
    use Service::{CentralAuthority as C, DonorProvince as P, RecipientCity as R};
    let t = now.scenario;
    match (kind.service, kind.rpc) {
        (C, "Register") => {
            decode(body).map(|x: RegisterNode| m.central.register(&x, now).map(drop))
        }
        (C, "ReportCapacity") => {
            decode(body).map(|x: CapacityReport| m.central.report_capacity(&x, now).map(drop))
        }
        (C, "RequestAssistance") => {
            decode(body).map(|x: AssistanceRequest| m.central.request_assistance(&x, now).map(drop))
        }
        (C, "AcknowledgeAssignment") => decode(body).map(|x: AssignmentAcknowledgement| {
            m.central.acknowledge_assignment(&x, now).map(drop)
        }),
        (C, "SubmitReport") => {
            decode(body).map(|x: SupervisoryReport| m.central.submit_report(&x, now).map(drop))
        }
        (C, "RequestDemobilisation") => decode(body)
            .map(|x: DemobilisationRequest| m.central.request_demobilisation(&x, now).map(drop)),
        (C, "RaiseDispute") => {
            decode(body).map(|x: Dispute| m.central.raise_dispute(&x, now).map(drop))
        }
        (P, "Mediate") => decode(body).map(|x: Mediation| m.donor.on_mediation(&x, t).map(drop)),
        (R, "Mediate") => decode(body).map(|x: Mediation| m.city.on_mediation(&x).map(drop)),
        (P, "StartClock") => decode(body).map(|x: ClockStart| m.donor.on_clock_start(&x).map(drop)),
        (P, "Assign") => decode(body).map(|x: Assignment| m.donor.on_assignment(&x, t).map(drop)),
        (P, "Evaluate") => decode(body).map(|x: Evaluation| m.donor.on_evaluation(&x, t).map(drop)),
        (P, "Adjust") => decode(body).map(|x: Adjustment| m.donor.on_adjustment(&x, t).map(drop)),
        (P, "Demobilise") => {
            decode(body).map(|x: DemobilisationOrder| m.donor.on_demobilisation(&x, t).map(drop))
        }
        (P, "ConfirmReceipt") => decode(body).map(|x: Receipt| m.donor.on_receipt(&x, t).map(drop)),
        (P, "NegotiatePlan") => {
            decode(body).map(|x: NeedsUpdate| m.donor.on_needs_update(&x, t).map(drop))
        }
        (R, "StartClock") => decode(body).map(|x: ClockStart| m.city.on_clock_start(&x).map(drop)),
        (P, "Advance") => decode(body).map(|x: StepGrant| m.donor.on_step_grant(&x).map(drop)),
        (R, "Advance") => decode(body).map(|x: StepGrant| m.city.on_step_grant(&x).map(drop)),
        (R, "NotifyDecision") => {
            decode(body).map(|x: CaseDecision| m.city.on_decision(&x, t).map(drop))
        }
        (R, "CloseCase") => decode(body).map(|x: CaseClosure| m.city.on_closure(&x).map(drop)),
        (R, "DeliverShipment") => {
            decode(body).map(|x: Shipment| m.city.on_shipment(&x, t).map(drop))
        }
        _ => panic!(
            "tests/src/wire.rs hands no machine {} ({:?}): add it here",
            kind.rpc, kind.service
        ),
    }
}

fn decode<T: Message + Default>(body: &[u8]) -> Option<T> {
    T::decode(body).ok()
}
