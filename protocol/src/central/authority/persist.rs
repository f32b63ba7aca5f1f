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
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::outbound::{Outbound, OwedId};
use super::Authority;
use crate::central::case::{Case, CaseEvent};
use crate::central::ledger::Ledger;
use crate::outbox::{Delivery, Owed};
use crate::persist::Persistent;

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
    pub const TALLY: &str = "tally";
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
    /// Cases whose history grew while their own record did not change (a
    /// report): only the new events are written, not the case again.
    grown: BTreeSet<String>,
}

impl Unsaved {
    /// Record `id` of `kind` changed.
    pub fn mark(&mut self, kind: &'static str, id: &str) {
        self.keys.insert((kind, id.to_string()));
    }

    /// Case `case_id` may have new events, and nothing else of it changed.
    pub fn mark_events(&mut self, case_id: &str) {
        if !self.grown.contains(case_id) {
            self.grown.insert(case_id.to_string());
        }
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

/// How an owed message's standing is journaled, as the record of kind
/// `owed` has always been (`(Option<ScenarioTime>, Outbound)`, the rounds
/// in `Outbound::rounds`): the time of its next round, or `None` when it
/// is to be sent now (new, or in flight: a restarted central sends it
/// again); and the rounds it has failed. Settled messages are not owed.
pub(super) fn journaled(delivery: Delivery) -> (Option<ScenarioTime>, u32) {
    match delivery {
        Delivery::Due {
            not_before,
            failed_rounds,
        } => {
            let at = (not_before != SEND_NOW).then_some(not_before);
            (at, failed_rounds)
        }
        Delivery::InFlight { failed_rounds } => (None, failed_rounds),
        Delivery::Done | Delivery::GaveUp => (None, 0),
    }
}

/// The standing a journaled owed message is restored to.
fn delivery_of(at: Option<ScenarioTime>, failed_rounds: u32) -> Delivery {
    Delivery::Due {
        not_before: at.unwrap_or(SEND_NOW),
        failed_rounds,
    }
}

/// The time a message due at once waits for ([`Delivery::due`]).
const SEND_NOW: ScenarioTime = ScenarioTime(i64::MIN);

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

/// The events of case `case_id` after the `events_saved` first, as records.
fn event_changes(
    case_id: &str,
    case: &Case,
    events_saved: &mut BTreeMap<String, usize>,
    changes: &mut Vec<Change>,
) -> Result<(), String> {
    let saved = events_saved.entry(case_id.to_string()).or_default();
    for (index, event) in case.events.iter().enumerate().skip(*saved) {
        changes.push(Change::put(
            kind::CASE_EVENT,
            event_id(case_id, index),
            encode("case event", event)?,
        ));
    }
    *saved = case.events.len();
    Ok(())
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
        // After the cases marked changed, which wrote their events too.
        for id in std::mem::take(&mut self.unsaved.grown) {
            if let Some(case) = self.cases.get(&id) {
                event_changes(&id, case, &mut events_saved, &mut changes)?;
            }
        }
        self.unsaved.events_saved = events_saved;
        changes.extend(self.ledger.take_changes()?);
        changes.extend(self.applied.take_changes(kind::APPLIED)?);
        for id in std::mem::take(&mut self.unsaved.owed) {
            let id = OwedId::new(id);
            changes.push(match self.owed.get(&id) {
                Some(owed) => Change::put(kind::OWED, id.as_ref(), encode_owed(owed)?),
                None => Change::delete(kind::OWED, id.as_ref()),
            });
        }
        Ok(changes)
    }

    /// In memory, the marks are dropped unread: no record is encoded.
    fn discard_changes(&mut self) {
        self.unsaved.keys.clear();
        self.unsaved.grown.clear();
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
        for (id, owed) in self.owed.iter() {
            changes.push(Change::put(kind::OWED, id.as_ref(), encode_owed(owed)?));
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
            kind::TALLY => self.tallies.get(id).map(|v| encode(kind, v)),
            kind::CASE => self.cases.get(id).map(|case| {
                event_changes(id, case, events_saved, changes)?;
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
            .chain(of(kind::TALLY, &self.tallies))
            .collect()
    }

    /// Owes again a message saved as owed: due at `at`, or at once. A
    /// message saved twice (which no release writes) is owed once.
    pub(super) fn owe_restored(&mut self, at: Option<ScenarioTime>, outbound: Outbound) {
        let id = OwedId::of(&outbound);
        if self.owed.get(&id).is_some() {
            return;
        }
        let delivery = delivery_of(at, outbound.rounds);
        let message = outbound;
        self.owed.restore(id, Owed { message, delivery });
    }

    /// The authority journal `records` describe, for `scenario`, in the
    /// life stamped `boot` (see [`Authority::new`]). Messages that were in
    /// flight when it stopped are sent again on the first tick. The
    /// previous release's whole-state document is read by
    /// [`Authority::from_legacy`]: which of the two a store holds is the
    /// store's to say.
    pub fn restore(
        scenario: Arc<Scenario>,
        records: &Records,
        boot: i64,
    ) -> Result<Authority, String> {
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
        let mut a = Authority::new(scenario, scalars.day_ms, Some(scalars.mode), boot);
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
        a.tallies = map_of(records, kind::TALLY)?;
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
        for (id, body) in journal::of_kind(records, kind::OWED) {
            let (at, outbound): (Option<ScenarioTime>, Outbound) = decode("owed", id, body)?;
            a.owe_restored(at, outbound);
        }
        a.unsaved = Unsaved::with_events_saved(&a.cases);
        // The scalar record is what was loaded: not written again.
        let _ = a
            .unsaved
            .scalars
            .put_if_changed("", "", encode("scalars", &a.scalars())?);
        Ok(a)
    }
}

/// An owed message's record: `(at, outbound)` with its rounds, see
/// [`journaled`].
fn encode_owed(owed: &Owed<Outbound>) -> Result<Vec<u8>, String> {
    let (at, rounds) = journaled(owed.delivery);
    let outbound = Outbound {
        rounds,
        ..owed.message.clone()
    };
    encode("owed", &(at, &outbound))
}

fn map_of<T: DeserializeOwned>(
    records: &Records,
    kind: &str,
) -> Result<BTreeMap<String, T>, String> {
    journal::of_kind(records, kind)
        .map(|(id, body)| Ok((id.to_string(), decode(kind, id, body)?)))
        .collect()
}
