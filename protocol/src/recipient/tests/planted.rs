//! The planted bug `CityCountsResentShipmentTwice` (`crate::planted`): a
//! resent shipment doubles what the city counts only when it is planted.

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{BookLine, Books};

use super::*;
use crate::planted::Bug;
use crate::planted_tests::planting;

/// The city's own line for `t` from Jiangsu on the test case.
fn book_line(books: &Books, t: &str) -> BookLine {
    (books.lines.iter())
        .find(|l| l.case_id == CASE && l.province_id == "jiangsu" && l.resource_type == t)
        .cloned()
        .unwrap_or_else(|| panic!("no line for {t}"))
}

/// Receipts sent on ticks after the shipment, with the doctors each says.
fn receipted_doctors(sent: &[(ScenarioTime, Outbound)]) -> Vec<i64> {
    (sent.iter())
        .filter_map(|(_, o)| match o {
            Outbound::Receipt { receipt, .. } => Some(receipt),
            _ => None,
        })
        .map(|r| {
            (r.received.iter())
                .find(|q| q.resource_type == "personnel/doctor")
                .map_or(0, |q| q.quantity)
        })
        .collect()
}

#[test]
fn a_resent_shipment_is_counted_twice_only_when_planted() {
    for bug in [None, Some(Bug::CityCountsResentShipmentTwice)] {
        let _planting = planting(bug);
        let twice = bug.is_some();
        let mut m = started();
        let h = open_case(&mut m);
        let lines = vec![
            line("personnel/doctor", 103),
            line("material/mask_n95", 1_999),
        ];
        let s = shipment("s1", "jiangsu", 1, lines);
        assert!(!m.on_shipment(&s, hours(h + 30)).unwrap().duplicate);
        // The donor did not hear the answer and sends the same message
        // again: same message id, same shipment.
        let resent = m.on_shipment(&s, hours(h + 31)).unwrap();
        assert_eq!(resent.duplicate, !twice, "planted: {bug:?}");

        let counted = if twice { 2 } else { 1 };
        assert_eq!(
            m.on_hand()[&ResourceType::Doctor],
            100 + 103 * counted,
            "planted: {bug:?}"
        );
        let books = m.books();
        let doctors = book_line(&books, "personnel/doctor");
        assert_eq!(doctors.received, 103 * counted, "planted: {bug:?}");
        // What a whole-cluster check compares: the city accounts for more
        // masks than were shipped only with the bug.
        let masks = book_line(&books, "material/mask_n95");
        let lost = masks_lost(&s, 1_999);
        assert_eq!(masks.discrepancy, lost);
        assert_eq!(
            masks.received + masks.discrepancy,
            1_999 + (counted - 1) * (1_999 - lost),
            "planted: {bug:?}"
        );
        assert_eq!(doctors.shipments, 1, "still one shipment in the books");
        // The donor gets one receipt either way, with the first count.
        let sent = run(&mut m, h + 32, h + 34);
        assert_eq!(receipted_doctors(&sent), [103], "planted: {bug:?}");
    }
}

#[test]
fn with_the_bug_a_resend_under_a_new_message_id_counts_again_too() {
    let _planting = planting(Some(Bug::CityCountsResentShipmentTwice));
    let mut m = started();
    let h = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, vec![line("personnel/doctor", 10)]);
    m.on_shipment(&s, hours(h + 30)).unwrap();
    let mut resent = s.clone();
    resent.header = header("s1-resent", "jiangsu");
    assert!(!m.on_shipment(&resent, hours(h + 31)).unwrap().duplicate);
    assert_eq!(m.on_hand()[&ResourceType::Doctor], 100 + 20);
}
