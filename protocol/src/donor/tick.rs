//! What the donor sends as scenario time passes (steps 3, 8, 9, 12, 17), and
//! what it learns from each send's outcome.

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::Rules;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{CapacityReport, MessageHeader, Shipment, SupervisoryReport};

use super::assignment::{AssignmentState, CargoLine, ShipmentState, MAX_SHIPMENTS_PER_ASSIGNMENT};
use super::outbound::{Outbound, OutboundKey};
use super::planner::{next_batch, Pool, Quantities};
use super::Donor;
use crate::header::HeaderFactory;
use crate::outbox::Delivery;
use crate::RoundOutcome;
use counterpart_domain::effort::EffortModel;

/// What every step of a tick reads.
struct Tick<'a> {
    now: ScenarioTime,
    rules: &'a Rules,
    unit_cost_cny: &'a BTreeMap<ResourceType, i64>,
    headers: &'a HeaderFactory,
    province_id: &'a str,
    outbreak_level: i32,
}

impl Donor {
    /// Everything to send at `now`. Does nothing before the clock has
    /// started or before scenario time 0.
    pub fn on_tick(&mut self, now: ScenarioTime) -> Vec<Outbound> {
        self.last_tick_changed = false;
        if self.clock.is_none() || now.0 < 0 {
            return Vec::new();
        }
        let level = self
            .province
            .outbreak_level_at(self.scenario.start_date, now);
        let level_changed = self.outbreak_level != Some(level);
        if level_changed {
            tracing::info!(level, "own outbreak level");
            self.outbreak_level = Some(level);
            self.capacity_changed();
        }
        let tick = Tick {
            now,
            rules: &self.scenario.rules,
            unit_cost_cny: &self.scenario.unit_cost_cny,
            headers: &self.headers,
            province_id: &self.province.id,
            outbreak_level: level,
        };
        let mut out = Vec::new();
        let mut pool_changed = false;
        for a in self.assignments.values_mut().filter(|a| !a.is_closed()) {
            if a.acknowledgement_delivery.take_if_due(now) {
                out.push(Outbound::Acknowledgement(a.acknowledgement.clone()));
            }
            pool_changed |= depart_if_due(a, &mut self.pool, &tick);
            deliver_arrived(a, &tick, &mut out);
            report_if_due(a, &tick, &mut out);
            pool_changed |= come_home_if_done(a, &mut self.pool, &tick);
            if let Some((report, delivery)) = &mut a.final_report {
                if delivery.take_if_due(now) {
                    out.push(Outbound::Report {
                        assignment_id: a.assignment_id.clone(),
                        report: report.clone(),
                    });
                }
            }
        }
        if pool_changed {
            self.capacity_changed();
        }
        if let Some(capacity) = self.capacity_due(now) {
            out.push(capacity);
        }
        // A tick changes state when it sends, when a shipment leaves or teams
        // come home (the pool), or when the outbreak level moves.
        self.last_tick_changed = !out.is_empty() || pool_changed || level_changed;
        out
    }

