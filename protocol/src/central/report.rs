//! The run report: what happened to every case, as JSON a person can read
//! and a program can check. Built from the authority's records and ledger;
//! `pairctl` adds the processes it started (`nodes`).

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::quantities::Quantities;
use serde::Serialize;

use crate::central::authority::Authority;
use crate::central::case::{Case, CaseEvent, Step};

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    /// The policy central acted under (docs/POLICY.md).
    pub policy: String,
    pub mode: String,
    pub day_ms: i64,
    /// The run's seed: every random draw of the protocol comes from it.
    pub seed: u64,
    pub clock: ClockReport,
    pub start_date: String,
    pub finished_at: String,
    pub pairings: Vec<PairingRow>,
    pub cases: Vec<CaseReport>,
    pub ledger: Vec<LedgerRow>,
    pub costs: BTreeMap<String, i64>,
    pub messages: BTreeMap<String, u64>,
    /// The protocol version each node registered with.
    pub protocol_versions: BTreeMap<String, String>,
    /// What the aid that arrived did for each city's patients.
    pub outcomes: Vec<crate::central::outcomes::CityOutcome>,
}

/// How the scenario clock ran.
#[derive(Debug, Serialize)]
pub struct ClockReport {
    /// "lockstep" or "wall".
    pub mode: String,
    /// Lockstep: scenario minutes per step.
    pub step_minutes: Option<u32>,
    /// Wall ms per scenario day: the wall clock's speed, or lockstep's
    /// pace (0: as fast as the nodes go).
    pub day_ms: i64,
    /// Lockstep: the scenario time granted last.
    pub granted_until: Option<String>,
    /// Lockstep: why the clock stopped before the run finished.
    pub stalled: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PairingRow {
    pub city: String,
    pub provinces: Vec<String>,
    pub mode: String,
}

#[derive(Debug, Serialize)]
pub struct CaseReport {
    pub case_id: String,
    pub city: String,
    pub provinces: Vec<String>,
    pub status: String,
    pub severity: String,
    pub reason: String,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub first_arrival_at: Option<String>,
    /// Each donor's first shipment, as the donor reported it and the city
    /// its receipt (Jiangsu's team of 310 to Huangshi, in hubei-2020).
    pub first_shipments: Vec<FirstShipment>,
    pub closed_at: Option<String>,
    pub decision_latency_ms: Option<i64>,
    pub targets: BTreeMap<String, i64>,
    pub shipped: BTreeMap<String, i64>,
    pub received: BTreeMap<String, i64>,
    pub discrepancy: BTreeMap<String, i64>,
    pub evaluations: Vec<EvaluationRow>,
    pub events: Vec<EventRow>,
}

/// A donor's first shipment to a case and what the city received of it.
#[derive(Debug, Serialize)]
pub struct FirstShipment {
    pub province: String,
    pub shipment_id: String,
    pub departed_at: String,
    pub received_at: Option<String>,
    pub lines: BTreeMap<String, i64>,
    pub received: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize)]
