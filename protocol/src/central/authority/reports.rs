//! Supervisory reports: both sides of a pairing report on a case; the
//! ledger merges their records and cross-checks shipped against received.

use std::collections::BTreeMap;

use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::checked_outbreak_level;
use counterpart_domain::tally;
use pairing_proto::v1::{
    Ack, DiscrepancyReason, MessageHeader, ReceiptRecord, Role, ShipmentRecord, SupervisoryReport,
};

use super::persist::kind;
use super::{Authority, Now};
use crate::central::case::{AssignmentStage, Step};
use crate::central::ledger::{ReceiptEntry, ShipmentEntry};

/// Records one report may carry (cumulative over a case's life).
const MAX_RECORDS: usize = 4_096;
/// Message kinds in `messages_received`: the protocol has 24, so this leaves
/// room for new ones without letting a report grow central's memory.
pub const MAX_MESSAGE_KINDS: usize = 64;
/// Longest message kind name (e.g. "AssignmentAcknowledgement").
pub const MAX_MESSAGE_KIND_LEN: usize = 64;

/// A report's records, checked and converted without central's state: its
/// service makes them before taking the lock every handler needs, so the
/// lock is held only for what needs the state (on the receipt path they
/// were about a quarter of the handler). Each keeps its own outcome and is
/// refused where the checks that need the state reach it, so a report with
/// several faults gets the refusal it got before.
#[derive(Debug)]
pub struct ReportRecords {
    shipments: Result<Vec<ShipmentEntry>, Refusal>,
    receipts: Result<Vec<ReceiptEntry>, Refusal>,
    tallies: Result<Vec<tally::Tally>, Refusal>,
}

impl ReportRecords {
    /// A donor's report carries shipments, a city's receipts and tallies:
    /// the other side's lists are empty and cost nothing to convert.
    pub fn of(msg: &SupervisoryReport) -> Self {
        let sender = msg.header.as_ref().map_or("", |h| h.sender_id.as_str());
        ReportRecords {
            shipments: shipment_entries(&msg.case_id, sender, &msg.shipments),
            receipts: receipt_entries(&msg.case_id, &msg.receipts),
            tallies: tally::from_wire(&msg.daily_tallies).map_err(Refusal::invalid_argument),
        }
    }
}

impl Authority {
    pub fn submit_report(&mut self, msg: &SupervisoryReport, now: Now) -> Result<Ack, Refusal> {
        self.submit_checked_report(msg, ReportRecords::of(msg), now)
    }

    /// [`Authority::submit_report`] with `records` made from `msg` beforehand
    /// ([`ReportRecords::of`]).
    pub fn submit_checked_report(
        &mut self,
        msg: &SupervisoryReport,
        records: ReportRecords,
        now: Now,
    ) -> Result<Ack, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.require_clock()?;
        validate::text("case_id", &msg.case_id)?;
        validate_counters(msg)?;
        let role = self
            .nodes
            .get(&header.sender_id)
            .map(|n| n.role)
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "header.sender_id: {:?} is not registered",
                    header.sender_id
                ))
            })?;
        let case = self.case_of(&msg.case_id)?;
        match role {
            Role::Province => {
                if !case.has_donor(&header.sender_id) {
                    return Err(Refusal::permission_denied(format!(
                        "case_id: {:?} has no assignment for {:?}",
                        msg.case_id, header.sender_id
                    )));
                }
                self.apply_donor_report(header, msg, records, now)?;
            }
            _ => {
                if case.city_id != header.sender_id {
                    return Err(Refusal::permission_denied(format!(
                        "case_id: {:?} belongs to {:?}, not {:?}",
                        msg.case_id, case.city_id, header.sender_id
                    )));
                }
                self.apply_city_report(header, msg, records, now)?;
            }
        }
        // Compared before copied: most reports repeat the counters.
        let known = self.node_messages.get(&header.sender_id);
        let same = known.is_some_and(|known| {
            known.len() == msg.messages_received.len()
                && (msg.messages_received.iter()).all(|(k, v)| known.get(k) == Some(v))
        });
        if !same {
            let counters: BTreeMap<String, u64> = (msg.messages_received.iter())
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            self.unsaved.mark(kind::NODE_MESSAGES, &header.sender_id);
            self.node_messages
                .insert(header.sender_id.clone(), counters);
        }
        Ok(self.remember(header))
    }

    fn apply_donor_report(
        &mut self,
        header: &MessageHeader,
        msg: &SupervisoryReport,
        records: ReportRecords,
        now: Now,
    ) -> Result<(), Refusal> {
        let province = header.sender_id.as_str();
        if !msg.daily_tallies.is_empty() {
            return Err(Refusal::invalid_argument(
                "daily_tallies: a city's field; a donor's report carries none",
            ));
        }
        let entries = records.shipments?;
        if !(0..=validate::MAX_FUNDS_CNY).contains(&msg.cost_cny) {
            return Err(Refusal::invalid_argument(format!(
                "cost_cny: {} is outside 0..={}",
                msg.cost_cny,
                validate::MAX_FUNDS_CNY
            )));
        }
        checked_outbreak_level("outbreak_level", msg.outbreak_level)
            .map_err(Refusal::invalid_argument)?;
        if !(0..=validate::MAX_PERSONNEL).contains(&msg.personnel_deployed) {
            return Err(Refusal::invalid_argument(format!(
                "personnel_deployed: {} is outside 0..={}",
                msg.personnel_deployed,
                validate::MAX_PERSONNEL
            )));
        }
        let new = self
            .ledger
            .record_shipments(entries)
            .map_err(|e| Refusal::invalid_argument(format!("shipments: {e}")))?;
        self.ledger
            .record_cost(&msg.case_id, province, msg.cost_cny);
        let t = now.scenario;
        // A report adds to the case's history; its record changes only
        // with a final report (below).
        self.unsaved.mark_events(&msg.case_id);
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.record_report(
            t,
            Some(province),
            format!(
                "{} shipments ({new} new), cost CNY {}",
                msg.shipments.len(),
                msg.cost_cny
            ),
        );
        if msg.r#final {
            let a = case
                .assignments
                .iter_mut()
                .find(|a| a.province_id == province)
                .expect("has_donor checked");
            if a.stage != AssignmentStage::Done {
                self.unsaved.mark(kind::CASE, &msg.case_id);
                a.stage = AssignmentStage::Done;
                case.record(
                    t,
                    Step::FinalReport,
                    Some(province),
                    "teams returned".into(),
                );
            }
        }
        if self.scenario.rules.must_release(msg.outbreak_level) {
            self.release_donor_everywhere(province, msg.outbreak_level, t);
        }
        Ok(())
    }

    fn apply_city_report(
        &mut self,
        header: &MessageHeader,
        msg: &SupervisoryReport,
        records: ReportRecords,
        now: Now,
    ) -> Result<(), Refusal> {
        let situation = *validate::situation("situation", msg.situation.as_ref())?;
        let entries = records.receipts?;
        let tallies = records.tallies?;
        let new = self
            .ledger
            .record_receipts(entries)
            .map_err(|e| Refusal::invalid_argument(format!("receipts: {e}")))?;
        // A report adds to the case's history; the retarget check marks
        // the case's record if it raises the targets.
        self.unsaved.mark_events(&msg.case_id);
        let case = self.cases.get_mut(&msg.case_id).expect("checked above");
        case.record_report(
            now.scenario,
            None,
            format!(
                "{} active, {} receipts ({new} new)",
                situation.active_cases,
                msg.receipts.len()
            ),
        );
        self.record_tallies(&header.sender_id, tallies);
        self.retarget_if_outgrown(&msg.case_id, &situation, now.scenario);
        Ok(())
    }
}

