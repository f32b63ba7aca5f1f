//! Each rule of the reconciliation, shown to fail on books that break it.

use super::*;
use pairing_proto::v1::LedgerLine;

/// A line of someone's books for case c, jiangsu -> huangshi doctors.
fn line(shipped: i64, received: i64, discrepancy: i64, shipments: u32) -> BookLine {
    BookLine {
        case_id: "c".into(),
        city_id: "huangshi".into(),
        province_id: "jiangsu".into(),
        resource_type: "personnel/doctor".into(),
        shipped,
        received,
        discrepancy,
        shipments,
    }
}

fn books(l: BookLine) -> Vec<Books> {
    vec![Books {
        node_id: "n".into(),
        lines: vec![l],
    }]
}

fn ledger(shipped: i64, received: i64, discrepancy: i64) -> Ledger {
    Ledger {
        lines: vec![LedgerLine {
            case_id: "c".into(),
            city_id: "huangshi".into(),
            province_id: "jiangsu".into(),
            resource_type: "personnel/doctor".into(),
            target: 10,
            shipped,
            received,
            discrepancy,
            in_transit: shipped - received - discrepancy,
        }],
        costs: vec![],
    }
}

/// The one line's differences, for books that are whole but for the
/// figures given: (province shipped, province's receipts, city's receipts).
fn judged(
    central: Ledger,
    province: BookLine,
    city: BookLine,
    quiescent: bool,
) -> (Vec<Difference>, Vec<String>) {
    let rows = rows(&central, &books(province), &books(city), quiescent);
    assert_eq!(rows.len(), 1, "{rows:?}");
    (rows[0].differences.clone(), differences(&rows))
}

#[test]
fn balanced_books_pass() {
    let (v, t) = check(
        &ledger(10, 9, 1),
        &books(line(10, 9, 1, 2)),
        &books(line(0, 9, 1, 2)),
        true,
    );
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(
        (t.shipped, t.received, t.discrepancy, t.lost, t.duplicated),
        (10, 9, 1, 0, 0)
    );
}

#[test]
fn a_unit_counted_twice_is_caught() {
    let (d, v) = judged(
        ledger(10, 12, 0),
        line(10, 10, 0, 1),
        line(0, 12, 0, 1),
        false,
    );
    assert!(
        d.contains(&Difference::DoubleCounted {
            accounted: 12,
            shipped: 10
        }),
        "{d:?}"
    );
    assert!(
        v[0].starts_with("c: jiangsu -> huangshi personnel/doctor: city accounts for 12"),
        "{v:?}"
    );
}

#[test]
fn a_loss_everyone_agrees_on_is_caught_at_quiescence() {
    // Central's ledger says what both nodes' books say, and three units
    // shipped were never received: the line still differs.
    let (d, _) = judged(ledger(10, 7, 0), line(10, 7, 0, 1), line(0, 7, 0, 1), true);
    assert_eq!(d, [Difference::Lost { units: 3 }]);
    let rows = rows(
        &ledger(10, 7, 0),
        &books(line(10, 7, 0, 1)),
        &books(line(0, 7, 0, 1)),
        true,
    );
    assert!(rows[0].differs());
    assert_eq!(totals(&rows).lost, 3);
}

#[test]
fn in_transit_is_allowed_until_quiescence() {
    let (v, t) = check(
        &ledger(10, 4, 0),
        &books(line(10, 4, 0, 2)),
        &books(line(0, 4, 0, 1)),
        false,
    );
    assert!(v.is_empty(), "{v:?}");
    assert_eq!((t.in_transit, t.lost), (6, 0));
}

#[test]
fn a_shipment_the_city_never_counted_is_caught() {
    // The units add up (the second shipment carried nothing received),
    // yet the city counted one shipment of the two sent.
    let (d, _) = judged(
        ledger(10, 10, 0),
        line(10, 10, 0, 2),
        line(0, 10, 0, 1),
        true,
    );
    assert_eq!(
        d,
        [Difference::ShipmentCount {
            sent: 2,
            counted: 1
        }]
    );
}

