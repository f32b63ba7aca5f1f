//! The donor's durable form: its outbox of shipments and everything else it
//! owes or remembers, without the scenario (read from its file again) and
//! the header factory (new messages of a restarted node get a new boot
//! stamp; shipments keep the message ids they were first sent with).
//!
//! A message that was in flight when the node stopped has an unknown
//! outcome: the restored donor sends it again, and the receiver, which
//! applies each id once, answers a duplicate.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::clock::Clock;
use counterpart_domain::journal::{Change, Records};
use counterpart_domain::scenario::Scenario;
use serde::{Deserialize, Serialize};

use super::assignment::AssignmentState;
use super::planner::Pool;
use super::{CapacityReporting, Donor};
use crate::header::HeaderFactory;
#[cfg(feature = "planted-bugs")]
use crate::outbox::Delivery;
use crate::persist::small as journal;
use crate::persist::Persistent;

/// Borrowed when saving, owned when restoring.
#[derive(Serialize, Deserialize)]
struct Saved<'a> {
    scenario: Cow<'a, str>,
    province_id: Cow<'a, str>,
    clock: Option<Clock>,
    pool: Cow<'a, Pool>,
    outbreak_level: Option<i32>,
    capacity: Cow<'a, CapacityReporting>,
    assignments: Cow<'a, BTreeMap<String, AssignmentState>>,
}

/// The kinds of the donor's records: its applied message ids one record
/// each (the part that grows with every message), the rest as one small
/// record rewritten when it changes.
const STATE: &str = "donor";

impl Persistent for Donor {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        let state = self.state_bytes()?;
        journal::take_changes(STATE, &mut self.last_written, state, &mut self.applied)
    }

    /// Nothing piles up unsaved: the state's record is compared whole
    /// and the applied ids keep two numbers.
    fn discard_changes(&mut self) {}

    fn records(&self) -> Result<Records, String> {
        journal::records(STATE, self.state_bytes()?, &self.applied)
    }
}

impl Donor {
    /// The donor's state but for its applied message ids, as one record.
    pub fn state_bytes(&self) -> Result<Vec<u8>, String> {
        let saved = Saved {
            scenario: Cow::Borrowed(&self.scenario.name),
            province_id: Cow::Borrowed(&self.province.id),
            clock: self.clock,
            pool: Cow::Borrowed(&self.pool),
            outbreak_level: self.outbreak_level,
            capacity: Cow::Borrowed(&self.capacity),
            assignments: Cow::Borrowed(&self.assignments),
        };
        serde_json::to_vec(&saved).map_err(|e| format!("donor state: {e}"))
    }
}

impl Donor {
    /// The donor `records` describe, for `scenario`, stamping new messages
    /// with `headers`.
    pub fn restore(
        scenario: Arc<Scenario>,
        headers: Arc<HeaderFactory>,
        records: &Records,
    ) -> Result<Donor, String> {
        let (saved, applied): (Saved<'static>, _) = journal::read(records, STATE)?;
        if saved.scenario != scenario.name || saved.province_id != headers.node_id() {
            return Err(format!(
                "donor state: saved for {:?} in scenario {:?}, not {:?} in {:?}",
                saved.province_id,
                saved.scenario,
                headers.node_id(),
                scenario.name
            ));
        }
        let mut donor = Donor::new(scenario, &saved.province_id, headers)?;
        donor.clock = saved.clock;
        donor.applied = applied;
        donor.pool = saved.pool.into_owned();
        donor.outbreak_level = saved.outbreak_level;
        donor.capacity = saved.capacity.into_owned();
        donor.assignments = saved.assignments.into_owned();
        donor.resume_in_flight();
        // Planted bug, test builds only: the restored donor believes it
        // delivered everything it still owed.
        #[cfg(feature = "planted-bugs")]
        if crate::planted::planted(crate::planted::Bug::DonorForgetsOutboxOnRestart) {
            donor.forget_outbox();
        }
        Ok(donor)
    }

    /// Every send whose outcome was lost with the old process is due again.
    fn resume_in_flight(&mut self) {
        self.capacity.delivery.resume();
        for a in self.assignments.values_mut() {
            a.acknowledgement_delivery.resume();
            for s in &mut a.shipments {
                s.delivery.resume();
            }
            if let Some((_, delivery)) = &mut a.final_report {
                delivery.resume();
            }
        }
    }
}

/// Planted bug, test builds only
/// ([`Bug::DonorForgetsOutboxOnRestart`](crate::planted::Bug)).
#[cfg(feature = "planted-bugs")]
impl Donor {
    /// Marks every message the donor still owed (due, or in flight when it
    /// stopped) as delivered: shipments to the city, acknowledgements and
    /// final reports to central, and the capacity report (sent again only
    /// when the pool or the outbreak level next changes). Nothing is
    /// removed from the state: the restored machine believes each got
    /// through, so it never sends them, and its next save writes them down
    /// as done, as a donor with this bug would. What it gave up on stays
    /// given up.
    fn forget_outbox(&mut self) {
        fn forget(delivery: &mut Delivery) {
            if !delivery.is_settled() {
                *delivery = Delivery::Done;
            }
        }
        forget(&mut self.capacity.delivery);
        for a in self.assignments.values_mut() {
            forget(&mut a.acknowledgement_delivery);
            for s in &mut a.shipments {
                forget(&mut s.delivery);
            }
            if let Some((_, delivery)) = &mut a.final_report {
                forget(delivery);
            }
        }
    }
}
