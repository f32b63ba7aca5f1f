//! The authority driven directly: messages and times in, messages out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::persist::Persistent;
use crate::refusal::RefusalCode as Code;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::{self, Scenario};
use pairing_proto::v1::*;

use super::outbound::{Message, Outbound, ToCity, ToProvince};
use super::{Authority, Now};
use crate::central::case::CaseStage;
use crate::resend::RoundOutcome;

/// The boot stamp of the authorities under test (a restored one gets
/// another, as a restarted central would).
pub(super) const BOOT: i64 = 1_700_000_000_000;

pub(super) fn small() -> Arc<Scenario> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/small.toml"
    );
    Arc::new(scenario::load(std::path::Path::new(path)).expect("small scenario loads"))
}

pub(super) fn at(days: f64) -> Now {
    Now {
        scenario: ScenarioTime::from_days(days),
        unix_ms: 1_000_000 + (days * 1_000.0) as i64,
    }
}

/// A header with an id no other message of the test has.
pub(super) fn header(node: &str, now: Now) -> Option<MessageHeader> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    Some(MessageHeader {
        message_id: format!("{node}-test-{seq}"),
        sender_id: node.into(),
        scenario_time_ms: now.scenario.0,
    })
}

fn register(
    a: &mut Authority,
    id: &str,
    role: Role,
) -> Result<Registration, crate::refusal::Refusal> {
    let msg = RegisterNode {
        header: header(id, at(0.0)),
        role: role as i32,
        endpoint: format!("http://{id}.test:1"),
        ..Default::default()
    };
    a.register(&msg, at(0.0))
}

/// An authority with every node registered, every donor's capacity
/// reported, and the clock started.
pub(super) fn started() -> Authority {
    let s = small();
    let mut a = Authority::new(s.clone(), 50, None, BOOT);
    for p in &s.provinces {
        register(&mut a, &p.id, Role::Province).unwrap();
    }
    for c in &s.cities {
        register(&mut a, &c.id, Role::City).unwrap();
    }
    for p in &s.provinces {
        let pools = p
            .total_pool()
            .into_iter()
            .map(|(t, q)| ResourcePool {
                resource_type: t.as_str().into(),
                quantity: q,
                contributions: vec![Contribution {
                    prefecture: "all".into(),
                    quantity: q,
                }],
            })
            .collect();
        let report = CapacityReport {
            header: header(&p.id, at(0.0)),
            pools,
            outbreak_level: 1,
        };
        a.report_capacity(&report, at(0.0)).unwrap();
    }
    a.on_tick(at(0.0));
    a
}

pub(super) fn overwhelmed() -> Situation {
    Situation {
        confirmed_total: 2_000,
        active_cases: 1_800,
        severe: 100,
        critical: 40,
        beds: 100,
        local_doctors: 10,
        local_nurses: 20,
        ..Default::default()
    }
}

pub(super) fn request(a: &mut Authority, city: &str, now: Now) -> String {
    let msg = AssistanceRequest {
        header: header(city, now),
        situation: Some(overwhelmed()),
        needs: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: 400,
        }],
    };
    a.request_assistance(&msg, now).unwrap().case_id
}

