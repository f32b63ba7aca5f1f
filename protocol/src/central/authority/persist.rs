//! Central's durable form, as journal records: one per registered node,
//! donor standing, case, case event, ledger entry, applied message id and
//! message owed, plus one for the handful of scalar fields. A handler
//! marks what it changed ([`Unsaved`]); a save writes those records only,
//! so it costs the change however long the run has been.
//!
//! Everything but the scenario (read from its file again) and the header
//! factory (a restarted central stamps new messages with a new boot; what
//! it still owes keeps the ids it was first sent with) is kept. Messages
//! handed to the courier and not yet answered are records too, so a
//! central killed mid-send sends them again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use counterpart_domain::applied::{AppliedIds, DEFAULT_CAPACITY};
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::journal::{self, Change, LastWritten, RecordKey, Records};
use counterpart_domain::scenario::{PairingMode, Scenario};
use node_kit::durable::Persistent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::outbound::{Outbound, ResendQueue};
use super::Authority;
use crate::case::{Case, CaseEvent};
use crate::ledger::Ledger;

/// The kinds of central's records.
pub(super) mod kind {
    pub const SCALARS: &str = "central";
    pub const NODE: &str = "node";
    pub const DONOR: &str = "donor";
    pub const CASE: &str = "case";
    pub const CASE_EVENT: &str = "case_event";
    pub const REQUESTS_PER_CITY: &str = "requests_per_city";
    pub const REQUEST_ID: &str = "request_id";
    pub const ASSIGNMENT_CASE: &str = "assignment_case";
    pub const NODE_MESSAGES: &str = "node_messages";
    pub const APPLIED: &str = "applied";
    pub const OWED: &str = "owed";
}

/// What changed since the last save: the keys handlers marked, and where
/// the journal stands with the append-only parts.
#[derive(Debug, Default, Clone)]
pub(super) struct Unsaved {
    keys: BTreeSet<(&'static str, String)>,
    /// Messages (by id) queued, sent, answered or rescheduled.
    owed: BTreeSet<String>,
    scalars: LastWritten,
    /// Events of each case already in the journal (events only append).
    events_saved: BTreeMap<String, usize>,
}

impl Unsaved {
    /// Record `id` of `kind` changed.
    pub fn mark(&mut self, kind: &'static str, id: &str) {
        self.keys.insert((kind, id.to_string()));
    }

    /// Nothing unsaved, every event of `cases` saved: for a machine just
    /// read from a store.
    pub fn with_events_saved(cases: &BTreeMap<String, Case>) -> Unsaved {
        Unsaved {
            events_saved: cases
                .iter()
                .map(|(id, c)| (id.clone(), c.events.len()))
                .collect(),
            ..Unsaved::default()
        }
    }

    /// The message `message_id` moved (queued, answered, rescheduled).
    pub fn owe(&mut self, message_id: &str) {
        self.owed.insert(message_id.to_string());
    }
}

/// The scalar fields, in one small record.
#[derive(Serialize, Deserialize)]
struct Scalars {
    scenario: String,
    mode: PairingMode,
    day_ms: i64,
    clock: Option<Clock>,
    first_request_at: Option<ScenarioTime>,
    last_activity_at: ScenarioTime,
    finished_at: Option<ScenarioTime>,
}

fn encode<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| format!("central state, {what}: {e}"))
}

fn decode<T: DeserializeOwned>(what: &str, id: &str, body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("central state, {what} {id:?}: {e}"))
}

fn event_id(case_id: &str, index: usize) -> String {
    format!("{case_id}/{}", journal::numbered_id(index as u64))
}

