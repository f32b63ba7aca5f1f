//! Steps 15 and 17: adjustments, demobilisation and the final report.

use pairing_proto::resource::ResourceType::*;
use pairing_proto::v1::{Adjustment, AdjustmentKind, DemobilisationOrder, SupervisoryReport};

use super::*;
use crate::donor::outbound::OutboundKey;
use crate::RefusalCode;

fn order(message_id: &str) -> DemobilisationOrder {
    DemobilisationOrder {
        header: header("central", message_id),
        order_id: format!("demob-{ASSIGNMENT}"),
        case_id: CASE.into(),
        assignment_id: ASSIGNMENT.into(),
    }
}

fn adjustment(id: &str, kind: AdjustmentKind, new_targets: &[(ResourceType, i64)]) -> Adjustment {
    Adjustment {
        header: header("central", &format!("m-{id}")),
        adjustment_id: id.into(),
        case_id: CASE.into(),
        assignment_id: ASSIGNMENT.into(),
        kind: kind as i32,
        new_targets: lines(new_targets),
        reason: "test".into(),
    }
}

fn final_reports(sent: &[(ScenarioTime, Outbound)]) -> Vec<SupervisoryReport> {
    sent.iter()
        .filter_map(|(_, o)| match o {
            Outbound::Report { report, .. } if report.r#final => Some(report.clone()),
            _ => None,
        })
        .collect()
}

/// Demobilised at day 1.25: the first shipment (day 1) is on the road.
fn demobilised_in_transit() -> (Donor, Vec<(ScenarioTime, Outbound)>) {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    run(&mut d, 0.25, 1.0);
    assert!(
        !d.on_demobilisation(&order("m1"), day(1.25))
            .unwrap()
            .duplicate
    );
    let sent = run(&mut d, 1.25, 8.0);
    (d, sent)
}

#[test]
fn after_the_order_nothing_more_ships_and_the_final_report_waits_for_receipts() {
    let (mut d, sent) = demobilised_in_transit();
    let delivered = shipments(&sent);
    assert_eq!(
        delivered.len(),
        1,
        "the one in transit is still delivered, no new one"
    );
    assert_eq!(d.assignment(ASSIGNMENT).unwrap().shipments.len(), 1);
    assert!(final_reports(&sent).is_empty(), "no receipt yet");

    receipt_all(&mut d, &sent);
    let sent = run(&mut d, 8.25, 9.0);
    let finals = final_reports(&sent);
    assert_eq!(finals.len(), 1);
    assert!(finals[0].r#final);
    assert_eq!(finals[0].personnel_deployed, 0);
    assert_eq!(finals[0].shipments.len(), 1);
    // Ten doctors from day 1 to day 8.25 at 1000 a day, 300 masks at 5.
    assert_eq!(finals[0].cost_cny, 1500 + 72_500);
    assert!(d.assignment(ASSIGNMENT).unwrap().is_closed());
    assert!(run(&mut d, 9.25, 12.0)
        .iter()
        .all(|(_, o)| !matches!(o, Outbound::Report { .. })));
}

#[test]
fn teams_come_home_into_the_pool_and_central_hears_of_it() {
    let (mut d, sent) = demobilised_in_transit();
    assert_eq!(d.pool().total(Doctor), 100);
    receipt_all(&mut d, &sent);
    let sent = run(&mut d, 8.25, 8.25);
    assert_eq!(d.pool().total(Doctor), 110);
    assert_eq!(d.pool().total(MaskN95), 11_000 - 300, "goods stay given");
    assert!(sent
        .iter()
        .any(|(_, o)| matches!(o, Outbound::Capacity { .. })));
}

#[test]
fn a_demobilisation_resent_is_a_duplicate() {
    let (mut d, _) = demobilised_in_transit();
    assert!(
        d.on_demobilisation(&order("m1"), day(9.0))
            .unwrap()
            .duplicate
    );
    assert!(
        d.on_demobilisation(&order("m2"), day(9.0))
            .unwrap()
            .duplicate
    );
}

#[test]
fn a_final_report_that_failed_is_sent_again() {
    let mut d = assigned(&[(Doctor, 10)]);
    d.on_demobilisation(&order("m1"), day(0.5)).unwrap();
    let out = d.on_tick(day(0.5));
    let key = OutboundKey::Report {
        assignment_id: ASSIGNMENT.into(),
        final_report: true,
    };
    assert!(
        out.iter().any(|o| o.key() == key),
        "nothing shipped: final at once"
    );
    d.on_sent(&key, RoundOutcome::Transient, day(0.5));
    assert!(!d.assignment(ASSIGNMENT).unwrap().is_closed());
    let sent = run(&mut d, 0.75, 2.0);
    let finals = final_reports(&sent);
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].cost_cny, 0, "the team never left");
    assert!(d.assignment(ASSIGNMENT).unwrap().is_closed());
}

#[test]
fn a_release_stands_the_donor_down_like_demobilisation() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    let sent = run(&mut d, 0.25, 1.5);
    let release = adjustment("adj-1", AdjustmentKind::ReleaseDonor, &[]);
    assert!(!d.on_adjustment(&release, day(1.5)).unwrap().duplicate);
    receipt_all(&mut d, &sent);
    let sent = run(&mut d, 1.75, 10.0);
    assert!(shipments(&sent).is_empty(), "no shipment after the release");
    let finals = final_reports(&sent);
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].personnel_deployed, 0);
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert!(matches!(
        a.stand_down,
        Some(super::super::assignment::StandDown::Released { .. })
    ));
    // Changing the targets of a released donor is out of order.
    let change = adjustment("adj-2", AdjustmentKind::ChangeTargets, &[(Doctor, 20)]);
    assert_eq!(
        d.on_adjustment(&change, day(11.0)).unwrap_err().code(),
        RefusalCode::FailedPrecondition
    );
}

#[test]
fn central_may_raise_a_target_and_the_donor_ships_the_difference() {
    let mut d = assigned(&[(Doctor, 10)]);
    let first = shipments(&run(&mut d, 0.25, 4.0));
    assert_eq!(first.len(), 1);
    let change = adjustment(
        "adj-1",
        AdjustmentKind::ChangeTargets,
        &[(Doctor, 15), (Nurse, 5)],
    );
    d.on_adjustment(&change, day(4.0)).unwrap();
    assert!(d.on_adjustment(&change, day(4.0)).unwrap().duplicate);
    let more = shipments(&run(&mut d, 4.25, 8.0));
    assert_eq!(more.len(), 1);
    let q: Vec<_> = more[0]
        .lines
        .iter()
        .map(|l| (l.resource_type.as_str(), l.quantity))
        .collect();
    assert_eq!(q, [("personnel/doctor", 5), ("personnel/nurse", 5)]);
}

#[test]
fn change_targets_without_targets_is_refused() {
    let mut d = assigned(&[(Doctor, 10)]);
    let change = adjustment("adj-1", AdjustmentKind::ChangeTargets, &[]);
    let err = d.on_adjustment(&change, day(1.0)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(err.message().starts_with("new_targets"));
    assert_eq!(
        d.assignment(ASSIGNMENT).unwrap().targets.get(&Doctor),
        Some(&10)
    );
}
