//! Step 11: needs updates and plan proposals.

use pairing_proto::resource::ResourceType::*;
use pairing_proto::v1::{NeedsUpdate, Situation};

use super::*;
use crate::RefusalCode;

fn needs_update(sender: &str, needs: &[(ResourceType, i64)]) -> NeedsUpdate {
    NeedsUpdate {
        header: header(sender, &format!("{sender}-needs")),
        case_id: CASE.into(),
        situation: Some(Situation {
            confirmed_total: 900,
            active_cases: 500,
            ..Default::default()
        }),
        needs: lines(needs),
    }
}

#[test]
fn a_need_below_the_remaining_target_lowers_it() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    run(&mut d, 0.25, 1.0); // first shipment: 10 doctors, 300 masks
    let proposal = d
        .on_needs_update(&needs_update("huangshi", &[(MaskN95, 200)]), day(1.5))
        .unwrap();
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(
        a.targets.get(&MaskN95),
        Some(&500),
        "300 shipped + 200 needed"
    );
    assert_eq!(
        a.targets.get(&Doctor),
        Some(&10),
        "fully shipped: nothing to lower"
    );
    assert_eq!(proposal.case_id, CASE);
    assert_eq!(
        proposal.next_shipment,
        lines(&[(MaskN95, 100)]),
        "200 left in two batches"
    );
    assert_eq!(proposal.planned_departure_ms, day(3.0).0);
    assert!(
        proposal.note.contains("material/mask_n95 900->500"),
        "{}",
        proposal.note
    );
}

#[test]
fn a_need_above_the_target_never_raises_it() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    let proposal = d
        .on_needs_update(
            &needs_update("huangshi", &[(Doctor, 500), (MaskN95, 5000)]),
            day(0.5),
        )
        .unwrap();
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(a.targets.get(&Doctor), Some(&10));
    assert_eq!(a.targets.get(&MaskN95), Some(&900));
    assert_eq!(
        proposal.next_shipment,
        lines(&[(Doctor, 10), (MaskN95, 300)])
    );
    assert_eq!(proposal.planned_departure_ms, day(1.0).0);
}

#[test]
fn a_type_no_longer_needed_stops_shipping() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    d.on_needs_update(&needs_update("huangshi", &[(Doctor, 4)]), day(0.5))
        .unwrap();
    let all = shipments(&run(&mut d, 0.25, 10.0));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].lines.len(), 1);
    assert_eq!(all[0].lines[0].quantity, 4);
}

#[test]
fn a_standing_down_donor_proposes_nothing() {
    let mut d = assigned(&[(Doctor, 10)]);
    let order = pairing_proto::v1::DemobilisationOrder {
        header: header("central", "demob"),
        order_id: "demob".into(),
        case_id: CASE.into(),
        assignment_id: ASSIGNMENT.into(),
    };
    d.on_demobilisation(&order, day(0.5)).unwrap();
    let p = d
        .on_needs_update(&needs_update("huangshi", &[]), day(0.5))
        .unwrap();
    assert!(p.next_shipment.is_empty());
    assert_eq!(p.planned_departure_ms, 0);
    assert_eq!(
        d.assignment(ASSIGNMENT).unwrap().targets.get(&Doctor),
        Some(&10)
    );
}

#[test]
fn needs_from_another_city_are_permission_denied() {
    let mut d = assigned(&[(Doctor, 10)]);
    let err = d
        .on_needs_update(&needs_update("shiyan", &[]), day(0.5))
        .unwrap_err();
    assert_eq!(err.code(), RefusalCode::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id"),
        "{}",
        err.message()
    );
    assert_eq!(
        d.assignment(ASSIGNMENT).unwrap().targets.get(&Doctor),
        Some(&10)
    );
}

#[test]
fn needs_for_an_unknown_case_are_not_found() {
    let mut d = assigned(&[(Doctor, 10)]);
    let mut m = needs_update("huangshi", &[]);
    m.case_id = "case-huangshi-7".into();
    let err = d.on_needs_update(&m, day(0.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::NotFound);
    assert!(err.message().starts_with("case_id"));
}

#[test]
fn a_malformed_needs_update_is_refused() {
    let mut d = assigned(&[(Doctor, 10)]);
    let mut m = needs_update("huangshi", &[(Doctor, -1)]);
    assert!(d
        .on_needs_update(&m, day(0.5))
        .unwrap_err()
        .message()
        .starts_with("needs[0].quantity"));
    m.needs.clear();
    m.situation = None;
    assert_eq!(
        d.on_needs_update(&m, day(0.5)).unwrap_err().message(),
        "situation: missing"
    );
}
