//! Step 10: the city's receipts.

use pairing_proto::resource::ResourceType::*;
use pairing_proto::v1::{DemobilisationOrder, Discrepancy, DiscrepancyReason};

use super::*;
use crate::RefusalCode;

/// A donor whose first shipment (10 doctors, 300 masks) has arrived.
fn delivered() -> (Donor, Shipment) {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 900)]);
    let s = shipments(&run(&mut d, 0.25, 1.5)).remove(0);
    (d, s)
}

#[test]
fn a_full_receipt_is_recorded_and_a_second_one_counts_once() {
    let (mut d, s) = delivered();
    let ack = d
        .on_receipt(&receipt_for(&s, "huangshi-1"), day(1.5))
        .unwrap();
    assert!(!ack.duplicate);
    let again = d
        .on_receipt(&receipt_for(&s, "huangshi-2"), day(1.6))
        .unwrap();
    assert!(again.duplicate, "same shipment under another message id");
    let resend = d
        .on_receipt(&receipt_for(&s, "huangshi-1"), day(1.7))
        .unwrap();
    assert!(resend.duplicate);
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(a.received().get(&Doctor), Some(&10));
    assert_eq!(a.received().get(&MaskN95), Some(&300));
}

#[test]
fn a_discrepancy_balances_the_line() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    let masks = r
        .received
        .iter_mut()
        .find(|l| l.resource_type == "material/mask_n95")
        .unwrap();
    masks.quantity = 297;
    r.discrepancies.push(Discrepancy {
        resource_type: "material/mask_n95".into(),
        quantity: 3,
        reason: DiscrepancyReason::DamagedInTransit as i32,
    });
    d.on_receipt(&r, day(1.5)).unwrap();
    let a = d.assignment(ASSIGNMENT).unwrap();
    assert_eq!(a.received().get(&MaskN95), Some(&297));
    assert_eq!(
        a.shipments[0].receipt.as_ref().unwrap().discrepancies.len(),
        1
    );
}

#[test]
fn a_receipt_that_does_not_add_up_is_refused_naming_the_field() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.received[1].quantity -= 1;
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(
        err.message().starts_with("received[1].quantity"),
        "{}",
        err.message()
    );
    assert!(d.assignment(ASSIGNMENT).unwrap().shipments[0]
        .receipt
        .is_none());
    // The refused message id was not remembered: the corrected resend applies.
    let ok = d
        .on_receipt(&receipt_for(&s, "huangshi-1"), day(1.5))
        .unwrap();
    assert!(!ok.duplicate);
}

#[test]
fn a_line_missing_from_the_receipt_is_refused() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.received.remove(0);
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(
        err.message().contains("personnel/doctor"),
        "{}",
        err.message()
    );
}

#[test]
fn a_type_the_shipment_did_not_carry_is_refused() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.received.extend(lines(&[(Nurse, 5)]));
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(
        err.message().starts_with("received[2].resource_type"),
        "{}",
        err.message()
    );
}

#[test]
fn a_discrepancy_without_a_reason_is_refused() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.received[1].quantity = 0;
    r.discrepancies.push(Discrepancy {
        resource_type: "material/mask_n95".into(),
        quantity: 300,
        reason: 0,
    });
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert!(
        err.message().starts_with("discrepancies[0].reason"),
        "{}",
        err.message()
    );
}

#[test]
fn an_unknown_shipment_is_not_found() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.shipment_id = "shp-jiangsu-case-huangshi-1-9".into();
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::NotFound);
    assert!(
        err.message().starts_with("shipment_id"),
        "{}",
        err.message()
    );
}

#[test]
fn a_receipt_from_another_city_is_permission_denied() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "shiyan-1");
    r.header = header("shiyan", "shiyan-1");
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id"),
        "{}",
        err.message()
    );
    assert!(d.assignment(ASSIGNMENT).unwrap().shipments[0]
        .receipt
        .is_none());
}

#[test]
fn a_receipt_for_the_wrong_case_is_refused() {
    let (mut d, s) = delivered();
    let mut r = receipt_for(&s, "huangshi-1");
    r.case_id = "case-huangshi-2".into();
    let err = d.on_receipt(&r, day(1.5)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(err.message().starts_with("case_id"), "{}", err.message());
}

#[test]
fn a_receipt_stops_the_resending_of_its_shipment() {
    let mut d = assigned(&[(Doctor, 10)]);
    run(&mut d, 0.25, 1.25);
    let out = d.on_tick(day(1.5));
    let Some(Outbound::Shipment { shipment, .. }) =
        out.iter().find(|o| matches!(o, Outbound::Shipment { .. }))
    else {
        panic!("no shipment");
    };
    // The receipt comes before the courier reports the delivery as failed.
    d.on_receipt(&receipt_for(shipment, "huangshi-1"), day(1.5))
        .unwrap();
    let key = out
        .iter()
        .find(|o| matches!(o, Outbound::Shipment { .. }))
        .unwrap()
        .key();
    d.on_sent(&key, RoundOutcome::Transient, day(1.5));
    assert!(shipments(&run(&mut d, 1.75, 5.0)).is_empty());
}

#[test]
fn another_sender_reusing_a_message_id_suppresses_nothing() {
    let (mut d, s) = delivered();
    // The city's receipt happens to carry the id of central's next order.
    d.on_receipt(&receipt_for(&s, "central-demob-1"), day(1.5))
        .unwrap();
    let order = DemobilisationOrder {
        header: header("central", "central-demob-1"),
        order_id: format!("demob-{ASSIGNMENT}"),
        case_id: CASE.into(),
        assignment_id: ASSIGNMENT.into(),
    };
    let ack = d.on_demobilisation(&order, day(1.6)).unwrap();
    assert!(!ack.duplicate, "central's order was taken for a resend");
    assert!(d.assignment(ASSIGNMENT).unwrap().is_standing_down());
}
