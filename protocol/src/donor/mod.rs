//! The donor province's protocol logic, free of I/O: messages and scenario
//! time in, acknowledgements and messages to send out. The province node
//! (`province-node`) puts it on the network: its gRPC service turns each
//! [`Refusal`](crate::Refusal) into a status, its driver sends what
//! [`Donor::on_tick`] returns and reports each round's outcome back.
//!
//! - [`Donor`] (this file): the state and read-only views of it.
//! - `inbound`: central's messages (clock, assignment, evaluation,
//!   adjustment, demobilisation) and the city's receipts.
//! - `negotiation`: the city's needs updates and the donor's plan proposals.
//! - `tick`: what to send at a given time, and the outcome of each send.
//! - [`assignment`]: the donor's record of one assignment.
//! - [`planner`]: the pool per prefecture and what each shipment carries.
//! - [`outbound`]: the messages the machine wants sent, and their keys.
//! - `persist`: the donor's durable form, saved after every change as a
//!   small machine's records (`crate::persist::small`).
//! - `books`: what the donor itself recorded shipping, for reconciliation.
//! - `checks`: validation beyond [`crate::validate`].
//!
//! Whether an owed message got through is [`crate::outbox::Delivery`], the
//! one outbox rule of every role; what was applied already is
//! [`crate::inbox::Inbox`].

pub mod assignment;
mod books;
mod checks;
mod inbound;
mod negotiation;
pub mod outbound;
mod persist;
pub mod planner;
mod tick;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use counterpart_domain::applied::AppliedIds;
use counterpart_domain::clock::{Clock, ScenarioTime};
use counterpart_domain::scenario::{Province, Scenario};
use pairing_proto::v1::{Ack, MessageHeader};

use self::assignment::AssignmentState;
use self::planner::Pool;
use crate::header::HeaderFactory;
use crate::inbox::Inbox;
use crate::outbox::Delivery;

pub use self::checks::CENTRAL_ID;
/// The kind of record a previous release's (0.1.0) whole-state store
/// loads as; the donor reads it on restore. Must stay node-kit's
/// `durable::LEGACY_KIND` (province-node tests that it does).
pub use crate::persist::small::LEGACY_KIND;

/// Most assignments one donor takes on; far above any scenario (a province
/// serves a handful of cases), it bounds memory against a faulty central.
pub const MAX_ASSIGNMENTS: usize = 256;

/// Whether central has the province's latest capacity.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct CapacityReporting {
    /// Counts changes of pool or outbreak level.
    revision: u64,
    /// The latest revision central accepted.
    reported: u64,
    delivery: Delivery,
}

/// The donor province's state machine.
#[derive(Debug)]
pub struct Donor {
    scenario: Arc<Scenario>,
    province: Province,
    headers: Arc<HeaderFactory>,
    clock: Option<Clock>,
    applied: AppliedIds<Ack>,
    /// What the journal holds of the state beside the applied ids.
    last_written: counterpart_domain::journal::LastWritten,
    pool: Pool,
    /// The outbreak level last seen on a tick (`None` before the first).
    outbreak_level: Option<i32>,
    capacity: CapacityReporting,
    assignments: BTreeMap<String, AssignmentState>,
    /// Whether the last tick changed anything durable (not saved itself).
    last_tick_changed: bool,
}

impl Donor {
    /// A donor for `province_id`, with the pool its prefectures contribute.
    /// `headers` stamps outgoing messages (its ids carry the boot stamp the
    /// caller gave it: `node_kit::header::this_life` in a node); the node
    /// shares it with whatever else sends as this province, so no two
    /// messages get the same id.
    pub fn new(
        scenario: Arc<Scenario>,
        province_id: &str,
        headers: Arc<HeaderFactory>,
    ) -> Result<Donor, String> {
        let province = scenario
            .province(province_id)
            .ok_or_else(|| {
                format!(
                    "province {province_id:?} is not in scenario {:?}",
                    scenario.name
                )
            })?
            .clone();
        assert_eq!(
            headers.node_id(),
            province_id,
            "headers must name this province"
        );
        Ok(Donor {
            pool: Pool::of_province(&province),
            province,
            scenario,
            headers,
            clock: None,
            applied: AppliedIds::default(),
            last_written: Default::default(),
            outbreak_level: None,
            capacity: CapacityReporting {
                revision: 0,
                reported: 0,
                delivery: Delivery::Done,
            },
            assignments: BTreeMap::new(),
            last_tick_changed: false,
        })
    }

    /// Whether the last `on_tick` changed anything that must be saved; a
    /// tick that found nothing due did not.
    pub fn last_tick_changed(&self) -> bool {
        self.last_tick_changed
    }

    pub fn province_id(&self) -> &str {
        &self.province.id
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The scenario clock, once central has started it.
    pub fn clock(&self) -> Option<Clock> {
        self.clock
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn assignment(&self, assignment_id: &str) -> Option<&AssignmentState> {
        self.assignments.get(assignment_id)
    }

    pub fn assignments(&self) -> impl Iterator<Item = &AssignmentState> {
        self.assignments.values()
    }

    /// The outbreak level last reported on a tick.
    pub fn outbreak_level(&self) -> Option<i32> {
        self.outbreak_level
    }

    /// The answer to a message id already applied: a resend changes nothing.
    fn replay(&self, header: &MessageHeader) -> Option<Ack> {
        self.applied
            .answered(header)
            .map(|_| Ack { duplicate: true })
    }

    /// Remembers that `header`'s message was applied with `ack`.
    fn remember(&mut self, header: &MessageHeader, ack: Ack) -> Ack {
        self.applied.remember(header, ack);
        ack
    }

    /// The pool or the outbreak level changed: central must hear of it.
    fn capacity_changed(&mut self) {
        self.capacity.revision += 1;
        self.capacity.delivery.rearm();
    }

    /// A header for a message sent at `now` (never before scenario time 0,
    /// which receivers refuse).
    fn header(&self, now: ScenarioTime) -> MessageHeader {
        self.headers.header(ScenarioTime(now.0.max(0)))
    }
}
