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

/// A legal paired case's events, to break one rule at a time.
fn legal_events() -> Vec<Value> {
    vec![
        event("requested", 0, "", ""),
        event("assigned", 1, "p", ""),
        event("acknowledged", 2, "p", ""),
        event("shipped", 3, "p", "s1"),
        event("received", 4, "p", "s1"),
        event("demobilisation_requested", 5, "", ""),
        event("final_report", 6, "p", ""),
        event("closed", 7, "", ""),
    ]
}

fn order_of(status: &str, events: Vec<Value>) -> Vec<String> {
    legal_order(&json!({"cases": [{"case_id": "c1", "status": status, "events": events}]}))
}

/// The legal events with the step at `i` moved to `at_ms` (re-sorted, so
/// only the planted rule breaks, not the time order).
fn moved(i: usize, at_ms: f64) -> Vec<Value> {
    let mut events = legal_events();
    let mut timed: Vec<(f64, Value)> = events
        .drain(..)
        .enumerate()
        .map(|(j, e)| (j as f64, e))
        .collect();
    timed[i].0 = at_ms;
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    timed
        .into_iter()
        .enumerate()
        .map(|(n, (_, mut e))| {
            e["at_ms"] = json!(n);
            e
        })
        .collect()
}

#[track_caller]
fn assert_one_violation(v: Vec<String>, says: &str) {
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains(says), "{v:?}");
}

#[test]
fn a_case_not_starting_with_its_request_is_caught() {
    assert_one_violation(order_of("closed", moved(0, 2.5)), "not requested");
}

#[test]
fn events_out_of_time_order_are_caught() {
    let mut events = legal_events();
    events[4]["at_ms"] = json!(1);
    let v = order_of("closed", events);
    assert!(v.iter().any(|m| m.contains("not in time order")), "{v:?}");
}

#[test]
fn a_rejected_case_with_an_assignment_is_caught() {
    let events = vec![event("requested", 0, "", ""), event("assigned", 1, "p", "")];
    assert_one_violation(order_of("rejected", events), "rejected, yet assigned");
}

#[test]
fn an_acknowledgement_before_the_assignment_is_caught() {
    assert_one_violation(
        order_of("closed", moved(1, 2.5)),
        "acknowledged before it was assigned",
    );
}

#[test]
fn a_final_report_before_the_last_receipt_is_caught() {
    assert_one_violation(order_of("closed", moved(6, 3.5)), "before its last receipt");
}

#[test]
fn a_receipt_before_its_shipment_is_caught() {
    assert_one_violation(
        order_of("closed", moved(4, 2.5)),
        "s1 received before it was shipped",
    );
}

#[test]
fn closing_before_the_last_receipt_is_caught() {
    let v = order_of("closed", moved(7, 3.5));
    assert!(v.iter().any(|m| m.contains("closed at")), "{v:?}");
}

#[test]
fn closing_without_a_demobilisation_request_is_caught() {
    let events: Vec<Value> = legal_events()
        .into_iter()
        .filter(|e| e["step"] != "demobilisation_requested")
        .collect();
    assert_one_violation(
        order_of("closed", events),
        "without a demobilisation request",
    );
}

fn small() -> Scenario {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/scenarios/small.toml");
    counterpart_domain::scenario::load(&path).unwrap()
}

fn paired(pairings: Value, statuses: &[(&str, &str)]) -> Value {
    let cases: Vec<Value> = statuses
        .iter()
        .map(|(city, status)| json!({"case_id": format!("case-{city}"), "city": city, "status": status}))
        .collect();
    json!({"cases": cases, "pairings": pairings})
}

#[test]
fn the_pairing_table_is_checked_both_ways() {
    let statuses = [
        ("north", "closed"),
        ("south", "closed"),
        ("west", "rejected"),
    ];
    let right = json!([
        {"city": "north", "provinces": ["alpha", "beta"]},
        {"city": "south", "provinces": ["alpha"]},
    ]);
    assert_eq!(
        historical_pairings(&paired(right, &statuses), &small()),
        Vec::<String>::new()
    );
    // A donor missing, a rejected city paired, an accepted city unpaired.
    let wrong = json!([
        {"city": "north", "provinces": ["alpha"]},
        {"city": "west", "provinces": ["beta"]},
    ]);
    let v = historical_pairings(&paired(wrong, &statuses), &small());
    assert_eq!(v.len(), 3, "{v:?}");
    for city in ["north", "south", "west"] {
        assert!(v.iter().any(|m| m.starts_with(city)), "{city}: {v:?}");
    }
}

#[test]
fn an_open_case_is_not_closed_and_a_rejection_only_counts_when_allowed() {
    let report = paired(json!([]), &[("north", "open"), ("west", "rejected")]);
    assert_eq!(all_closed(&report, true), ["case-north: open"]);
    assert_eq!(all_closed(&report, false).len(), 2);
}

#[test]
fn a_missing_case_a_wrong_status_and_an_unexpected_case_are_caught() {
    let whole = paired(
        json!([]),
        &[
            ("north", "closed"),
            ("south", "closed"),
            ("west", "rejected"),
            ("west", "rejected"),
        ],
    );
    assert_eq!(
        cases_as_expected(&whole, SMALL_SCENARIO_CASES),
        Vec::<String>::new()
    );
    // north's case missing: all_closed sees nothing wrong, the names do.
    let no_north = paired(
        json!([]),
        &[
            ("south", "closed"),
            ("west", "rejected"),
            ("west", "rejected"),
        ],
    );
    assert!(all_closed(&no_north, true).is_empty());
    assert_eq!(
        cases_as_expected(&no_north, SMALL_SCENARIO_CASES),
        ["north: 0 cases closed, expected 1"]
    );
    // south rejected where it should close.
    let south_rejected = paired(
        json!([]),
        &[
            ("north", "closed"),
            ("south", "rejected"),
            ("west", "rejected"),
            ("west", "rejected"),
        ],
    );
    assert_eq!(
        cases_as_expected(&south_rejected, SMALL_SCENARIO_CASES),
        [
            "south: 0 cases closed, expected 1",
            "south: 1 cases rejected, expected none"
        ]
    );
}