pub struct EvaluationRow {
    pub province: String,
    pub kind: String,
    pub delivered_fraction: f64,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct EventRow {
    pub at: String,
    pub at_ms: i64,
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct LedgerRow {
    pub case_id: String,
    pub city: String,
    pub province: String,
    pub resource_type: String,
    pub target: i64,
    pub shipped: i64,
    pub received: i64,
    pub discrepancy: i64,
    pub in_transit: i64,
}

fn clock_report(authority: &Authority) -> ClockReport {
    let plan = authority.clock_plan();
    let clock = authority.clock();
    let lockstep = clock.map_or(plan.step_minutes.is_some(), |c| c.is_lockstep());
    let start = authority.scenario().start_date;
    ClockReport {
        mode: if lockstep { "lockstep" } else { "wall" }.to_string(),
        step_minutes: plan.step_minutes.filter(|_| lockstep),
        day_ms: if lockstep {
            plan.pace_day_ms
        } else {
            authority.day_ms()
        },
        granted_until: clock.and_then(|c| c.granted).map(|t| t.format(start)),
        stalled: authority.stalled().map(str::to_string),
    }
}

/// Builds the report as of scenario time `now`.
pub fn build(
    authority: &Authority,
    now: ScenarioTime,
    messages: BTreeMap<String, u64>,
) -> RunReport {
    let mut report = build_operation(authority, now, messages);
    report.outcomes = crate::central::outcomes::all(
        authority,
        report.seed,
        authority.finished_at().unwrap_or(now),
    );
    report
}

/// The report as [`build`] makes it but with no `outcomes`: the operation
/// as the dashboard's watch follows it. The outcome model runs every
/// city's course day by day, a fifth or more of a whole report's time,
/// and a watch never sends it.
pub fn build_operation(
    authority: &Authority,
    now: ScenarioTime,
    messages: BTreeMap<String, u64>,
) -> RunReport {
    let start = authority.scenario().start_date;
    let fmt = |t: ScenarioTime| t.format(start);
    let table = authority.pairings();
    let ledger = authority.ledger_reply();
    let seed = authority
        .clock()
        .map_or(authority.clock_plan().seed, |c| c.seed);
    RunReport {
        scenario: authority.scenario().name.clone(),
        policy: authority.policy().to_string(),
        mode: authority.mode().as_str().to_string(),
        day_ms: authority.day_ms(),
        seed,
        clock: clock_report(authority),
        start_date: start.format("%Y-%m-%d").to_string(),
        finished_at: fmt(authority.finished_at().unwrap_or(now)),
        pairings: table
            .pairings
            .iter()
            .map(|p| PairingRow {
                city: p.city_id.clone(),
                provinces: p.donors.iter().map(|d| d.province_id.clone()).collect(),
                mode: p.mode.clone(),
            })
            .collect(),
        cases: authority
            .cases()
            .map(|c| case_report(authority, c))
            .collect(),
        ledger: ledger
            .lines
            .into_iter()
            .map(|l| LedgerRow {
                case_id: l.case_id,
                city: l.city_id,
                province: l.province_id,
                resource_type: l.resource_type,
                target: l.target,
                shipped: l.shipped,
                received: l.received,
                discrepancy: l.discrepancy,
                in_transit: l.in_transit,
            })
            .collect(),
        costs: ledger
            .costs
            .into_iter()
            .map(|c| (c.province_id, c.cost_cny))
            .collect(),
        messages,
        protocol_versions: authority.protocol_versions(),
        outcomes: Vec::new(),
    }
}

fn first_shipment(authority: &Authority, case_id: &str, province: &str) -> Option<FirstShipment> {
    let start = authority.scenario().start_date;
    let ledger = authority.ledger();
    let shipment = *ledger.shipments_of(case_id, province).first()?;
    let receipt = ledger.receipt_for(&shipment.shipment_id);
    Some(FirstShipment {
        province: province.to_string(),
        shipment_id: shipment.shipment_id.clone(),
        departed_at: ScenarioTime(shipment.departed_at_ms).format(start),
        received_at: receipt.map(|r| ScenarioTime(r.received_at_ms).format(start)),
        lines: by_name(&shipment.lines),
        received: receipt.map(|r| by_name(&r.received)).unwrap_or_default(),
    })
}

fn case_report(authority: &Authority, case: &Case) -> CaseReport {
    let start = authority.scenario().start_date;
    let fmt = |t: ScenarioTime| t.format(start);
    let ledger = authority.ledger();
    let (shipped, received) = ledger.case_totals(&case.case_id);
    let mut discrepancy: Quantities = Quantities::new();
    for a in &case.assignments {
        for (t, q) in ledger
            .progress(&case.case_id, &a.province_id, 0.0)
            .discrepancy
        {
            *discrepancy.entry(t).or_insert(0) += q;
        }
    }
    CaseReport {
        case_id: case.case_id.clone(),
        city: case.city_id.clone(),
        provinces: case
            .assignments
            .iter()
            .map(|a| a.province_id.clone())
            .collect(),
        status: case.stage.as_str().to_string(),
        severity: case
            .severity
            .as_str_name()
            .trim_start_matches("SEVERITY_")
            .to_lowercase(),
        reason: case.reason.clone(),
        requested_at: fmt(case.requested_at),
        decided_at: case.decided_at.map(fmt),
        first_arrival_at: ledger
            .first_arrival_ms(&case.case_id)
            .map(|ms| fmt(ScenarioTime(ms))),
        first_shipments: case
            .assignments
            .iter()
            .filter_map(|a| first_shipment(authority, &case.case_id, &a.province_id))
            .collect(),
        closed_at: case.closed_at.map(fmt),
        decision_latency_ms: case.decided_unix_ms.map(|d| d - case.requested_unix_ms),
        targets: by_name(&case.targets),
        shipped: by_name(&shipped),
        received: by_name(&received),
        discrepancy: by_name(&discrepancy),
        evaluations: case
            .evaluations
            .iter()
            .map(|e| EvaluationRow {
                province: e.province_id.clone(),
                kind: e
                    .kind
                    .as_str_name()
                    .trim_start_matches("EVALUATION_KIND_")
                    .to_lowercase(),
                delivered_fraction: e.delivered_fraction,
                reason: e.reason.clone(),
                at: fmt(e.at),
            })
            .collect(),
        events: timeline(authority, case)
            .into_iter()
            .map(|e| EventRow {
                at: fmt(e.at),
                at_ms: e.at.0,
                step: e.step.as_str().to_string(),
                province: e.province,
                detail: e.detail,
            })
            .collect(),
    }
}

/// The case's events, with shipments and receipts from the ledger placed at
/// their own scenario times, in time order (ties in protocol order).
pub fn timeline(authority: &Authority, case: &Case) -> Vec<CaseEvent> {
    let ledger = authority.ledger();
    let mut events = case.events.clone();
    for a in &case.assignments {
        for s in ledger.shipments_of(&case.case_id, &a.province_id) {
            events.push(CaseEvent {
                at: ScenarioTime(s.departed_at_ms),
                step: Step::Shipped,
                province: Some(a.province_id.clone()),
                detail: s.shipment_id.clone(),
            });
            if let Some(r) = ledger.receipt_for(&s.shipment_id) {
                events.push(CaseEvent {
                    at: ScenarioTime(r.received_at_ms),
                    step: Step::Received,
                    province: Some(a.province_id.clone()),
                    detail: s.shipment_id.clone(),
                });
            }
        }
    }
    events.sort_by_key(|e| (e.at, e.step));
    events
}

fn by_name(map: &Quantities) -> BTreeMap<String, i64> {
    map.iter()
        .map(|(t, q)| (t.as_str().to_string(), *q))
        .collect()
}
