//! Properties of a finished run, checked on its report (see
//! `central::report`). Each check returns the violations it found, so a test
//! failure names every broken case at once; an empty list means it holds.
//!
//! Central's report is central's own record: what it says of goods moved
//! holds by construction (central refuses a receipt that does not add up).
//! What the nodes themselves recorded is checked by [`books_reconcile`], on
//! the `reconcile` section `pairctl up` (or a suite, through the same code)
//! adds; which cases exist is checked against the suite's own list by
//! [`cases_as_expected`]. Every check is shown to fail in checks_tests.rs.

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
    // A ruling answers a dispute raised before it ("<dispute id>: ...").
    let dispute_of = |detail: &str| detail.split(':').next().unwrap_or("").to_string();
    for ruling in events.iter().filter(|e| e.0 == "mediated") {
        let raised = (events.iter())
            .find(|e| e.0 == "dispute_raised" && dispute_of(e.3) == dispute_of(ruling.3));
        if raised.is_none_or(|r| r.1 > ruling.1) {
            v.push(format!(
                "{id}: ruling on {} with no dispute raised before it",
                dispute_of(ruling.3)
            ));
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

/// Every dispute raised was ruled on, and both sides took each ruling: the
/// provinces and cities count the `Mediation`s they received themselves
/// (their reports' counters, summed in the report's `messages`).
pub fn disputes_ruled(report: &Value) -> Vec<String> {
    let steps = |step: &str| {
        (cases(report).iter())
            .flat_map(|c| c["events"].as_array().into_iter().flatten())
            .filter(|e| str_of(e, "step") == step)
            .count()
    };
    let (raised, ruled) = (steps("dispute_raised"), steps("mediated"));
    let taken = report["messages"]["Mediation"].as_u64().unwrap_or(0) as usize;
    let mut v = Vec::new();
    if ruled != raised {
        v.push(format!("{raised} disputes raised, {ruled} ruled on"));
    }
    if taken < 2 * ruled {
        v.push(format!(
            "{ruled} rulings, but the nodes count {taken} Mediation messages received (2 each)"
        ));
    }
    v
}

/// Every receipt matches its shipment: per ledger line, shipped equals
/// received plus discrepancy plus in transit, and nothing is in transit once
/// a case is closed. On central's ledger alone the first rule cannot fail
/// (central refuses a receipt that does not add up): it guards the report's
/// arithmetic; the nodes' books are [`books_reconcile`]'s.
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

/// The cases a suite expects of a city: how many end in `status`, from
/// `min` to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    pub city: &'a str,
    pub status: &'a str,
    pub min: usize,
    pub max: usize,
}

/// `count` cases of `city` ending in `status`.
pub const fn expect<'a>(city: &'a str, status: &'a str, count: usize) -> Expected<'a> {
    Expected {
        city,
        status,
        min: count,
        max: count,
    }
}

/// The small scenario's cases (deploy/scenarios/small.toml): north and
/// south closed; west's request is within its local capacity, so rejected,
/// and rejected again when it asks 3 days later.
pub const SMALL_SCENARIO_CASES: &[Expected] = &[
    expect("north", "closed", 1),
    expect("south", "closed", 1),
    expect("west", "rejected", 2),
];

/// The small scenario's cases under faults: north and south close; west
/// is rejected, twice when its second request falls while its active
/// cases are still over the threshold, once when faults delayed the first.
pub const SMALL_SCENARIO_CASES_UNDER_FAULTS: &[Expected] = &[
    expect("north", "closed", 1),
    expect("south", "closed", 1),
    Expected {
        city: "west",
        status: "rejected",
        min: 1,
        max: 2,
    },
];

/// The report holds exactly the cases `expected` names: per city and
/// status the number expected (so a case missing, or rejected where it
/// should close, is a violation), and no case of a city and status left
/// unnamed.
pub fn cases_as_expected(report: &Value, expected: &[Expected]) -> Vec<String> {
    let mut found: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for case in cases(report) {
        *found
            .entry((str_of(case, "city"), str_of(case, "status")))
            .or_default() += 1;
    }
    let mut v = Vec::new();
    for e in expected {
        let got = found.remove(&(e.city, e.status)).unwrap_or(0);
        if !(e.min..=e.max).contains(&got) {
            let expected = match e.min == e.max {
                true => e.min.to_string(),
                false => format!("{} to {}", e.min, e.max),
            };
            v.push(format!(
                "{}: {got} cases {}, expected {expected}",
                e.city, e.status
            ));
        }
    }
    for ((city, status), got) in found {
        v.push(format!("{city}: {got} cases {status}, expected none"));
    }
    v
}

/// The reconciliation `pairctl up` put in its report (`reconcile`): the
/// nodes' own books agree with central's ledger, line for line, at the end
/// of the run (see `pairctl::reconcile`), every node's books were read,
/// and goods moved at all.
pub fn books_reconcile(report: &Value) -> Vec<String> {
    let section = &report["reconcile"];
    let Some(lines) = section["lines"].as_array() else {
        return vec!["the report has no reconciled lines".into()];
    };
    let mut v: Vec<String> = section["unreachable"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("no books from {n}"))
        .collect();
    if section["quiescent"] != true {
        v.push("reconciled before the run was over".into());
    }
    for line in lines {
        let what = format!(
            "{}: {} -> {} {}",
            str_of(line, "case_id"),
            str_of(line, "province_id"),
            str_of(line, "city_id"),
            str_of(line, "resource_type")
        );
        match line["differences"].as_array() {
            Some(differences) => v.extend(differences.iter().map(|d| format!("{what}: {d}"))),
            None => v.push(format!("{what}: no list of differences")),
        }
    }
    if lines
        .iter()
        .all(|l| l["shipped"].as_i64().unwrap_or(0) == 0)
    {
        v.push("no node's books show a shipment".into());
    }
    v
}

/// One reconciled line of the report (what `pairctl up` read of the
/// nodes' books) by case's city, province and resource type.
pub fn reconciled_line<'a>(
    report: &'a Value,
    city: &str,
    province: &str,
    resource_type: &str,
) -> Option<&'a Value> {
    report["reconcile"]["lines"].as_array()?.iter().find(|l| {
        l["city_id"] == city && l["province_id"] == province && l["resource_type"] == resource_type
    })
}

