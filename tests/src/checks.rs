//! Properties of a finished run, checked on its report (see
//! `central::report`). Each check returns the violations it found, so a test
//! failure names every broken case at once; an empty list means it holds.

use std::collections::{BTreeMap, BTreeSet};

use counterpart_domain::scenario::Scenario;
use serde_json::Value;

fn cases(report: &Value) -> &[Value] {
    report["cases"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// Every city whose request was accepted is paired exactly as the
/// scenario's historical table says (a rejected city is paired with no one).
pub fn historical_pairings(report: &Value, scenario: &Scenario) -> Vec<String> {
    let accepted: BTreeSet<&str> = cases(report)
        .iter()
        .filter(|c| str_of(c, "status") != "rejected")
        .map(|c| str_of(c, "city"))
        .collect();
    let actual: BTreeMap<String, BTreeSet<String>> = report["pairings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let provinces = p["provinces"].as_array().into_iter().flatten();
            (
                str_of(p, "city").to_string(),
                provinces
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
            )
        })
        .collect();
    let mut violations = Vec::new();
    for city in &scenario.cities {
        let expected: BTreeSet<String> = if accepted.contains(city.id.as_str()) {
            city.historical_donors.iter().cloned().collect()
        } else {
            BTreeSet::new()
        };
        if expected.is_empty() && !actual.contains_key(&city.id) {
            continue;
        }
        match actual.get(&city.id) {
            Some(got) if *got == expected => {}
            got => violations.push(format!(
                "{}: paired with {got:?}, expected {expected:?}",
                city.id
            )),
        }
    }
    violations
}

/// Every case went through the protocol's steps in a legal order.
pub fn legal_order(report: &Value) -> Vec<String> {
    cases(report).iter().flat_map(case_order).collect()
}

fn case_order(case: &Value) -> Vec<String> {
    let id = str_of(case, "case_id");
    let events: Vec<(&str, i64, &str, &str)> = case["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                str_of(e, "step"),
                e["at_ms"].as_i64().unwrap_or(-1),
                str_of(e, "province"),
                str_of(e, "detail"),
            )
        })
        .collect();
    let mut v = Vec::new();
    if events.first().map(|e| e.0) != Some("requested") {
        v.push(format!(
            "{id}: first step is {:?}, not requested",
            events.first().map(|e| e.0)
        ));
    }
    if events.windows(2).any(|w| w[0].1 > w[1].1) {
        v.push(format!("{id}: events are not in time order"));
    }
    let first = |step: &str, province: &str| {
        events
            .iter()
            .find(|e| e.0 == step && (province.is_empty() || e.2 == province))
            .map(|e| e.1)
    };
    let last = |step: &str, province: &str| {
        events
            .iter()
            .rev()
            .find(|e| e.0 == step && (province.is_empty() || e.2 == province))
            .map(|e| e.1)
    };
    if str_of(case, "status") == "rejected" {
        if first("assigned", "").is_some() || first("shipped", "").is_some() {
            v.push(format!("{id}: rejected, yet assigned or shipped"));
        }
        return v;
    }
    let provinces: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.0 == "assigned")
        .map(|e| e.2)
        .collect();
    for p in provinces {
        let assigned = first("assigned", p);
        let acknowledged = first("acknowledged", p);
        let shipped = first("shipped", p);
        if let Some(s) = shipped {
            if acknowledged.is_none_or(|a| a > s) {
                v.push(format!(
                    "{id}: {p} shipped at {s} before its acknowledgement ({acknowledged:?})"
                ));
            }
        }
        if acknowledged.is_some_and(|a| assigned.is_none_or(|x| x > a)) {
            v.push(format!("{id}: {p} acknowledged before it was assigned"));
        }
        if let (Some(fin), Some(rec)) = (first("final_report", p), last("received", p)) {
            if fin < rec {
                v.push(format!(
                    "{id}: {p} final report at {fin} before its last receipt at {rec}"
                ));
            }
        }
    }
    for shipment in events.iter().filter(|e| e.0 == "shipped") {
        let received = events
            .iter()
            .find(|e| e.0 == "received" && e.3 == shipment.3);
        if let Some(r) = received {
            if r.1 < shipment.1 {
                v.push(format!(
                    "{id}: {} received before it was shipped",
                    shipment.3
                ));
            }
        }
    }
    if let Some(closed) = first("closed", "") {
        if last("received", "").is_some_and(|r| r > closed)
            || last("shipped", "").is_some_and(|s| s > closed)
        {
            v.push(format!(
                "{id}: closed at {closed} before its last shipment or receipt"
            ));
        }
        if first("demobilisation_requested", "").is_none_or(|d| d > closed) {
            v.push(format!(
                "{id}: closed without a demobilisation request before it"
            ));
        }
    }
    v
}

/// Every receipt matches its shipment: per ledger line, shipped equals
/// received plus discrepancy plus in transit, and nothing is in transit once
/// a case is closed.
pub fn receipts_match(report: &Value) -> Vec<String> {
    let closed: BTreeSet<&str> = cases(report)
        .iter()
        .filter(|c| str_of(c, "status") == "closed")
        .map(|c| str_of(c, "case_id"))
        .collect();
    let mut v = Vec::new();
    for line in report["ledger"].as_array().into_iter().flatten() {
        let n = |k: &str| line[k].as_i64().unwrap_or(i64::MIN);
        let what = format!(
            "{} {} {}",
            str_of(line, "case_id"),
            str_of(line, "province"),
            str_of(line, "resource_type")
        );
        if n("shipped") != n("received") + n("discrepancy") + n("in_transit") {
            v.push(format!(
                "{what}: shipped {} != received {} + discrepancy {} + in transit {}",
                n("shipped"),
                n("received"),
                n("discrepancy"),
                n("in_transit")
            ));
        }
        if closed.contains(str_of(line, "case_id")) && n("in_transit") != 0 {
            v.push(format!(
                "{what}: {} still in transit after closure",
                n("in_transit")
            ));
        }
    }
    v
}

/// Every case is closed, or rejected when `rejected_ok`.
pub fn all_closed(report: &Value, rejected_ok: bool) -> Vec<String> {
    cases(report)
        .iter()
        .filter(|c| {
            !(str_of(c, "status") == "closed" || (rejected_ok && str_of(c, "status") == "rejected"))
        })
        .map(|c| format!("{}: {}", str_of(c, "case_id"), str_of(c, "status")))
        .collect()
}

/// Asserts everything a finished run of a historical scenario must show:
/// the scenario's pairing table, every case's steps in a legal order,
/// receipts that match shipments, every case closed, one case per city.
#[track_caller]
pub fn assert_complete_historical_run(report: &Value, scenario: &Scenario) {
    assert_holds("historical pairing", historical_pairings(report, scenario));
    assert_holds("legal order", legal_order(report));
    assert_holds("receipts match shipments", receipts_match(report));
    assert_holds("every case closed", all_closed(report, false));
    assert_eq!(
        cases(report).len(),
        scenario.cities.len(),
        "one case per city"
    );
}

/// Asserts that a check found nothing, printing every violation.
#[track_caller]
pub fn assert_holds(name: &str, violations: Vec<String>) {
    assert!(
        violations.is_empty(),
        "{name} violated:\n  {}",
        violations.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
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
}