fn assignments(out: &[Outbound]) -> Vec<(String, Assignment)> {
    out.iter()
        .filter_map(|o| match &o.message {
            Message::Province(ToProvince::Assignment(m)) => Some((o.to.clone(), m.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn acknowledge(
    a: &mut Authority,
    province: &str,
    assignment_id: &str,
    now: Now,
) -> Result<Ack, crate::refusal::Refusal> {
    let msg = AssignmentAcknowledgement {
        header: header(province, now),
        assignment_id: assignment_id.into(),
        kind: AcknowledgementKind::Accepted as i32,
        constraints: vec![],
    };
    a.acknowledge_assignment(&msg, now)
}

/// Requests from north and south, paired when the window closes.
pub(super) fn paired() -> (Authority, Vec<(String, Assignment)>) {
    let mut a = started();
    request(&mut a, "north", at(0.1));
    request(&mut a, "south", at(0.1));
    let out = a.on_tick(at(3.2));
    (a, assignments(&out))
}

#[test]
fn the_clock_starts_when_the_last_node_registers() {
    let s = small();
    let mut a = Authority::new(s.clone(), 50, None, BOOT);
    let (last, rest) = s.cities.split_last().unwrap();
    for p in &s.provinces {
        register(&mut a, &p.id, Role::Province).unwrap();
    }
    for c in rest {
        assert!(register(&mut a, &c.id, Role::City).unwrap().clock.is_none());
    }
    assert!(register(&mut a, &last.id, Role::City)
        .unwrap()
        .clock
        .is_some());
    let starts = a
        .on_tick(at(0.0))
        .iter()
        .filter(|o| o.kind().message == "ClockStart")
        .count();
    assert_eq!(starts, s.provinces.len() + s.cities.len());
}

#[test]
fn pairing_waits_for_the_decision_window_then_follows_the_table() {
    let mut a = started();
    request(&mut a, "north", at(0.1));
    request(&mut a, "south", at(0.1));
    assert!(
        assignments(&a.on_tick(at(3.0))).is_empty(),
        "paired before the window closed"
    );
    let mut pairs: Vec<(String, String)> = assignments(&a.on_tick(at(3.2)))
        .into_iter()
        .map(|(to, m)| (m.recipient_city_id, to))
        .collect();
    pairs.sort();
    let expected = [("north", "alpha"), ("north", "beta"), ("south", "alpha")]
        .map(|(c, p)| (c.to_string(), p.to_string()));
    assert_eq!(pairs, expected);
}

#[test]
fn a_resent_request_opens_no_second_case() {
    let mut a = started();
    let msg = AssistanceRequest {
        header: header("north", at(0.1)),
        situation: Some(overwhelmed()),
        needs: vec![],
    };
    let first = a.request_assistance(&msg, at(0.1)).unwrap();
    let again = a.request_assistance(&msg, at(0.2)).unwrap();
    assert_eq!((again.case_id, again.duplicate), (first.case_id, true));
    assert_eq!(a.cases().count(), 1);
}

#[test]
fn an_acknowledgement_by_another_province_is_refused_and_changes_nothing() {
    let (mut a, _) = paired();
    let before = format!("{:?}", a.cases().collect::<Vec<_>>());
    let err = acknowledge(&mut a, "beta", "asg-case-south-1-alpha", at(3.3)).unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("assignment_id"),
        "{}",
        err.message()
    );
    assert_eq!(format!("{:?}", a.cases().collect::<Vec<_>>()), before);
    assert_eq!(
        acknowledge(&mut a, "alpha", "asg-nowhere", at(3.3))
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

/// A donor's report of one shipment that left at day 4.
pub(super) fn shipment_report(
    province: &str,
    case_id: &str,
    shipment_id: &str,
    doctors: i64,
    now: Now,
    last: bool,
) -> SupervisoryReport {
    SupervisoryReport {
        header: header(province, now),
        case_id: case_id.into(),
        shipments: vec![ShipmentRecord {
            shipment_id: shipment_id.into(),
            departed_at_ms: at(4.0).scenario.0,
            lines: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: doctors,
            }],
        }],
        r#final: last,
        ..Default::default()
    }
}

pub(super) fn receipt_report(
    city: &str,
    case_id: &str,
    shipment_id: &str,
    doctors: i64,
    now: Now,
) -> SupervisoryReport {
    SupervisoryReport {
        header: header(city, now),
        case_id: case_id.into(),
        situation: Some(Situation {
            confirmed_total: 2_000,
            ..Default::default()
        }),
        receipts: vec![ReceiptRecord {
            shipment_id: shipment_id.into(),
            received_at_ms: now.scenario.0,
            received: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: doctors,
            }],
            discrepancies: vec![],
        }],
        ..Default::default()
    }
}

#[test]
fn raised_targets_never_drop_a_share_below_what_was_shipped() {
    let (mut a, sent) = paired();
    let south = sent
        .iter()
        .find(|(_, m)| m.case_id == "case-south-1")
        .unwrap()
        .1
        .clone();
    let doctors = |targets: &[ResourceQuantity]| {
        targets
            .iter()
            .find(|t| t.resource_type == "personnel/doctor")
            .map_or(0, |t| t.quantity)
    };
    let shipped = doctors(&south.targets);
    acknowledge(&mut a, "alpha", &south.assignment_id, at(3.3)).unwrap();
    a.submit_report(
        &shipment_report("alpha", "case-south-1", "shp-1", shipped, at(4.0), false),
        at(4.0),
    )
    .unwrap();
    let mut worse = overwhelmed();
    worse.confirmed_total = 20_000;
    worse.active_cases = 18_000;
    let city = SupervisoryReport {
        header: header("south", at(5.0)),
        case_id: "case-south-1".into(),
        situation: Some(worse),
        ..Default::default()
    };
    a.submit_report(&city, at(5.0)).unwrap();
    let raised = a
        .on_tick(at(5.0))
        .into_iter()
        .find_map(|o| match o.message {
            Message::Province(ToProvince::Adjustment(m))
                if m.kind == AdjustmentKind::ChangeTargets as i32 =>
            {
                Some(m)
            }
            _ => None,
        });
    let raised = raised.expect("targets raised when the need outgrew them");
    assert!(
        doctors(&raised.new_targets) >= shipped,
        "{} < {shipped}",
        doctors(&raised.new_targets)
    );
}

#[test]
fn a_case_closes_only_after_final_reports_and_every_receipt() {
    let (mut a, _) = paired();
    acknowledge(&mut a, "alpha", "asg-case-south-1-alpha", at(3.3)).unwrap();
    a.submit_report(
        &shipment_report("alpha", "case-south-1", "shp-1", 5, at(5.0), false),
        at(5.0),
    )
    .unwrap();
    let demob = DemobilisationRequest {
        header: header("south", at(20.0)),
        case_id: "case-south-1".into(),
        situation: Some(Situation::default()),
    };
    a.request_demobilisation(&demob, at(20.0)).unwrap();
    let orders = a
        .on_tick(at(20.0))
        .iter()
        .filter(|o| o.kind().message == "DemobilisationOrder")
        .count();
    assert_eq!(orders, 1);
    // Final report in, but the city has not receipted the shipment yet.
    a.submit_report(
        &shipment_report("alpha", "case-south-1", "shp-1", 5, at(21.0), true),
        at(21.0),
    )
    .unwrap();
    a.on_tick(at(21.0));
    assert_eq!(
        a.cases.get("case-south-1").unwrap().stage,
        CaseStage::Demobilising
    );
    a.submit_report(
        &receipt_report("south", "case-south-1", "shp-1", 5, at(21.5)),
        at(21.5),
    )
    .unwrap();
    let closures: Vec<_> = a
        .on_tick(at(22.0))
        .into_iter()
        .filter(|o| matches!(o.message, Message::City(ToCity::Closure(_))))
        .collect();
    assert_eq!(closures.len(), 1);
    assert_eq!(
        a.cases.get("case-south-1").unwrap().stage,
        CaseStage::Closed
    );
}

#[test]
fn a_donor_hit_by_its_own_outbreak_is_released() {
    let (mut a, _) = paired();
    acknowledge(&mut a, "beta", "asg-case-north-1-beta", at(3.3)).unwrap();
    let report = CapacityReport {
        header: header("beta", at(6.0)),
        pools: vec![],
        outbreak_level: 3,
    };
    a.report_capacity(&report, at(6.0)).unwrap();
    let out = a.on_tick(at(6.0));
    let released = out.iter().any(|o| o.to == "beta" && matches!(&o.message, Message::Province(ToProvince::Adjustment(m)) if m.kind == AdjustmentKind::ReleaseDonor as i32));
    assert!(released, "beta not released: {out:?}");
    let revision = out.iter().find_map(|o| match &o.message {
        Message::City(ToCity::Decision(d)) if d.case_id == "case-north-1" => Some(d.clone()),
        _ => None,
    });
    let revision = revision.expect("north told of its new donors");
    assert!(revision.revision >= 2 && revision.donors.iter().all(|d| d.province_id != "beta"));
}

#[test]
fn requests_before_the_clock_are_refused() {
    let mut a = Authority::new(small(), 50, None, BOOT);
    register(&mut a, "north", Role::City).unwrap();
    let msg = AssistanceRequest {
        header: header("north", at(0.0)),
        situation: Some(overwhelmed()),
        needs: vec![],
    };
    assert_eq!(
        a.request_assistance(&msg, at(0.0)).unwrap_err().code(),
        Code::FailedPrecondition
    );
}

#[test]
fn a_restored_central_has_the_same_state_and_resends_what_was_in_flight() {
    let (mut a, sent) = paired();
    let (province, assignment) = &sent[0];
    acknowledge(&mut a, province, &assignment.assignment_id, at(3.3)).unwrap();
    let shipped = shipment_report(province, &assignment.case_id, "shp-1", 5, at(4.5), false);
    a.submit_report(&shipped, at(4.5)).unwrap();
    // The assignments went to the courier and no outcome came back: the
    // process died with them in flight.
    let mut r = Authority::restore(small(), &a.records().unwrap(), BOOT + 1).unwrap();
    // Messages owed are records whether queued or in flight: the restored
    // central holds the same records, and owes them again.
    assert!(
        a.records().unwrap() == r.records().unwrap(),
        "the restored state differs"
    );
    let again = assignments(&r.on_tick(at(4.6)));
    assert_eq!(
        again, sent,
        "every assignment in flight is sent again, ids unchanged"
    );
    assert_eq!(r.ledger(), a.ledger());
}

/// A tick that says it changed nothing left the saved state as it was, so
/// the driver may skip saving it (`Changing::release_unchanged`).
#[test]
fn a_tick_that_reports_no_change_changed_nothing_durable() {
    let state = |a: &Authority| a.records().unwrap();
    let mut a = started();
    request(&mut a, "north", at(0.1));
    request(&mut a, "south", at(0.1));
    let (mut quiet, mut busy) = (0, 0);
    for step in 0..(30 * 24) {
        let now = at(f64::from(step) / 24.0);
        let before = state(&a);
        let out = a.on_tick(now);
        if a.last_tick_changed() {
            busy += 1;
        } else {
            assert!(
                state(&a) == before,
                "tick at {:?} changed the state unannounced",
                now.scenario
            );
            quiet += 1;
        }
        for o in out {
            a.on_sent(o, RoundOutcome::Accepted, now.scenario);
        }
    }
    assert!(quiet > 0 && busy > 0, "quiet {quiet}, busy {busy}");
}

/// A city has one open case at a time; once it is rejected (terminal), its
/// next request opens the next one. `open_case_of` looks at the city's own
/// numbered cases, so other cities' cases never count.
#[test]
fn a_city_with_an_open_case_is_refused_another_and_may_ask_again_once_it_ends() {
    let mut a = started();
    assert_eq!(request(&mut a, "south", at(0.1)), "case-south-1");
    assert_eq!(request(&mut a, "north", at(0.1)), "case-north-1");
    let again = AssistanceRequest {
        header: header("south", at(0.2)),
        situation: Some(overwhelmed()),
        needs: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: 400,
        }],
    };
    let refusal = a.request_assistance(&again, at(0.2)).unwrap_err();
    assert_eq!(refusal.code(), Code::FailedPrecondition);
    assert!(refusal.message().contains("case-south-1"), "{refusal:?}");
    a.cases.get_mut("case-south-1").unwrap().stage = CaseStage::Rejected;
    assert_eq!(request(&mut a, "south", at(0.3)), "case-south-2");
}