impl Persistent for Authority {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        let mut changes = Vec::new();
        let scalars = encode("scalars", &self.scalars())?;
        changes.extend(
            self.unsaved
                .scalars
                .put_if_changed(kind::SCALARS, "", scalars),
        );
        let keys = std::mem::take(&mut self.unsaved.keys);
        let mut events_saved = std::mem::take(&mut self.unsaved.events_saved);
        for (kind, id) in keys {
            self.record_changes(kind, &id, &mut events_saved, &mut changes)?;
        }
        self.unsaved.events_saved = events_saved;
        changes.extend(self.ledger.take_changes()?);
        changes.extend(self.applied.take_changes(kind::APPLIED)?);
        let owed = std::mem::take(&mut self.unsaved.owed);
        if !owed.is_empty() {
            let now_owed = self.owed_records();
            for id in owed {
                changes.push(match now_owed.get(id.as_str()) {
                    Some(record) => Change::put(kind::OWED, id, encode("owed", record)?),
                    None => Change::delete(kind::OWED, id),
                });
            }
        }
        Ok(changes)
    }

    /// In memory, the marks are dropped unread: no record is encoded.
    fn discard_changes(&mut self) {
        self.unsaved.keys.clear();
        self.unsaved.owed.clear();
        self.ledger.discard_changes();
    }

    fn records(&self) -> Result<Records, String> {
        let mut changes = vec![Change::put(
            kind::SCALARS,
            "",
            encode("scalars", &self.scalars())?,
        )];
        let mut events_saved = BTreeMap::new();
        for (kind, id) in self.every_key() {
            self.record_changes(kind, &id, &mut events_saved, &mut changes)?;
        }
        changes.extend(self.ledger.records()?);
        changes.extend(self.applied.records(kind::APPLIED)?);
        for (id, record) in self.owed_records() {
            changes.push(Change::put(kind::OWED, id, encode("owed", &record)?));
        }
        let mut records = Records::new();
        journal::apply(&mut records, changes);
        Ok(records)
    }
}

impl Authority {
    fn scalars(&self) -> Scalars {
        Scalars {
            scenario: self.scenario.name.clone(),
            mode: self.mode,
            day_ms: self.day_ms,
            clock: self.clock,
            first_request_at: self.first_request_at,
            last_activity_at: self.last_activity_at,
            finished_at: self.finished_at,
        }
    }

    /// The changes of record `id` of `kind`: its body now, or its deletion;
    /// for a case, also its events after the `events_saved` first.
    fn record_changes(
        &self,
        kind: &'static str,
        id: &str,
        events_saved: &mut BTreeMap<String, usize>,
        changes: &mut Vec<Change>,
    ) -> Result<(), String> {
        let body = match kind {
            kind::NODE => self.nodes.get(id).map(|v| encode(kind, v)),
            kind::DONOR => self.donors.get(id).map(|v| encode(kind, v)),
            kind::REQUESTS_PER_CITY => self.requests_per_city.get(id).map(|v| encode(kind, v)),
            kind::REQUEST_ID => self.request_ids.get(id).map(|v| encode(kind, v)),
            kind::ASSIGNMENT_CASE => self.assignment_cases.get(id).map(|v| encode(kind, v)),
            kind::NODE_MESSAGES => self.node_messages.get(id).map(|v| encode(kind, v)),
            kind::CASE => self.cases.get(id).map(|case| {
                let saved = events_saved.entry(id.to_string()).or_default();
                for (index, event) in case.events.iter().enumerate().skip(*saved) {
                    changes.push(Change::put(
                        kind::CASE_EVENT,
                        event_id(id, index),
                        encode("case event", event)?,
                    ));
                }
                *saved = case.events.len();
                // The case's record leaves its events out (`serde(skip)`).
                encode(kind, case)
            }),
            other => return Err(format!("central state: no record kind {other:?}")),
        };
        changes.push(match body.transpose()? {
            Some(body) => Change::put(kind, id, body),
            None => Change::delete(kind, id),
        });
        Ok(())
    }

    /// Every key of the keyed record kinds.
    fn every_key(&self) -> Vec<(&'static str, String)> {
        fn of<'a, V>(
            kind: &'static str,
            map: &'a BTreeMap<String, V>,
        ) -> impl Iterator<Item = (&'static str, String)> + 'a {
            map.keys().map(move |id| (kind, id.clone()))
        }
        of(kind::NODE, &self.nodes)
            .chain(of(kind::DONOR, &self.donors))
            .chain(of(kind::CASE, &self.cases))
            .chain(of(kind::REQUESTS_PER_CITY, &self.requests_per_city))
            .chain(of(kind::REQUEST_ID, &self.request_ids))
            .chain(of(kind::ASSIGNMENT_CASE, &self.assignment_cases))
            .chain(of(kind::NODE_MESSAGES, &self.node_messages))
            .collect()
    }