#[test]
fn receipts_the_province_holds_unlike_the_citys_are_caught() {
    let (d, _) = judged(
        ledger(10, 10, 0),
        line(10, 8, 2, 1),
        line(0, 10, 0, 1),
        true,
    );
    assert_eq!(
        d,
        [Difference::ReceiptsDisagree {
            province_received: 8,
            province_short: 2,
            city_received: 10,
            city_short: 0
        }]
    );
}

#[test]
fn books_central_has_no_line_for_are_caught() {
    let (d, v) = judged(
        Ledger::default(),
        line(10, 10, 0, 1),
        line(0, 10, 0, 1),
        false,
    );
    assert_eq!(d, [Difference::NotInLedger]);
    assert!(v[0].ends_with("not in central's ledger"), "{v:?}");
}

#[test]
fn central_disagreeing_with_the_books_is_caught() {
    let (d, _) = judged(
        ledger(9, 10, 0),
        line(10, 10, 0, 1),
        line(0, 10, 0, 1),
        true,
    );
    assert_eq!(
        d,
        [Difference::CentralDisagrees {
            books: [10, 10, 0],
            central: [9, 10, 0]
        }]
    );
    // Before quiescence central may not have heard yet.
    let (d, _) = judged(
        ledger(9, 10, 0),
        line(10, 10, 0, 1),
        line(0, 10, 0, 1),
        false,
    );
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn goods_in_centrals_ledger_no_books_show_are_caught() {
    let rows = rows(&ledger(5, 5, 0), &[], &[], false);
    assert_eq!(
        rows[0].differences,
        [Difference::GoodsNoBooksShow {
            shipped: 5,
            received: 5
        }]
    );
    // A line with a target and nothing moved is no difference.
    assert!(!rows_of_target_only().iter().any(Row::differs));
}

fn rows_of_target_only() -> Vec<Row> {
    rows(&ledger(0, 0, 0), &[], &[], true)
}

#[test]
fn a_deleted_receipt_names_its_pair_and_type() {
    let mut reconciliation =
        Reconciliation::new(&ledger(10, 10, 0), &books(line(10, 10, 0, 1)), &[], true);
    assert!(!reconciliation.is_clean());
    let text = render(&reconciliation);
    assert!(
        text.contains("! c: jiangsu -> huangshi personnel/doctor: 10 shipped, never received"),
        "{text}"
    );
    assert!(
        text.contains("1 where the nodes' books and central's ledger differ"),
        "{text}"
    );
    reconciliation.lines.clear();
    assert!(reconciliation.is_clean());
}

#[test]
fn a_node_whose_books_were_not_read_makes_it_unclean() {
    let mut reconciliation = Reconciliation::new(
        &ledger(10, 10, 0),
        &books(line(10, 10, 0, 1)),
        &books(line(0, 10, 0, 1)),
        true,
    );
    assert!(reconciliation.is_clean(), "{:?}", reconciliation.problems());
    reconciliation
        .unreachable
        .push("huangshi: connection refused".into());
    assert_eq!(
        reconciliation.problems(),
        ["no books from huangshi: connection refused"]
    );
    assert!(render(&reconciliation).contains("1 nodes' books unread"));
}

#[test]
fn the_report_section_names_each_rule() {
    let reconciliation = Reconciliation::new(
        &ledger(10, 7, 0),
        &books(line(10, 7, 0, 1)),
        &books(line(0, 7, 0, 1)),
        true,
    );
    let json = serde_json::to_value(&reconciliation).unwrap();
    assert_eq!(json["lines"][0]["differences"][0]["rule"], "lost");
    assert_eq!(json["lines"][0]["differences"][0]["units"], 3);
    assert_eq!(json["totals"]["lost"], 3);
}
