//! Unit tests of the donor state machine: messages and scenario times in,
//! replies and outbound messages checked.

mod central;
mod negotiation;
mod persist;
mod planning;
// The planted bug of the donor's restore (`crate::planted`).
#[cfg(feature = "planted-bugs")]
mod planted;
mod receipts;
mod stand_down;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::{
    City, CurvePoint, OutbreakEvent, PairingMode, Prefecture, Province, Rules, Scenario,
};
use pairing_proto::resource::ResourceType::{self, *};
use pairing_proto::v1::{
    Assignment, ClockStart, MessageHeader, Receipt, ResourceQuantity, ScenarioClock, Shipment,
};

use super::Donor;
use crate::donor::outbound::Outbound;
use crate::header::HeaderFactory;
pub(super) use crate::RoundOutcome;

/// The boot stamp of the donor's headers in these tests: any number will
/// do, the machine never reads a clock.
pub(super) const BOOT: i64 = 1_700_000_000_000;

pub(super) const CASE: &str = "case-huangshi-1";
pub(super) const ASSIGNMENT: &str = "asg-case-huangshi-1-jiangsu";

pub(super) fn date(d: &str) -> NaiveDate {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
}

pub(super) fn day(d: f64) -> ScenarioTime {
    ScenarioTime::from_days(d)
}

fn prefecture(name: &str, pool: &[(ResourceType, i64)]) -> Prefecture {
    Prefecture {
        name: name.into(),
        pool: pool.iter().copied().collect(),
    }
}

fn city(id: &str) -> City {
    City {
        id: id.into(),
        name: id.into(),
        name_zh: String::new(),
        population_millions: 2.5,
        beds: 1000,
        local_doctors: 300,
        local_nurses: 600,
        final_deaths: None,
        historical_donors: vec![],
        curve: vec![CurvePoint {
            date: date("2020-02-07"),
            confirmed: 800,
            source: None,
        }],
        location: None,
        estimated: vec![],
    }
}

/// Jiangsu, three prefectures, an outbreak of its own from day 13; the
/// rules: mobilisation 1 day, a shipment every 2 days, transit half a day,
/// a report every day.
pub(super) fn scenario() -> Scenario {
    Scenario {
        name: "test".into(),
        description: String::new(),
        start_date: date("2020-02-07"),
        end_date: date("2020-04-30"),
        rules: Rules {
            pairing_mode: PairingMode::Historical,
            decision_window_days: 3.0,
            report_interval_days: 1.0,
            evaluation_interval_days: 3.0,
            quiet_days_to_demobilise: 14,
            max_outbreak_level: 2,
            intensity_cap: 1.5,
            supervision: true,
            recovery_days: 14.0,
            severe_fraction: 0.15,
            critical_fraction: 0.05,
            request_threshold: 0.8,
            transit_days: 0.5,
            transit_loss_rate: 0.01,
            mobilisation_days: 1.0,
            shipment_interval_days: 2.0,
        },
        needs_per_active_case: BTreeMap::from([(Doctor, 0.25), (Nurse, 0.5)]),
        unit_cost_cny: BTreeMap::from([(Doctor, 1000), (Nurse, 600), (MaskN95, 5), (FundsCny, 1)]),
        cities: vec![city("huangshi"), city("shiyan")],
        provinces: vec![Province {
            id: "jiangsu".into(),
            name: "Jiangsu".into(),
            outbreak_level: 0,
            outbreak_events: vec![OutbreakEvent {
                date: date("2020-02-20"),
                level: 3,
            }],
            prefectures: vec![
                prefecture("nanjing", &[(Doctor, 60), (Nurse, 100), (MaskN95, 1000)]),
                prefecture("wuxi", &[(Doctor, 50), (FundsCny, 3_000_000)]),
                prefecture("xuzhou", &[(Nurse, 150), (MaskN95, 10_000)]),
            ],
            location: None,
            estimated: vec![],
        }],
    }
}

pub(super) fn header(sender: &str, message_id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: message_id.into(),
        sender_id: sender.into(),
        scenario_time_ms: 0,
    })
}

pub(super) fn lines(quantities: &[(ResourceType, i64)]) -> Vec<ResourceQuantity> {
    quantities
        .iter()
        .map(|&(t, q)| ResourceQuantity {
            resource_type: t.into(),
            quantity: q,
        })
        .collect()
}

/// A donor for Jiangsu, before the clock.
pub(super) fn donor() -> Donor {
    Donor::new(
        Arc::new(scenario()),
        "jiangsu",
        Arc::new(HeaderFactory::new("jiangsu", BOOT)),
    )
    .unwrap()
}

pub(super) fn clock_start() -> ClockStart {
    ClockStart {
        header: header("central", "central-clock"),
        clock: Some(ScenarioClock {
            epoch_unix_ms: 1_600_000_000_000,
            day_ms: 1000,
            start_date: "2020-02-07".into(),
            ..Default::default()
        }),
    }
}

/// A donor whose clock has started.
pub(super) fn started() -> Donor {
    let mut d = donor();
    d.on_clock_start(&clock_start()).unwrap();
    d
}

pub(super) fn assignment(targets: &[(ResourceType, i64)]) -> Assignment {
    Assignment {
        header: header("central", "central-asg-1"),
        assignment_id: ASSIGNMENT.into(),
        case_id: CASE.into(),
        recipient_city_id: "huangshi".into(),
        recipient_endpoint: "http://127.0.0.1:9".into(),
        objectives: vec![],
        targets: lines(targets),
        reason: "historical".into(),
    }
}

/// A started donor holding the standard assignment, acknowledged (and
/// accepted by central) at day 0.
pub(super) fn assigned(targets: &[(ResourceType, i64)]) -> Donor {
    let mut d = started();
    d.on_assignment(&assignment(targets), day(0.0)).unwrap();
    run(&mut d, 0.0, 0.0);
    d
}

/// Ticks every quarter day from `from` to `to` (inclusive), with every send
/// accepted at once; returns what was sent, with the time.
pub(super) fn run(d: &mut Donor, from: f64, to: f64) -> Vec<(ScenarioTime, Outbound)> {
    let mut sent = Vec::new();
    let mut t = from;
    while t <= to + 1e-9 {
        let now = day(t);
        for o in d.on_tick(now) {
            d.on_sent(&o.key(), RoundOutcome::Accepted, now);
            sent.push((now, o));
        }
        t += 0.25;
    }
    sent
}

pub(super) fn shipments(sent: &[(ScenarioTime, Outbound)]) -> Vec<Shipment> {
    sent.iter()
        .filter_map(|(_, o)| match o {
            Outbound::Shipment { shipment, .. } => Some(shipment.clone()),
            _ => None,
        })
        .collect()
}

/// The city's receipt for `s`: everything arrived.
pub(super) fn receipt_for(s: &Shipment, message_id: &str) -> Receipt {
    Receipt {
        header: header("huangshi", message_id),
        receipt_id: format!("rcpt-{}", s.shipment_id),
        shipment_id: s.shipment_id.clone(),
        case_id: s.case_id.clone(),
        received_at_ms: 1,
        received: s
            .lines
            .iter()
            .map(|l| ResourceQuantity {
                resource_type: l.resource_type.as_str().into(),
                quantity: l.quantity,
            })
            .collect(),
        discrepancies: vec![],
    }
}

/// Receipts every shipment in `sent`.
pub(super) fn receipt_all(d: &mut Donor, sent: &[(ScenarioTime, Outbound)]) {
    for s in shipments(sent) {
        let id = format!("r-{}", s.shipment_id);
        d.on_receipt(&receipt_for(&s, &id), day(30.0)).unwrap();
    }
}