    /// Every message owed, by message id: `None` to send now (queued or in
    /// flight), or the time of its next round.
    fn owed_records(&self) -> BTreeMap<&str, (Option<ScenarioTime>, &Outbound)> {
        let now = self.outbox.iter().chain(&self.in_flight).map(|o| (None, o));
        let later = self.resends.waiting().map(|(at, o)| (Some(at), o));
        now.chain(later)
            .map(|(at, o)| (o.message_id(), (at, o)))
            .collect()
    }

    /// The authority `records` describe, for `scenario`. Messages that were
    /// in flight when it stopped are sent again on the first tick.
    pub fn restore(scenario: Arc<Scenario>, records: &Records) -> Result<Authority, String> {
        if let Some(bytes) = node_kit::durable::legacy_state(records) {
            return Authority::from_legacy(scenario, bytes);
        }
        let scalars_key = RecordKey::new(kind::SCALARS, "");
        let scalars: Scalars = decode(
            "scalars",
            "",
            records
                .get(&scalars_key)
                .ok_or("central state: no scalar record (not a central's store?)")?,
        )?;
        if scalars.scenario != scenario.name {
            return Err(format!(
                "central state: saved for scenario {:?}, not {:?}",
                scalars.scenario, scenario.name
            ));
        }
        let mut a = Authority::new(scenario, scalars.day_ms, Some(scalars.mode));
        a.clock = scalars.clock;
        a.first_request_at = scalars.first_request_at;
        a.last_activity_at = scalars.last_activity_at;
        a.finished_at = scalars.finished_at;
        a.nodes = map_of(records, kind::NODE)?;
        a.donors = map_of(records, kind::DONOR)?;
        a.cases = map_of(records, kind::CASE)?;
        a.requests_per_city = map_of(records, kind::REQUESTS_PER_CITY)?;
        a.request_ids = map_of(records, kind::REQUEST_ID)?;
        a.assignment_cases = map_of(records, kind::ASSIGNMENT_CASE)?;
        a.node_messages = map_of(records, kind::NODE_MESSAGES)?;
        for (id, body) in journal::of_kind(records, kind::CASE_EVENT) {
            let (case_id, _) = id
                .rsplit_once('/')
                .ok_or(format!("case event {id:?}: no case"))?;
            let event: CaseEvent = decode("case event", id, body)?;
            let case = a
                .cases
                .get_mut(case_id)
                .ok_or(format!("case event {id:?}: no case"))?;
            case.events.push(event);
        }
        a.ledger = Ledger::from_records(records)?;
        a.applied =
            AppliedIds::from_records(DEFAULT_CAPACITY, journal::of_kind(records, kind::APPLIED))?;
        let mut resends = ResendQueue::default();
        for (id, body) in journal::of_kind(records, kind::OWED) {
            let (at, outbound): (Option<ScenarioTime>, Outbound) = decode("owed", id, body)?;
            match at {
                None => a.outbox.push(outbound),
                Some(at) => resends.restore(at, outbound),
            }
        }
        a.resends = resends;
        a.unsaved = Unsaved::with_events_saved(&a.cases);
        // The scalar record is what was loaded: not written again.
        let _ = a
            .unsaved
            .scalars
            .put_if_changed("", "", encode("scalars", &a.scalars())?);
        Ok(a)
    }
}

fn map_of<T: DeserializeOwned>(
    records: &Records,
    kind: &str,
) -> Result<BTreeMap<String, T>, String> {
    journal::of_kind(records, kind)
        .map(|(id, body)| Ok((id.to_string(), decode(kind, id, body)?)))
        .collect()
}
