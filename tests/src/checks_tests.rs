//! Each check shown to fail on a report that breaks its rule.

use super::*;
use serde_json::json;

fn event(step: &str, at_ms: i64, province: &str, detail: &str) -> Value {
    json!({"step": step, "at_ms": at_ms, "province": province, "detail": detail})
}

#[test]
fn a_shipment_before_the_acknowledgement_is_caught() {
    let report = json!({"cases": [{"case_id": "c1", "status": "closed", "events": [
        event("requested", 0, "", ""), event("assigned", 1, "p", ""),
        event("shipped", 2, "p", "s1"), event("acknowledged", 3, "p", ""),
    ]}]});
    let v = legal_order(&report);
    assert!(
        v.iter().any(|m| m.contains("before its acknowledgement")),
        "{v:?}"
    );
}

#[test]
fn a_legal_case_passes() {
    let report = json!({"cases": [{"case_id": "c1", "status": "closed", "events": [
        event("requested", 0, "", ""), event("assigned", 1, "p", ""),
        event("acknowledged", 2, "p", ""), event("shipped", 3, "p", "s1"),
        event("received", 4, "p", "s1"), event("demobilisation_requested", 5, "", ""),
        event("final_report", 6, "p", ""), event("closed", 7, "", ""),
    ]}]});
    assert_eq!(legal_order(&report), Vec::<String>::new());
}

#[test]
fn a_lost_unit_is_caught() {
    let report = json!({"cases": [{"case_id": "c1", "status": "closed"}], "ledger": [
        {"case_id": "c1", "province": "p", "resource_type": "funds/cny", "shipped": 10, "received": 9, "discrepancy": 0, "in_transit": 0}
    ]});
    assert_eq!(receipts_match(&report).len(), 1);
}
