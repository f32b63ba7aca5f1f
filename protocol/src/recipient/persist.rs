//! The city's durable form: its inbox of shipments with the receipt owed
//! for each, its case and its requests, without the scenario (read from its
//! file again) and the header factory (new messages of a restarted node
//! get a new boot stamp; owed messages keep the ids they were sent with).
//!
//! Saved as two kinds of journal records: the applied message ids, one
//! record each (the part that grows with every message), and the rest as
//! one small record rewritten when it changes.
//!
//! A shipment is recorded with its effect (what was received, the receipt
//! owed) in one save, before the donor is told it arrived: a donor that
//! sends it again after a crash gets a duplicate answer, never a second
//! count.
//!
//! The record layout is every small machine's (`crate::persist::small`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::Clock;
use counterpart_domain::journal::{Change, Records};
use counterpart_domain::scenario::Scenario;
use pairing_proto::v1::{Ack, PlanProposal};
use serde::{Deserialize, Serialize};

use crate::header::HeaderFactory;
use crate::persist::{small, Persistent};

use super::{Case, Demobilisation, ReceivedShipment, Recipient};

/// Borrowed when saving, owned when restoring.
#[derive(Serialize, Deserialize)]
struct Saved<'a> {
    scenario: Cow<'a, str>,
    city_id: Cow<'a, str>,
    clock: Option<Clock>,
    requests_made: u32,
    case: Cow<'a, Option<Case>>,
    earlier_case_ids: Cow<'a, [String]>,
    shipments: Cow<'a, BTreeMap<String, ReceivedShipment>>,
    proposals: Cow<'a, BTreeMap<String, PlanProposal>>,
}

pub use crate::persist::small::{APPLIED as APPLIED_KIND, LEGACY_KIND};

/// The kind of the city's state record.
pub const STATE_KIND: &str = "city";

impl Persistent for Recipient {
    /// The state record if it differs from what was written last, and the
    /// applied ids recorded or forgotten since.
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        let state = self.state_bytes()?;
        small::take_changes(STATE_KIND, &mut self.last_written, state, &mut self.applied)
    }

    /// Nothing piles up unsaved: the state's record is compared whole
    /// and the applied ids keep two numbers.
    fn discard_changes(&mut self) {}

    fn records(&self) -> Result<Records, String> {
        small::records(STATE_KIND, self.state_bytes()?, &self.applied)
    }
}

impl Recipient {
    /// The city's state but for its applied message ids, as one record.
    pub fn state_bytes(&self) -> Result<Vec<u8>, String> {
        let saved = Saved {
            scenario: Cow::Borrowed(&self.scenario.name),
            city_id: Cow::Borrowed(&self.city().id),
            clock: self.clock,
            requests_made: self.requests_made,
            case: Cow::Borrowed(&self.case),
            earlier_case_ids: Cow::Borrowed(&self.earlier_case_ids),
            shipments: Cow::Borrowed(&self.shipments),
            proposals: Cow::Borrowed(&self.proposals),
        };
        serde_json::to_vec(&saved).map_err(|e| format!("city state: {e}"))
    }
}

impl Recipient {
    /// The city `records` describe, for `scenario`, stamping new messages
    /// with `headers`.
    pub fn restore(
        scenario: Arc<Scenario>,
        headers: Arc<HeaderFactory>,
        records: &Records,
    ) -> Result<Recipient, String> {
        let (saved, applied): (Saved<'static>, AppliedIds<Ack>) = small::read(records, STATE_KIND)?;
        if saved.scenario != scenario.name || saved.city_id != headers.node_id() {
            return Err(format!(
                "city state: saved for {:?} in scenario {:?}, not {:?} in {:?}",
                saved.city_id,
                saved.scenario,
                headers.node_id(),
                scenario.name
            ));
        }
        let mut city = Recipient::new(scenario, &saved.city_id, headers)?;
        city.clock = saved.clock;
        city.requests_made = saved.requests_made;
        city.case = saved.case.into_owned();
        city.earlier_case_ids = saved.earlier_case_ids.into_owned();
        city.shipments = saved.shipments.into_owned();
        city.proposals = saved.proposals.into_owned();
        city.applied = applied;
        city.resume_in_flight();
        Ok(city)
    }

    /// Every send whose outcome was lost with the old process is due again.
    fn resume_in_flight(&mut self) {
        for shipment in self.shipments.values_mut() {
            shipment.receipt.resume();
        }
        let Some(case) = self.case.as_mut() else {
            return;
        };
        case.request.resume();
        case.demobilisation =
            match std::mem::replace(&mut case.demobilisation, Demobilisation::NotYet) {
                // The report's outcome will never come: make a fresh one.
                Demobilisation::ReportSent { .. } => Demobilisation::NotYet,
                Demobilisation::Requested(mut request) => {
                    request.resume();
                    Demobilisation::Requested(request)
                }
                other => other,
            };
    }
}
