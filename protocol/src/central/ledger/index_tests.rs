//! The ledger's per-case answers come from its indexes (receipts by case,
//! the pair maps' case ranges); these tests hold them to what a scan of
//! every entry gives, after any merge and after a ledger is read back.

use std::collections::BTreeSet;

use counterpart_domain::journal;
use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::ResourceType::{Doctor, MaskN95};
use proptest::prelude::*;

use super::{add_all, Ledger, ReceiptEntry, ShipmentEntry};

/// Every per-case answer equals a scan of all entries, and so do those of
/// the same ledger read back from its journal records and from JSON.
pub(super) fn agrees_with_a_scan(ledger: &Ledger) -> Result<(), TestCaseError> {
    let mut records = journal::Records::new();
    journal::apply(&mut records, ledger.records().unwrap());
    let from_records = Ledger::from_records(&records).map_err(TestCaseError::fail)?;
    let json = serde_json::to_vec(ledger).unwrap();
    let from_json: Ledger = serde_json::from_slice(&json).unwrap();
    for copy in [ledger, &from_records, &from_json] {
        prop_assert_eq!(copy, ledger);
        for case in cases(ledger) {
            let scanned: Vec<&ReceiptEntry> = ledger
                .receipts
                .values()
                .filter(|r| r.case_id == case)
                .collect();
            prop_assert_eq!(copy.case_receipts(&case).collect::<Vec<_>>(), scanned);
            let mut shipped = Quantities::new();
            for s in ledger.shipments.values().filter(|s| s.case_id == case) {
                add_all(&mut shipped, &s.lines);
            }
            prop_assert_eq!(copy.case_totals(&case).0, shipped);
            let cost: i64 = ledger
                .costs
                .iter()
                .filter(|((c, _), _)| *c == case)
                .map(|(_, cost)| cost)
                .sum();
            prop_assert_eq!(copy.case_cost(&case), cost);
        }
    }
    Ok(())
}

/// Every case the ledger names anywhere, and one it does not.
fn cases(ledger: &Ledger) -> BTreeSet<String> {
    let mut cases: BTreeSet<String> = ledger
        .shipments
        .values()
        .map(|s| s.case_id.clone())
        .chain(ledger.receipts.values().map(|r| r.case_id.clone()))
        .chain(ledger.costs.keys().map(|(c, _)| c.clone()))
        .collect();
    cases.insert("case-nowhere-1".into());
    cases
}

/// Case ids where one is a prefix of another ("case-a-1", "case-a-10"):
/// a case's range must stop at its own. Every field of the ledger is set,
/// so reading it back from JSON (through `SavedLedger`, a copy of the
/// field list) shows a field the copy lacks.
#[test]
fn a_case_whose_id_prefixes_another_s_answers_for_itself_only() {
    let mut ledger = Ledger::default();
    for (k, case) in ["case-a-1", "case-a-10", "case-a-1-"].iter().enumerate() {
        let id = format!("shp-{k}");
        let lines = Quantities::from([(Doctor, 10 * (k as i64 + 1)), (MaskN95, 100)]);
        ledger
            .record_shipments(vec![ShipmentEntry {
                shipment_id: id.clone(),
                case_id: case.to_string(),
                province_id: "anhui".into(),
                departed_at_ms: 1,
                lines: lines.clone(),
            }])
            .unwrap();
        ledger
            .record_receipts(vec![ReceiptEntry {
                shipment_id: id,
                case_id: case.to_string(),
                received_at_ms: 2,
                received: lines,
                discrepancy: Quantities::new(),
            }])
            .unwrap();
        ledger.set_targets(case, "city-a", "anhui", Quantities::from([(Doctor, 10)]));
        ledger.record_cost(case, "anhui", 1_000 * (k as i64 + 1));
        ledger.record_cost(case, "beijing", 7);
    }
    assert_eq!(ledger.case_cost("case-a-1"), 1_007);
    assert_eq!(ledger.case_receipts("case-a-1").count(), 1);
    assert_eq!(ledger.case_totals("case-a-10").0[&Doctor], 20);
    agrees_with_a_scan(&ledger).unwrap();
}

/// A receipt may come before its shipment: it is the case's at once.
#[test]
fn a_receipt_before_its_shipment_counts_for_its_case() {
    let mut ledger = Ledger::default();
    ledger
        .record_receipts(vec![ReceiptEntry {
            shipment_id: "shp-1".into(),
            case_id: "case-a-1".into(),
            received_at_ms: 2,
            received: Quantities::from([(Doctor, 5)]),
            discrepancy: Quantities::new(),
        }])
        .unwrap();
    assert_eq!(ledger.case_totals("case-a-1").1[&Doctor], 5);
    assert_eq!(ledger.first_arrival_ms("case-a-1"), Some(2));
    agrees_with_a_scan(&ledger).unwrap();
}
