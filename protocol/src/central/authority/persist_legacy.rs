//! Central's state as the previous release saved it: one JSON document of
//! the whole machine (0.1.0, compat/PREVIOUS). A central upgraded on the same
//! data directory reads it once; `durable::open` then writes every record
//! of it into the journal.

use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::scenario::{PairingMode, Scenario};
use pairing_proto::v1::Ack;
use serde::Deserialize;

use super::outbound::Outbound;
use super::persist::Unsaved;
use super::{Authority, DonorStanding, NodeEntry};
use crate::central::case::{Case, CaseEvent};
use crate::central::ledger::Ledger;

/// A case as 0.1.0 saved it: with its events inside.
#[derive(Deserialize)]
struct LegacyCase {
    #[serde(flatten)]
    case: Case,
    #[serde(default)]
    events: Vec<CaseEvent>,
}

/// The whole-state document of 0.1.0.
#[derive(Deserialize)]
struct Legacy {
    scenario: String,
    mode: PairingMode,
    day_ms: i64,
    clock: Option<Clock>,
    nodes: BTreeMap<String, NodeEntry>,
    donors: BTreeMap<String, DonorStanding>,
    cases: BTreeMap<String, LegacyCase>,
    requests_per_city: BTreeMap<String, u32>,
    request_ids: BTreeMap<String, String>,
    assignment_cases: BTreeMap<String, String>,
    first_request_at: Option<ScenarioTime>,
    last_activity_at: ScenarioTime,
    finished_at: Option<ScenarioTime>,
    ledger: Ledger,
    applied: AppliedIds<Ack>,
    node_messages: BTreeMap<String, BTreeMap<String, u64>>,
    outbox: Vec<Outbound>,
    in_flight: Vec<Outbound>,
    resends: LegacyResends,
}

/// The resend queue as 0.1.0 saved it: messages whose send failed, each
/// with the time of its next round (its rounds in `Outbound::rounds`).
#[derive(Deserialize)]
struct LegacyResends {
    waiting: Vec<(ScenarioTime, Outbound)>,
}

impl Authority {
    /// The authority 0.1.0 saved as `bytes`, for `scenario`, in the life
    /// stamped `boot`. What was in flight is due again, as after any
    /// restart.
    pub fn from_legacy(
        scenario: Arc<Scenario>,
        bytes: &[u8],
        boot: i64,
    ) -> Result<Authority, String> {
        let saved: Legacy = serde_json::from_slice(bytes)
            .map_err(|e| format!("central state of the previous release: {e}"))?;
        if saved.scenario != scenario.name {
            return Err(format!(
                "central state: saved for scenario {:?}, not {:?}",
                saved.scenario, scenario.name
            ));
        }
        let mut a = Authority::new(scenario, saved.day_ms, Some(saved.mode), boot);
        a.clock = saved.clock;
        a.nodes = saved.nodes;
        a.donors = saved.donors;
        a.cases = saved
            .cases
            .into_iter()
            .map(|(id, legacy)| {
                let mut case = legacy.case;
                case.events = legacy.events;
                (id, case)
            })
            .collect();
        a.requests_per_city = saved.requests_per_city;
        a.request_ids = saved.request_ids;
        a.assignment_cases = saved.assignment_cases;
        a.first_request_at = saved.first_request_at;
        a.last_activity_at = saved.last_activity_at;
        a.finished_at = saved.finished_at;
        a.ledger = saved.ledger;
        a.applied = saved.applied.renumbered();
        a.node_messages = saved.node_messages;
        for outbound in saved.outbox.into_iter().chain(saved.in_flight) {
            a.owe_restored(None, outbound);
        }
        for (at, outbound) in saved.resends.waiting {
            a.owe_restored(Some(at), outbound);
        }
        a.unsaved = Unsaved::with_events_saved(&a.cases);
        Ok(a)
    }
}