    /// Records how a round of a send ended. Shipments and acknowledgements
    /// that failed go out again on a later tick; a periodic report is not
    /// resent (the next one is cumulative).
    ///
    /// A refused round is retried like a transient one, as the province
    /// always did (it settled on "accepted or not"): a city that has not
    /// yet heard central's decision refuses its donors' shipments
    /// (`FAILED_PRECONDITION`, `PERMISSION_DENIED`), which a later round
    /// cures. So [`RoundOutcome::Refused`] settles as
    /// [`RoundOutcome::Transient`] here, and only the round bound
    /// ([`crate::RESEND`]) gives up.
    pub fn on_sent(&mut self, key: &OutboundKey, outcome: RoundOutcome, now: ScenarioTime) {
        let outcome = match outcome {
            RoundOutcome::Refused => RoundOutcome::Transient,
            other => other,
        };
        let accepted = outcome == RoundOutcome::Accepted;
        match key {
            OutboundKey::Capacity { revision } => {
                let c = &mut self.capacity;
                if accepted {
                    c.reported = c.reported.max(*revision);
                    c.delivery = if c.reported < c.revision {
                        Delivery::due()
                    } else {
                        Delivery::Done
                    };
                } else {
                    c.delivery
                        .settle(outcome, now, &format!("capacity-{revision}"));
                }
            }
            OutboundKey::Acknowledgement { assignment_id } => {
                let mobilisation_days = self.scenario.rules.mobilisation_days;
                let report_interval_days = self.scenario.rules.report_interval_days;
                let Some(a) = self.assignments.get_mut(assignment_id) else {
                    return;
                };
                a.acknowledgement_delivery
                    .settle(outcome, now, assignment_id);
                if accepted && a.acknowledged_at.is_none() {
                    // Step 9: shipments wait for central to have the acknowledgement.
                    a.acknowledged_at = Some(now);
                    a.next_departure_at = Some(now.plus_days(mobilisation_days));
                    a.next_report_at = Some(now.plus_days(report_interval_days));
                }
            }
            OutboundKey::Report {
                assignment_id,
                final_report: true,
            } => {
                let Some(a) = self.assignments.get_mut(assignment_id) else {
                    return;
                };
                if let Some((_, delivery)) = &mut a.final_report {
                    delivery.settle(outcome, now, &format!("final-{assignment_id}"));
                }
            }
            OutboundKey::Report {
                final_report: false,
                ..
            } => {}
            OutboundKey::Shipment {
                assignment_id,
                shipment_id,
            } => {
                let Some(a) = self.assignments.get_mut(assignment_id) else {
                    return;
                };
                if let Some(s) = a.shipment_mut(shipment_id) {
                    if s.delivery != Delivery::Done {
                        s.delivery.settle(outcome, now, shipment_id);
                    }
                    if s.delivery == Delivery::GaveUp {
                        tracing::error!(shipment = %shipment_id, "delivery abandoned");
                    }
                }
            }
        }
    }

    /// A capacity report, if central lacks the latest and one may go now.
    fn capacity_due(&mut self, now: ScenarioTime) -> Option<Outbound> {
        if self.capacity.reported >= self.capacity.revision
            || !self.capacity.delivery.take_if_due(now)
        {
            return None;
        }
        Some(Outbound::Capacity {
            revision: self.capacity.revision,
            report: CapacityReport {
                header: Some(self.header(now)),
                pools: self.pool.to_wire(),
                outbreak_level: self.outbreak_level.unwrap_or(self.province.outbreak_level),
            },
        })
    }
}

/// Step 9: the next shipment leaves when it is due, carrying the next batch.
/// Returns whether it drew from the pool.
fn depart_if_due(a: &mut AssignmentState, pool: &mut Pool, tick: &Tick) -> bool {
    let Some(due) = a.next_departure_at else {
        return false;
    };
    if a.is_standing_down() || tick.now < due || a.shipments.len() >= MAX_SHIPMENTS_PER_ASSIGNMENT {
        return false;
    }
    // The donor sends the share of the planned batch its effort allows;
    // what it holds back stays to ship (`remaining`) on later departures.
    let effort = a.effort(
        tick.now,
        tick.outbreak_level,
        a.cost_cny(tick.now, tick.unit_cost_cny),
    );
    let batch: Quantities = next_batch(&a.remaining(), &pool.totals(), a.shipments.len() as u32)
        .into_iter()
        .map(|(t, q)| (t, EffortModel::scale(q, effort)))
        .collect();
    if batch.is_empty() {
        // Nothing left to ship, or the pool is dry: wait for new targets
        // or returning teams, and leave at once when they come.
        return false;
    }
    let lines: Vec<CargoLine> = batch
        .into_iter()
        .map(|(t, q)| CargoLine {
            resource_type: t,
            quantity: q,
            contributed_by: pool.draw(t, q),
        })
        .collect();
    for line in lines
        .iter()
        .filter(|l| !l.resource_type.travels_with_team())
    {
        let unit = tick
            .unit_cost_cny
            .get(&line.resource_type)
            .copied()
            .unwrap_or(0);
        a.goods_cost_cny = a
            .goods_cost_cny
            .saturating_add(line.quantity.saturating_mul(unit));
    }
    let shipment_id = format!(
        "shp-{}-{}-{}",
        tick.province_id,
        a.case_id,
        a.shipments.len() + 1
    );
    tracing::debug!(shipment = %shipment_id, lines = lines.len(), "shipment departed");
    a.shipments.push(ShipmentState {
        shipment_id,
        departed_at: tick.now,
        arrives_at: tick.now.plus_days(tick.rules.transit_days),
        lines,
        message_id: None,
        delivery: Delivery::due(),
        receipt: None,
    });
    let next = due.plus_days(tick.rules.shipment_interval_days);
    a.next_departure_at = Some(if next > tick.now {
        next
    } else {
        tick.now.plus_days(tick.rules.shipment_interval_days)
    });
    true
}

