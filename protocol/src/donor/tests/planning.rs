//! Step 9 and 3: shipments, the pool, capacity reports and cost.

use pairing_proto::resource::ResourceType::*;
use pairing_proto::v1::{AcknowledgementKind, CapacityReport};

use super::*;
use crate::donor::outbound::OutboundKey;

const TARGETS: &[(ResourceType, i64)] = &[
    (Doctor, 100),
    (Nurse, 200),
    (MaskN95, 3000),
    (FundsCny, 3_000_000),
];

fn quantity(s: &Shipment, t: ResourceType) -> i64 {
    s.lines
        .iter()
        .filter(|l| l.resource_type == t.as_str())
        .map(|l| l.quantity)
        .sum()
}

fn capacity_reports(sent: &[(ScenarioTime, Outbound)]) -> Vec<CapacityReport> {
    sent.iter()
        .filter_map(|(_, o)| match o {
            Outbound::Capacity { report, .. } => Some(report.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn first_shipment_carries_the_whole_team_and_a_third_of_the_goods() {
    let mut d = assigned(TARGETS);
    let sent = run(&mut d, 0.25, 1.25);
    assert!(
        shipments(&sent).is_empty(),
        "departs at day 1, arrives at 1.5"
    );
    let sent = run(&mut d, 1.5, 1.5);
    let first = &shipments(&sent)[0];
    assert_eq!(first.shipment_id, "shp-jiangsu-case-huangshi-1-1");
    assert_eq!(first.departed_at_ms, day(1.0).0);
    assert_eq!(quantity(first, Doctor), 100);
    assert_eq!(quantity(first, Nurse), 200);
    assert_eq!(quantity(first, MaskN95), 1000);
    assert_eq!(quantity(first, FundsCny), 1_000_000);
    let doctors = first
        .lines
        .iter()
        .find(|l| l.resource_type == "personnel/doctor")
        .unwrap();
    let by: Vec<_> = doctors
        .contributed_by
        .iter()
        .map(|c| (c.prefecture.as_str(), c.quantity))
        .collect();
    assert_eq!(
        by,
        [("nanjing", 60), ("wuxi", 40)],
        "file order, summing to the line"
    );
    for line in &first.lines {
        let sum: i64 = line.contributed_by.iter().map(|c| c.quantity).sum();
        assert_eq!(sum, line.quantity, "{}", line.resource_type);
    }
}

#[test]
fn goods_go_in_three_batches_and_never_over_the_target() {
    let mut d = assigned(TARGETS);
    let all = shipments(&run(&mut d, 0.25, 20.0));
    assert_eq!(all.len(), 3);
    let departures: Vec<_> = all.iter().map(|s| s.departed_at_ms).collect();
    assert_eq!(departures, [day(1.0).0, day(3.0).0, day(5.0).0]);
    for s in &all[1..] {
        assert_eq!(quantity(s, Doctor) + quantity(s, Nurse), 0, "one team only");
        assert_eq!(quantity(s, MaskN95), 1000);
    }
    for &(t, target) in TARGETS {
        assert_eq!(
            all.iter().map(|s| quantity(s, t)).sum::<i64>(),
            target,
            "{t}"
        );
    }
    assert_eq!(d.pool().total(MaskN95), 11_000 - 3000);
}

#[test]
fn a_target_above_the_pool_is_accepted_with_constraints_and_capped_by_the_pool() {
    let mut d = started();
    d.on_assignment(&assignment(&[(Doctor, 500), (MaskN95, 30)]), day(0.0))
        .unwrap();
    let sent = run(&mut d, 0.0, 20.0);
    let ack = sent
        .iter()
        .find_map(|(_, o)| match o {
            Outbound::Acknowledgement(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        ack.kind,
        AcknowledgementKind::AcceptedWithConstraints as i32
    );
    assert_eq!(ack.assignment_id, ASSIGNMENT);
    assert!(
        ack.constraints[0].contains("personnel/doctor") && ack.constraints[0].contains("110"),
        "{:?}",
        ack.constraints
    );
    let all = shipments(&sent);
    assert_eq!(all.iter().map(|s| quantity(s, Doctor)).sum::<i64>(), 110);
    assert_eq!(d.pool().total(Doctor), 0);
}

#[test]
fn a_target_within_the_pool_is_accepted_plainly() {
    let mut d = started();
    d.on_assignment(&assignment(&[(Doctor, 10)]), day(0.0))
        .unwrap();
    let ack = d.on_tick(day(0.0)).into_iter().find_map(|o| match o {
        Outbound::Acknowledgement(a) => Some(a),
        _ => None,
    });
    let ack = ack.unwrap();
    assert_eq!(ack.kind, AcknowledgementKind::Accepted as i32);
    assert!(ack.constraints.is_empty());
}

#[test]
fn nothing_departs_until_central_has_accepted_the_acknowledgement() {
    let mut d = started();
    d.on_assignment(&assignment(TARGETS), day(0.0)).unwrap();
    let key = OutboundKey::Acknowledgement {
        assignment_id: ASSIGNMENT.into(),
    };
    let first = d.on_tick(day(0.0));
    assert!(first.iter().any(|o| o.key() == key));
    d.on_sent(&key, RoundOutcome::Transient, day(0.0));
    for t in [1.0, 2.0, 3.0] {
        for o in d.on_tick(day(t)) {
            assert!(!matches!(o, Outbound::Shipment { .. }));
            if o.key() == key && t < 3.0 {
                d.on_sent(&key, RoundOutcome::Transient, day(t));
            } else {
                d.on_sent(&o.key(), RoundOutcome::Accepted, day(t));
            }
        }
    }
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(a.acknowledged_at, Some(day(3.0)));
    assert!(a.shipments.is_empty());
    let sent = run(&mut d, 3.25, 4.5);
    assert_eq!(
        shipments(&sent)[0].departed_at_ms,
        day(4.0).0,
        "mobilisation from acceptance"
    );
}

#[test]
fn a_failed_delivery_is_sent_again_with_the_same_message_id() {
    let mut d = assigned(&[(Doctor, 10)]);
    run(&mut d, 0.25, 1.25);
    let first = d.on_tick(day(1.5));
    let Some(Outbound::Shipment { shipment, .. }) = first
        .iter()
        .find(|o| matches!(o, Outbound::Shipment { .. }))
    else {
        panic!("shipment due at 1.5: {first:?}");
    };
    let key = OutboundKey::Shipment {
        assignment_id: ASSIGNMENT.into(),
        shipment_id: shipment.shipment_id.clone(),
    };
    d.on_sent(&key, RoundOutcome::Refused, day(1.5));
    let again = shipments(&run(&mut d, 1.75, 2.0));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].shipment_id, shipment.shipment_id);
    let message_id = |s: &Shipment| s.header.as_ref().unwrap().message_id.clone();
    assert_eq!(
        message_id(&again[0]),
        message_id(shipment),
        "a resend, not a new message"
    );
    assert!(
        shipments(&run(&mut d, 2.25, 4.0)).is_empty(),
        "delivered once"
    );
}

#[test]
fn capacity_is_reported_at_start_after_each_shipment_and_on_an_outbreak() {
    let mut d = started();
    let sent = run(&mut d, 0.0, 0.5);
    let reports = capacity_reports(&sent);
    assert_eq!(reports.len(), 1, "once at the start");
    let doctors = reports[0]
        .pools
        .iter()
        .find(|p| p.resource_type == "personnel/doctor")
        .unwrap();
    assert_eq!(doctors.quantity, 110);
    assert_eq!(doctors.contributions.len(), 2);
    assert_eq!(reports[0].outbreak_level, 0);

    d.on_assignment(&assignment(&[(Doctor, 10)]), day(0.75))
        .unwrap();
    let sent = run(&mut d, 0.75, 12.75);
    let reports = capacity_reports(&sent);
    assert_eq!(reports.len(), 1, "after the one shipment");
    assert_eq!(
        reports[0]
            .pools
            .iter()
            .find(|p| p.resource_type == "personnel/doctor")
            .unwrap()
            .quantity,
        100
    );

    let sent = run(&mut d, 13.0, 14.0); // 2020-02-20 is day 13
    let reports = capacity_reports(&sent);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outbreak_level, 3);
}

#[test]
fn a_lost_capacity_report_is_sent_again() {
    let mut d = started();
    let first = d.on_tick(day(0.0));
    let key = first[0].key();
    assert!(matches!(key, OutboundKey::Capacity { .. }));
    d.on_sent(&key, RoundOutcome::Transient, day(0.0));
    let later = run(&mut d, 0.25, 1.0);
    assert_eq!(capacity_reports(&later).len(), 1);
    assert!(capacity_reports(&run(&mut d, 1.25, 3.0)).is_empty());
}

#[test]
fn cost_counts_goods_at_unit_cost_and_personnel_per_person_day() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 300), (FundsCny, 3000)]);
    let sent = run(&mut d, 0.25, 3.0);
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(
        a.goods_cost_cny,
        200 * 5 + 2000,
        "two batches shipped by day 3"
    );
    // Ten doctors deployed since day 1, at 1000 a day.
    assert_eq!(
        a.cost_cny(day(3.0), &d.scenario().unit_cost_cny),
        3000 + 10 * 1000 * 2
    );
    let report = sent
        .iter()
        .rev()
        .find_map(|(_, o)| match o {
            Outbound::Report { report, .. } => Some(report.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(report.cost_cny, 3000 + 10 * 1000 * 2);
    assert_eq!(report.personnel_deployed, 10);
    assert_eq!(report.shipments.len(), 2);
    assert!(!report.r#final);
}
