//! Step 10: shipments in, receipts out; refusals change nothing.

use crate::RefusalCode as Code;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{DiscrepancyReason, Receipt};

use super::*;
use crate::recipient::outgoing::Delivery;

fn receipts(sent: &[Outbound]) -> Vec<(&str, &str, &Receipt)> {
    sent.iter()
        .filter_map(|o| match o {
            Outbound::Receipt {
                donor_id,
                endpoint,
                receipt,
            } => Some((donor_id.as_str(), endpoint.as_str(), receipt)),
            _ => None,
        })
        .collect()
}

fn team_and_masks() -> Vec<ManifestLine> {
    vec![
        line("personnel/doctor", 103),
        line("personnel/nurse", 200),
        line("material/mask_n95", 1_999),
        line("funds/cny", 1_000_000),
    ]
}

#[test]
fn the_receipt_accounts_for_every_unit_shipped() {
    let mut m = started();
    let h = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, team_and_masks());
    assert!(!m.on_shipment(&s, hours(h + 30)).unwrap().duplicate);
    let sent = m.on_tick(hours(h + 31));
    let r = receipts(&sent);
    assert_eq!(r.len(), 1);
    let (donor, endpoint, receipt) = r[0];
    assert_eq!((donor, endpoint), ("jiangsu", JIANGSU));
    assert_eq!(receipt.receipt_id, format!("rcpt-{}", s.shipment_id));
    assert_eq!(receipt.case_id, CASE);
    assert_eq!(receipt.received_at_ms, hours(h + 30).0);
    for shipped in &s.lines {
        let received = receipt
            .received
            .iter()
            .find(|q| q.resource_type == shipped.resource_type);
        let lost: i64 = receipt
            .discrepancies
            .iter()
            .filter(|d| d.resource_type == shipped.resource_type)
            .map(|d| d.quantity)
            .sum();
        assert_eq!(
            received.unwrap().quantity + lost,
            shipped.quantity,
            "{}",
            shipped.resource_type
        );
    }
    // Up to 2 % of the masks (1 % on average, drawn from the seed) were
    // damaged; staff and funds arrive whole.
    assert_eq!(receipt.discrepancies.len(), 1);
    assert_eq!(receipt.discrepancies[0].quantity, masks_lost(&s, 1_999));
    assert_eq!(
        receipt.discrepancies[0].reason,
        DiscrepancyReason::DamagedInTransit as i32
    );
}

#[test]
fn received_staff_raise_capacity_until_the_case_closes() {
    let mut m = started();
    let h = open_case(&mut m);
    assert_eq!(m.capacity_cases(), 400);
    let s = shipment("s1", "jiangsu", 1, team_and_masks());
    m.on_shipment(&s, hours(h + 30)).unwrap();
    // 203 doctors / 0.25 = 812, 400 nurses / 0.5 = 800, beds 1000.
    assert_eq!(m.capacity_cases(), 800);
    let masks = 1_999 - masks_lost(&s, 1_999);
    assert_eq!(m.on_hand()[&ResourceType::MaskN95], masks);
    let closure = pairing_proto::v1::CaseClosure {
        header: header("close-1", "central"),
        case_id: CASE.into(),
        closed_at_ms: hours(h + 400).0,
    };
    m.on_closure(&closure).unwrap();
    assert_eq!(m.capacity_cases(), 400, "the teams went home");
    assert_eq!(
        m.on_hand()[&ResourceType::MaskN95],
        masks,
        "the masks stayed"
    );
}

#[test]
fn a_shipment_counts_once_whatever_its_message_id() {
    let mut m = started();
    let h = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, team_and_masks());
    assert!(!m.on_shipment(&s, hours(h + 30)).unwrap().duplicate);
    assert!(m.on_shipment(&s, hours(h + 30)).unwrap().duplicate);
    let mut resent = s.clone();
    resent.header = header("s1-resent", "jiangsu");
    assert!(m.on_shipment(&resent, hours(h + 31)).unwrap().duplicate);
    assert_eq!(m.on_hand()[&ResourceType::Doctor], 100 + 103);
    assert_eq!(receipts(&m.on_tick(hours(h + 32))).len(), 1);
    assert!(receipts(&m.on_tick(hours(h + 33))).is_empty());
}

#[test]
fn a_shipment_from_a_province_not_paired_is_refused_and_changes_nothing() {
    let mut m = started();
    let h = open_case(&mut m);
    let err = m
        .on_shipment(
            &shipment("s1", "zhejiang", 1, team_and_masks()),
            hours(h + 30),
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id: zhejiang"),
        "{}",
        err.message()
    );
    assert_eq!(m.capacity_cases(), 400);
    assert!(receipts(&m.on_tick(hours(h + 31))).is_empty());
    // The refused id is not remembered: a valid message may reuse it.
    assert!(
        !m.on_shipment(
            &shipment("s1", "jiangsu", 1, team_and_masks()),
            hours(h + 32)
        )
        .unwrap()
        .duplicate
    );
}