/// Step 9: a shipment that has arrived is delivered to the city
/// (`DeliverShipment`), again after a failed round.
fn deliver_arrived(a: &mut AssignmentState, tick: &Tick, out: &mut Vec<Outbound>) {
    for s in a.shipments.iter_mut() {
        if s.receipt.is_some() || tick.now < s.arrives_at || !s.delivery.take_if_due(tick.now) {
            continue;
        }
        let message_id = s
            .message_id
            .get_or_insert_with(|| tick.headers.header(tick.now).message_id)
            .clone();
        out.push(Outbound::Shipment {
            endpoint: a.city_endpoint.clone(),
            shipment: Shipment {
                header: Some(MessageHeader {
                    message_id,
                    sender_id: tick.province_id.to_string(),
                    scenario_time_ms: tick.now.0,
                }),
                shipment_id: s.shipment_id.clone(),
                case_id: a.case_id.clone(),
                assignment_id: a.assignment_id.clone(),
                departed_at_ms: s.departed_at.0,
                lines: s.lines.iter().map(CargoLine::to_manifest).collect(),
            },
        });
    }
}

/// Step 12: a cumulative report every `report_interval_days` until the
/// final one.
fn report_if_due(a: &mut AssignmentState, tick: &Tick, out: &mut Vec<Outbound>) {
    let Some(due) = a.next_report_at else { return };
    if tick.now < due || a.final_report.is_some() {
        return;
    }
    let next = due.plus_days(tick.rules.report_interval_days);
    a.next_report_at = Some(if next > tick.now {
        next
    } else {
        tick.now.plus_days(tick.rules.report_interval_days)
    });
    out.push(Outbound::Report {
        assignment_id: a.assignment_id.clone(),
        report: supervisory_report(a, tick, false),
    });
}

/// Step 17: once standing down, with the acknowledgement settled and every
/// shipment receipted, the teams come home (back into the pool) and the
/// final report is made. Returns whether the pool changed.
fn come_home_if_done(a: &mut AssignmentState, pool: &mut Pool, tick: &Tick) -> bool {
    if !a.is_standing_down()
        || a.final_report.is_some()
        || !a.acknowledgement_delivery.is_settled()
        || !a.all_receipted()
    {
        return false;
    }
    a.returned_at = Some(tick.now);
    let mut returned = 0;
    for line in a.shipments.iter().flat_map(|s| &s.lines) {
        if line.resource_type.travels_with_team() {
            pool.give_back(line.resource_type, &line.contributed_by);
            returned += line.quantity;
        }
    }
    let report = supervisory_report(a, tick, true);
    debug_assert_eq!(report.personnel_deployed, 0);
    tracing::info!(assignment = %a.assignment_id, returned, "teams home; final report");
    a.final_report = Some((report, Delivery::due()));
    returned > 0
}

fn supervisory_report(a: &AssignmentState, tick: &Tick, final_report: bool) -> SupervisoryReport {
    SupervisoryReport {
        header: Some(tick.headers.header(tick.now)),
        case_id: a.case_id.clone(),
        shipments: a.shipment_records(),
        receipts: Vec::new(),
        situation: None,
        cost_cny: a.cost_cny(tick.now, tick.unit_cost_cny),
        outbreak_level: tick.outbreak_level,
        personnel_deployed: a.personnel_deployed(tick.now),
        r#final: final_report,
        messages_received: Default::default(),
        daily_tallies: Vec::new(),
    }
}