/// Every case is closed, or rejected when `rejected_ok`. Only looks at the
/// cases the report holds: pair it with [`cases_as_expected`].
pub fn all_closed(report: &Value, rejected_ok: bool) -> Vec<String> {
    cases(report)
        .iter()
        .filter(|c| {
            !(str_of(c, "status") == "closed" || (rejected_ok && str_of(c, "status") == "rejected"))
        })
        .map(|c| format!("{}: {}", str_of(c, "case_id"), str_of(c, "status")))
        .collect()
}

/// The cities' own daily tallies (`outcomes[].reported`, from their
/// supervisory reports) tell the course central computes from its ledger,
/// day by day and item by item, wherever a city reported one. A city of a
/// release before the tally reports none: [`tallies_reported`] asks for
/// them where every node is current.
pub fn tallies_agree(report: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for outcome in outcomes(report) {
        let city = str_of(outcome, "city");
        let reported = &outcome["reported"];
        let lines = reported["disagreements"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        v.extend(
            lines
                .iter()
                .map(|l| format!("{city}: {}", l.as_str().unwrap_or("?"))),
        );
        let total = reported["disagreements_total"].as_u64().unwrap_or(0);
        let shown = lines.len() as u64;
        if total > shown {
            v.push(format!(
                "{city}: {} more days and items differ",
                total - shown
            ));
        }
    }
    v
}

/// Every city with a closed case reported a daily tally.
pub fn tallies_reported(report: &Value) -> Vec<String> {
    let reported: std::collections::BTreeSet<&str> = outcomes(report)
        .iter()
        .filter(|o| !o["reported"].is_null())
        .map(|o| str_of(o, "city"))
        .collect();
    let mut v: Vec<String> = cases(report)
        .iter()
        .filter(|c| str_of(c, "status") == "closed")
        .map(|c| str_of(c, "city"))
        .filter(|city| !reported.contains(city))
        .map(|city| format!("{city}: a closed case and no daily tally"))
        .collect();
    if report["outcomes"].as_array().is_none() {
        v.push("the report has no outcomes".into());
    }
    v.dedup();
    v
}

fn outcomes(report: &Value) -> &[Value] {
    report["outcomes"].as_array().map_or(&[], Vec::as_slice)
}

/// Asserts everything a finished run of a historical scenario must show:
/// the scenario's pairing table, every case's steps in a legal order,
/// receipts that match shipments, the cities' tallies that match central's
/// course, and exactly one closed case per city of
/// the scenario (a city without one is named).
#[track_caller]
pub fn assert_complete_historical_run(report: &Value, scenario: &Scenario) {
    assert_holds("historical pairing", historical_pairings(report, scenario));
    assert_holds("legal order", legal_order(report));
    assert_holds("receipts match shipments", receipts_match(report));
    assert_holds("cities' tallies agree", tallies_agree(report));
    let one_closed_each: Vec<Expected> = scenario
        .cities
        .iter()
        .map(|c| expect(&c.id, "closed", 1))
        .collect();
    assert_holds(
        "one closed case per city",
        cases_as_expected(report, &one_closed_each),
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
#[path = "checks_tests.rs"]
mod tests;