/// The node's message counters: a bounded map of short kind names.
fn validate_counters(msg: &SupervisoryReport) -> Result<(), Refusal> {
    validate::list_len(
        "messages_received",
        msg.messages_received.len(),
        MAX_MESSAGE_KINDS,
    )?;
    for kind in msg.messages_received.keys() {
        if kind.is_empty() || kind.len() > MAX_MESSAGE_KIND_LEN {
            return Err(Refusal::invalid_argument(format!(
                "messages_received: a kind of {} bytes, outside 1..={MAX_MESSAGE_KIND_LEN}",
                kind.len()
            )));
        }
    }
    Ok(())
}

fn shipment_entries(
    case_id: &str,
    province: &str,
    records: &[ShipmentRecord],
) -> Result<Vec<ShipmentEntry>, Refusal> {
    validate::list_len("shipments", records.len(), MAX_RECORDS)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            validate::text(format_args!("shipments[{i}].shipment_id"), &r.shipment_id)?;
            validate::scenario_time(
                format_args!("shipments[{i}].departed_at_ms"),
                r.departed_at_ms,
            )?;
            Ok(ShipmentEntry {
                shipment_id: r.shipment_id.clone(),
                case_id: case_id.to_string(),
                province_id: province.to_string(),
                departed_at_ms: r.departed_at_ms,
                lines: validate::quantities(format_args!("shipments[{i}].lines"), &r.lines)?,
            })
        })
        .collect()
}

fn receipt_entries(case_id: &str, records: &[ReceiptRecord]) -> Result<Vec<ReceiptEntry>, Refusal> {
    validate::list_len("receipts", records.len(), MAX_RECORDS)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            validate::text(format_args!("receipts[{i}].shipment_id"), &r.shipment_id)?;
            validate::scenario_time(
                format_args!("receipts[{i}].received_at_ms"),
                r.received_at_ms,
            )?;
            let mut discrepancy = Quantities::new();
            validate::list_len(
                format_args!("receipts[{i}].discrepancies"),
                r.discrepancies.len(),
                validate::MAX_LINES,
            )?;
            for (k, d) in r.discrepancies.iter().enumerate() {
                let field = format_args!("receipts[{i}].discrepancies[{k}]");
                let t = validate::resource_type(
                    format_args!("{field}.resource_type"),
                    &d.resource_type,
                )?;
                let q = validate::quantity(format_args!("{field}.quantity"), t, d.quantity)?;
                let reason = DiscrepancyReason::try_from(d.reason)
                    .ok()
                    .filter(|r| *r != DiscrepancyReason::Unspecified);
                if reason.is_none() {
                    return Err(Refusal::invalid_argument(format!(
                        "{field}.reason: {} is not a known reason (unspecified is refused)",
                        d.reason
                    )));
                }
                *discrepancy.entry(t).or_insert(0) += q;
            }
            Ok(ReceiptEntry {
                shipment_id: r.shipment_id.clone(),
                case_id: case_id.to_string(),
                received_at_ms: r.received_at_ms,
                received: validate::quantities(
                    format_args!("receipts[{i}].received"),
                    &r.received,
                )?,
                discrepancy,
            })
        })
        .collect()
}
