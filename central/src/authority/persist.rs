//! Central's durable form: everything but the scenario (read from its file
//! again) and the header factory (a restarted central stamps new messages
//! with a new boot; what it still owes keeps the ids it was first sent with).
//!
//! Messages handed to the courier and not yet answered are part of the
//! state (`in_flight`), so a central killed mid-send sends them again.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::scenario::{PairingMode, Scenario};
use node_kit::durable::Persistent;
use node_kit::header::HeaderFactory;
use pairing_proto::v1::Ack;
use serde::{Deserialize, Serialize};

use super::outbound::{Outbound, ResendQueue};
use super::{Authority, DonorStanding, NodeEntry, CENTRAL_ID};
use crate::case::Case;
use crate::ledger::Ledger;

/// Borrowed when saving, owned when restoring.
#[derive(Serialize, Deserialize)]
struct Saved<'a> {
    scenario: Cow<'a, str>,
    mode: PairingMode,
    day_ms: i64,
    clock: Option<Clock>,
    nodes: Cow<'a, BTreeMap<String, NodeEntry>>,
    donors: Cow<'a, BTreeMap<String, DonorStanding>>,
    cases: Cow<'a, BTreeMap<String, Case>>,
    requests_per_city: Cow<'a, BTreeMap<String, u32>>,
    request_ids: Cow<'a, BTreeMap<String, String>>,
    assignment_cases: Cow<'a, BTreeMap<String, String>>,
    first_request_at: Option<ScenarioTime>,
    last_activity_at: ScenarioTime,
    finished_at: Option<ScenarioTime>,
    ledger: Cow<'a, Ledger>,
    applied: Cow<'a, AppliedIds<Ack>>,
    node_messages: Cow<'a, BTreeMap<String, BTreeMap<String, u64>>>,
    outbox: Cow<'a, [Outbound]>,
    in_flight: Cow<'a, [Outbound]>,
    resends: Cow<'a, ResendQueue>,
}

impl Persistent for Authority {
    fn state_bytes(&self) -> Result<Vec<u8>, String> {
        let saved = Saved {
            scenario: Cow::Borrowed(&self.scenario.name),
            mode: self.mode,
            day_ms: self.day_ms,
            clock: self.clock,
            nodes: Cow::Borrowed(&self.nodes),
            donors: Cow::Borrowed(&self.donors),
            cases: Cow::Borrowed(&self.cases),
            requests_per_city: Cow::Borrowed(&self.requests_per_city),
            request_ids: Cow::Borrowed(&self.request_ids),
            assignment_cases: Cow::Borrowed(&self.assignment_cases),
            first_request_at: self.first_request_at,
            last_activity_at: self.last_activity_at,
            finished_at: self.finished_at,
            ledger: Cow::Borrowed(&self.ledger),
            applied: Cow::Borrowed(&self.applied),
            node_messages: Cow::Borrowed(&self.node_messages),
            outbox: Cow::Borrowed(&self.outbox),
            in_flight: Cow::Borrowed(&self.in_flight),
            resends: Cow::Borrowed(&self.resends),
        };
        serde_json::to_vec(&saved).map_err(|e| format!("central state: {e}"))
    }
}

impl Authority {
    /// The authority saved as `bytes`, for `scenario`. Messages that were
    /// in flight when it stopped are sent again on the first tick.
    pub fn restore(scenario: Arc<Scenario>, bytes: &[u8]) -> Result<Authority, String> {
        let saved: Saved =
            serde_json::from_slice(bytes).map_err(|e| format!("central state: {e}"))?;
        if saved.scenario != scenario.name {
            return Err(format!(
                "central state: saved for scenario {:?}, not {:?}",
                saved.scenario, scenario.name
            ));
        }
        let mut outbox = saved.outbox.into_owned();
        outbox.extend(saved.in_flight.into_owned());
        Ok(Authority {
            scenario,
            mode: saved.mode,
            day_ms: saved.day_ms,
            headers: HeaderFactory::new(CENTRAL_ID),
            clock: saved.clock,
            nodes: saved.nodes.into_owned(),
            donors: saved.donors.into_owned(),
            cases: saved.cases.into_owned(),
            requests_per_city: saved.requests_per_city.into_owned(),
            request_ids: saved.request_ids.into_owned(),
            assignment_cases: saved.assignment_cases.into_owned(),
            first_request_at: saved.first_request_at,
            last_activity_at: saved.last_activity_at,
            finished_at: saved.finished_at,
            ledger: saved.ledger.into_owned(),
            applied: saved.applied.into_owned(),
            node_messages: saved.node_messages.into_owned(),
            outbox,
            in_flight: Vec::new(),
            resends: saved.resends.into_owned(),
        })
    }
}