#[test]
fn shipments_out_of_order_or_for_another_case_are_refused() {
    let mut m = started();
    let early = m.on_shipment(&shipment("s0", "jiangsu", 1, team_and_masks()), hours(1));
    assert_eq!(early.unwrap_err().code(), Code::FailedPrecondition);
    let h = open_case(&mut m);
    let mut other = shipment("s1", "jiangsu", 1, team_and_masks());
    other.case_id = "case-huangshi-9".into();
    let err = m.on_shipment(&other, hours(h + 30)).unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().starts_with("case_id"));
    let mut bad = shipment("s2", "jiangsu", 1, vec![line("personnel/doctor", -3)]);
    bad.lines[0].contributed_by.clear();
    let err = m.on_shipment(&bad, hours(h + 30)).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("lines[0].quantity"),
        "{}",
        err.message()
    );
}

#[test]
fn nothing_is_accepted_before_the_clock_starts() {
    let headers = Arc::new(HeaderFactory::new(CITY, BOOT));
    let mut m = Recipient::new(Arc::new(outbreak()), CITY, headers).unwrap();
    let s = shipment("s1", "jiangsu", 1, team_and_masks());
    assert_eq!(
        m.on_shipment(&s, hours(1)).unwrap_err().code(),
        Code::FailedPrecondition
    );
    let d = decision("d1", 1, &[("jiangsu", JIANGSU)]);
    assert_eq!(
        m.on_decision(&d, hours(1)).unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert!(m.on_tick(hours(24 * 5)).is_empty());
}

#[test]
fn only_central_decides() {
    let mut m = started();
    let h = request_case(&mut m, 0);
    let mut forged = decision("d1", 1, &[("jiangsu", JIANGSU)]);
    forged.header = header("d1", "jiangsu");
    let err = m.on_decision(&forged, hours(h)).unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().starts_with("header.sender_id"));
    assert_eq!(m.open_case_id(), None);
}

#[test]
fn a_later_revision_replaces_the_donors_and_the_released_one_is_still_receipted() {
    let mut m = started();
    let h = open_case(&mut m);
    let revised = decision("d2", 2, &[("zhejiang", "http://zhejiang:1")]);
    assert!(!m.on_decision(&revised, hours(h + 10)).unwrap().duplicate);
    // A stale revision under a new id changes nothing.
    let stale = decision("d1-again", 1, &[("jiangsu", JIANGSU)]);
    assert!(m.on_decision(&stale, hours(h + 11)).unwrap().duplicate);
    let donors = &m.case().unwrap().donors;
    assert!(!donors["jiangsu"].active && donors["zhejiang"].active);
    // Jiangsu's last shipment was in transit when it was released.
    m.on_shipment(
        &shipment("s1", "jiangsu", 1, team_and_masks()),
        hours(h + 12),
    )
    .unwrap();
    m.on_shipment(
        &shipment("s2", "zhejiang", 1, team_and_masks()),
        hours(h + 12),
    )
    .unwrap();
    let sent = m.on_tick(hours(h + 13));
    let mut to: Vec<&str> = receipts(&sent).iter().map(|r| r.0).collect();
    to.sort();
    assert_eq!(to, ["jiangsu", "zhejiang"]);
}

#[test]
fn a_receipt_that_did_not_get_through_is_sent_again_with_its_id() {
    let mut m = started();
    let h = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, team_and_masks());
    m.on_shipment(&s, hours(h + 30)).unwrap();
    let first = receipts(&m.on_tick(hours(h + 31)))[0].2.clone();
    let down = Err(Failure::transient("donor down"));
    m.on_sent(
        Sent::Receipt {
            shipment_id: s.shipment_id.clone(),
            outcome: down,
        },
        hours(h + 31),
    );
    // The resend waits out the pause (an hour, give or take a fifth).
    assert!(receipts(&m.on_tick(hours(h + 31))).is_empty());
    let again = m.on_tick(hours(h + 33));
    assert_eq!(receipts(&again)[0].2, &first);
    m.on_sent(
        Sent::Receipt {
            shipment_id: s.shipment_id.clone(),
            outcome: Ok(()),
        },
        hours(h + 33),
    );
    assert_eq!(
        m.shipments[&s.shipment_id].receipt.delivery(),
        Delivery::Done
    );
    assert!(receipts(&m.on_tick(hours(h + 33))).is_empty());
}