fn reconciled(differences: Value, unreachable: Value, quiescent: bool, shipped: i64) -> Value {
    json!({"reconcile": {"quiescent": quiescent, "unreachable": unreachable, "lines": [{
        "case_id": "c", "city_id": "north", "province_id": "alpha",
        "resource_type": "personnel/doctor", "shipped": shipped, "differences": differences
    }]}})
}

#[test]
fn the_books_check_fails_on_each_thing_reconcile_found() {
    assert!(books_reconcile(&reconciled(json!([]), json!([]), true, 5)).is_empty());
    let lost = reconciled(json!([{"rule": "lost", "units": 3}]), json!([]), true, 5);
    assert_one_violation(
        books_reconcile(&lost),
        "c: alpha -> north personnel/doctor:",
    );
    let unread = reconciled(json!([]), json!(["north at x: refused"]), true, 5);
    assert_one_violation(books_reconcile(&unread), "no books from");
    let early = reconciled(json!([]), json!([]), false, 5);
    assert_one_violation(books_reconcile(&early), "before the run was over");
    let idle = reconciled(json!([]), json!([]), true, 0);
    assert_one_violation(books_reconcile(&idle), "no node's books show a shipment");
    assert_one_violation(books_reconcile(&json!({})), "no reconciled lines");
}

#[test]
fn a_unit_in_transit_after_closure_is_caught() {
    let report = json!({"cases": [{"case_id": "c1", "status": "closed"}], "ledger": [
        {"case_id": "c1", "province": "p", "resource_type": "funds/cny", "shipped": 10, "received": 9, "discrepancy": 0, "in_transit": 1}
    ]});
    assert_one_violation(receipts_match(&report), "still in transit after closure");
}

/// The legal events with a dispute raised and ruled on between the receipt
/// and the demobilisation request.
fn mediated_events(ruled_at: f64) -> Vec<Value> {
    let mut events = legal_events();
    events.push(event("dispute_raised", 0, "p", "d1: city raised shortfall"));
    events.push(event("mediated", 0, "p", "d1: upheld, the ledger shows it"));
    let mut timed: Vec<(f64, Value)> = (events.into_iter().enumerate())
        .map(|(j, e)| (j as f64, e))
        .collect();
    timed[8].0 = 4.3;
    timed[9].0 = ruled_at;
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    (timed.into_iter().enumerate())
        .map(|(n, (_, mut e))| {
            e["at_ms"] = json!(n);
            e
        })
        .collect()
}

#[test]
fn a_ruling_answers_a_dispute_raised_before_it() {
    assert_eq!(
        order_of("closed", mediated_events(4.6)),
        Vec::<String>::new()
    );
    assert_one_violation(
        order_of("closed", mediated_events(4.1)),
        "ruling on d1 with no dispute raised before it",
    );
}

#[test]
fn a_dispute_never_ruled_on_or_a_ruling_one_side_missed_is_caught() {
    let report = |events: Vec<Value>, mediations: u64| {
        json!({
            "cases": [{"case_id": "c1", "status": "closed", "events": events}],
            "messages": {"Mediation": mediations},
        })
    };
    assert!(disputes_ruled(&report(mediated_events(4.6), 2)).is_empty());
    let mut unruled = mediated_events(4.6);
    unruled.retain(|e| e["step"] != "mediated");
    assert_one_violation(
        disputes_ruled(&report(unruled, 0)),
        "1 disputes raised, 0 ruled",
    );
    assert_one_violation(
        disputes_ruled(&report(mediated_events(4.6), 1)),
        "count 1 Mediation",
    );
}

fn tally_report(reported: Value) -> Value {
    json!({
        "cases": [{"case_id": "c1", "city": "wuhan", "status": "closed"}],
        "outcomes": [{"city": "wuhan", "reported": reported}],
    })
}

#[test]
fn a_tally_that_differs_from_the_ledger_is_caught() {
    let agreeing = json!({"disagreements": [], "disagreements_total": 0});
    assert_eq!(
        tallies_agree(&tally_report(agreeing.clone())),
        Vec::<String>::new()
    );
    assert_eq!(
        tallies_reported(&tally_report(agreeing)),
        Vec::<String>::new()
    );
    let differing = json!({
        "disagreements": ["day 3 DAILY_ITEM_DEATHS: city 4, ledger 2"],
        "disagreements_total": 3,
    });
    let v = tallies_agree(&tally_report(differing));
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].starts_with("wuhan: day 3 DAILY_ITEM_DEATHS"), "{v:?}");
    assert!(v[1].contains("2 more"), "{v:?}");
}

#[test]
fn a_closed_case_without_a_tally_is_caught() {
    let v = tallies_reported(&tally_report(Value::Null));
    assert_eq!(v, ["wuhan: a closed case and no daily tally"]);
    // Where a city reported none, there is nothing to disagree with.
    assert_eq!(
        tallies_agree(&tally_report(Value::Null)),
        Vec::<String>::new()
    );
}
