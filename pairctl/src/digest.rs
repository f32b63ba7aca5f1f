//! The run report's digest: `sha256:<64 hex>` over the run's story.
//!
//! The story is what happened in scenario time: the scenario, its `seed` and
//! `clock` (mode and step), the pairings, every case (status, severity,
//! reasons, its dates in scenario time, targets, shipped, received,
//! discrepancies, evaluations, events), the ledger and the donors' costs,
//! the messages per kind and the protocol versions. Two reports with equal
//! digests tell the same story; two runs of one scenario with one seed on a
//! lockstep clock should have equal digests, whatever machine ran them and
//! however fast.
//!
//! Left out is how the story was run: the processes and their addresses, the
//! wall times and wall latencies, the pace of the wall clock (`day_ms`), and
//! what `pairctl up` adds after reading central's report. [`EXCLUDED`] lists
//! every rule, each with the report's fields it removes and why. Scenario
//! times in milliseconds stay: `cases[].events[].at_ms` is the event's
//! scenario time, not a wall time, and no rule matches it.
//!
//! The digest is the same whether taken from central's report (`pairctl
//! report`) or from the one `pairctl up` writes, launch facts merged in.
//!
//! The rules match object keys at any depth, data keys included (a resource
//! type, a province id): a province named `x_port` would vanish from the
//! digest. No scenario has such names; the rules are kept as names, not
//! paths, so that a wall field added later is left out without a change
//! here.
//!
//! # The canonical form
//!
//! What is hashed is [`canonical`]: the report with the excluded keys
//! removed, as compact JSON (no whitespace) with every object's keys sorted
//! by their UTF-8 bytes, at every level, arrays in their order, strings
//! and numbers as serde_json writes them. The sort is explicit: it does not
//! rely on `serde_json::Map` iterating in key order, which it stops doing
//! once anything in the build enables serde_json's `preserve_order`.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How a rule of [`EXCLUDED`] matches an object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// This key of the report object itself, and only there.
    TopLevel(&'static str),
    /// At any depth: the key is this name, or ends in `_` and this name
    /// (`latency_ms` matches `decision_latency_ms`; `port` matches
    /// `grpc_port` but not `report`).
    Word(&'static str),
    /// At any depth: the key begins with this.
    Prefix(&'static str),
}

impl Rule {
    fn matches(self, key: &str, top_level: bool) -> bool {
        match self {
            Rule::TopLevel(name) => top_level && key == name,
            Rule::Word(name) => {
                key == name
                    || key
                        .strip_suffix(name)
                        .is_some_and(|head| head.ends_with('_'))
            }
            Rule::Prefix(prefix) => key.starts_with(prefix),
        }
    }
}

/// The keys the digest leaves out: every one is about how the run was
/// carried out (processes, wall time), none about what happened.
pub const EXCLUDED: &[Rule] = &[
    // `digest`: the digest cannot cover itself, and a report read back with
    // its digest must hash to the same digest.
    Rule::TopLevel("digest"),
    // `nodes` (pairctl, merge_launch_facts): each node's id, role, `pid` and
    // `addr`, the processes that ran the run on this machine.
    Rule::TopLevel("nodes"),
    // `reconcile` (pairctl up, after the launch facts): pairctl's check of
    // central's ledger against the nodes' books. The ledger itself is in
    // the digest; the check is not central's story, `pairctl report` has
    // none, and its `unreachable` entries hold node endpoints and errors.
    Rule::TopLevel("reconcile"),
    // `wall_time_ms` (pairctl, merge_launch_facts): how long the run took
    // on the wall clock; any other `wall_time*` key likewise.
    Rule::Prefix("wall_time"),
    // `day_ms` (the report's top level, and `clock.day_ms`): wall
    // milliseconds per scenario day, the pace of the wall, not the story.
    Rule::Word("day_ms"),
    // `*_unix_ms`: instants on the wall clock (central records cases'
    // requested/decided instants so; none is in the report today).
    Rule::Word("unix_ms"),
    // `*_latency_ms`: wall latencies; `cases[].decision_latency_ms` is the
    // wall time from a request to its decision.
    Rule::Word("latency_ms"),
    // `*wall_ms`: a wall duration (none in the report today).
    Rule::Word("wall_ms"),
    // `*elapsed_ms`: a wall duration (none in the report today).
    Rule::Word("elapsed_ms"),
    // `pid`: a process id (`nodes[].pid`; none elsewhere today).
    Rule::Word("pid"),
    // `endpoint`: a node's URL, which holds its port (none in the report's
    // keys today; `reconcile.unreachable` holds some in its text).
    Rule::Word("endpoint"),
    // `address`: a listening address (none in the report today).
    Rule::Word("address"),
    // `addr`: a listening address (`nodes[].addr`; none elsewhere today).
    Rule::Word("addr"),
    // `port`: a listening port, chosen at launch (none in the report today).
    Rule::Word("port"),
];

/// Whether the digest leaves out `key`, found at the report's top level or
/// deeper.
pub fn is_excluded(key: &str, top_level: bool) -> bool {
    EXCLUDED.iter().any(|rule| rule.matches(key, top_level))
}

/// `sha256:` and the 64 lowercase hex digits of the SHA-256 of
/// [`canonical`]`(report)`.
pub fn digest(report: &Value) -> String {
    let hash = Sha256::digest(canonical(report).as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Sets the report's `digest` to [`digest`] of the rest: the last thing
/// done to a report before it is written or printed. A report that is not
/// an object is left as it is.
pub fn stamp(report: &mut Value) {
    let digest = digest(report);
    if let Value::Object(object) = report {
        object.insert("digest".into(), Value::String(digest));
    }
}

/// The text the digest hashes: the report without the [`EXCLUDED`] keys,
/// compact, every object's keys sorted (see the module documentation).
pub fn canonical(report: &Value) -> String {
    let mut out = String::new();
    write_canonical(report, true, &mut out);
    out
}

fn write_canonical(value: &Value, top_level: bool, out: &mut String) {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object
                .iter()
                .filter(|(key, _)| !is_excluded(key, top_level))
                .collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(':');
                write_canonical(value, false, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, false, out);
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out),
    }
}

/// A string, number, boolean or null as serde_json writes it.
fn write_scalar(value: &Value, out: &mut String) {
    out.push_str(&serde_json::to_string(value).expect("a JSON scalar always serialises"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{merge_launch_facts, LaunchedNode};
    use serde_json::json;

    /// Central's report of a small lockstep run, `seed` and `clock`
    /// included.
    fn central_report() -> Value {
        json!({
            "scenario": "small",
            "mode": "historical",
            "seed": 42,
            "clock": {"mode": "lockstep", "step_minutes": 60, "day_ms": 0},
            "day_ms": 0,
            "start_date": "2020-02-07",
            "finished_at": "2020-03-20 00:00",
            "pairings": [{"city": "huangshi", "provinces": ["jiangsu"], "mode": "historical"}],
            "cases": [
                {"case_id": "case-huangshi-1", "city": "huangshi", "provinces": ["jiangsu"],
                 "status": "closed", "severity": "high", "reason": "",
                 "requested_at": "2020-02-08 06:00", "decided_at": "2020-02-08 07:00",
                 "first_arrival_at": "2020-02-10 12:00", "closed_at": "2020-03-10 06:00",
                 "decision_latency_ms": 12,
                 "targets": {"personnel/doctor": 100},
                 "shipped": {"personnel/doctor": 100, "material/mask_n95": 1000},
                 "received": {"personnel/doctor": 100, "material/mask_n95": 990},
                 "discrepancy": {"material/mask_n95": 10},
                 "evaluations": [{"province": "jiangsu", "kind": "final",
                                  "delivered_fraction": 0.99, "reason": "", "at": "2020-03-10 06:00"}],
                 "events": [{"at": "2020-02-08 06:00", "at_ms": 82800000, "step": "requested",
                             "detail": ""}]}
            ],
            "ledger": [{"case_id": "case-huangshi-1", "city": "huangshi", "province": "jiangsu",
                        "resource_type": "personnel/doctor", "target": 100, "shipped": 100,
                        "received": 100, "discrepancy": 0, "in_transit": 0}],
            "costs": {"jiangsu": 1200000},
            "messages": {"Shipment": 7, "Receipt": 6},
            "protocol_versions": {"jiangsu": "0.2.0", "huangshi": "0.2.0"}
        })
    }

    /// The report `pairctl up` writes: launch facts, the reconciliation,
    /// the digest.
    fn written_report(pid_base: u32, port_base: u16, wall_time_ms: u64) -> Value {
        let nodes = [
            LaunchedNode::on_loopback("central", "central", pid_base, port_base),
            LaunchedNode::on_loopback("jiangsu", "province", pid_base + 1, port_base + 1),
        ];
        let mut report = merge_launch_facts(central_report(), &nodes, wall_time_ms).unwrap();
        report["reconcile"] = json!({
            "quiescent": true, "lines": [],
            "unreachable": [format!("huangshi at http://127.0.0.1:{}: refused", port_base + 2)],
            "totals": {"shipped": 100}
        });
        stamp(&mut report);
        report
    }

    fn digest_of(edit: impl FnOnce(&mut Value)) -> String {
        let mut report = central_report();
        edit(&mut report);
        digest(&report)
    }

    #[test]
    fn the_digest_is_sha256_in_lowercase_hex() {
        let d = digest(&central_report());
        let hex = d.strip_prefix("sha256:").expect(&d);
        assert_eq!(hex.len(), 64, "{d}");
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{d}"
        );
    }

    #[test]
    fn the_digest_is_sha256_of_the_canonical_form() {
        // Known answer: sha256 of `{"a":1}` (`printf '{"a":1}' | sha256sum`).
        assert_eq!(canonical(&json!({"a": 1, "wall_time_ms": 5})), r#"{"a":1}"#);
        assert_eq!(
            digest(&json!({"a": 1, "wall_time_ms": 5})),
            "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }

    #[test]
    fn runs_that_differ_only_in_processes_and_wall_time_have_equal_digests() {
        let one = written_report(100, 5000, 45_250);
        let mut other = written_report(9_999, 41_000, 3_000);
        other["cases"][0]["decision_latency_ms"] = json!(4_321);
        other["day_ms"] = json!(50);
        other["clock"]["day_ms"] = json!(50);
        assert_ne!(one["nodes"], other["nodes"]);
        assert_eq!(one["digest"], other["digest"]);
        assert_eq!(digest(&one), digest(&other));
    }

    #[test]
    fn no_excluded_field_reaches_the_canonical_form() {
        let text = canonical(&written_report(100, 5000, 45_250));
        for gone in [
            "\"digest\"",
            "\"nodes\"",
            "\"pid\"",
            "\"addr\"",
            "127.0.0.1",
            "\"reconcile\"",
            "\"wall_time_ms\"",
            "\"day_ms\"",
            "\"decision_latency_ms\"",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        // Scenario times stay, in milliseconds too.
        for kept in ["\"at_ms\":82800000", "\"seed\":42", "\"step_minutes\":60"] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
    }

    #[test]
    fn central_report_and_the_written_report_have_one_digest() {
        // `pairctl report` digests central's report; `pairctl up` the one
        // with launch facts and reconciliation merged: one run, one digest.
        let written = written_report(100, 5000, 45_250);
        assert_eq!(written["digest"], json!(digest(&central_report())));
    }

    #[test]
    fn the_digest_key_itself_is_ignored() {
        let plain = digest(&central_report());
        assert_eq!(digest_of(|r| r["digest"] = json!("sha256:anything")), plain);
        let mut report = central_report();
        stamp(&mut report);
        stamp(&mut report);
        assert_eq!(report["digest"], json!(plain));
        // Only at the top: a `digest` deeper down is part of the story.
        assert_ne!(digest_of(|r| r["cases"][0]["digest"] = json!("x")), plain);
    }

    #[test]
    fn a_shipped_quantity_changes_the_digest() {
        let plain = digest(&central_report());
        assert_ne!(
            digest_of(|r| r["cases"][0]["shipped"]["material/mask_n95"] = json!(1001)),
            plain
        );
        assert_ne!(digest_of(|r| r["ledger"][0]["received"] = json!(99)), plain);
    }

    #[test]
    fn a_date_changes_the_digest() {
        let plain = digest(&central_report());
        assert_ne!(
            digest_of(|r| r["cases"][0]["closed_at"] = json!("2020-03-10 07:00")),
            plain
        );
        assert_ne!(
            digest_of(|r| r["cases"][0]["events"][0]["at_ms"] = json!(82800001)),
            plain
        );
    }

    #[test]
    fn the_seed_and_the_clock_change_the_digest() {
        let plain = digest(&central_report());
        assert_ne!(digest_of(|r| r["seed"] = json!(43)), plain);
        assert_ne!(digest_of(|r| r["clock"]["step_minutes"] = json!(30)), plain);
        assert_ne!(
            digest_of(|r| r["clock"] = json!({"mode": "wall", "day_ms": 0})),
            plain
        );
    }

    #[test]
    fn the_order_of_cases_is_part_of_the_story() {
        let mut report = central_report();
        let second = json!({"case_id": "case-ezhou-1", "status": "closed"});
        report["cases"].as_array_mut().unwrap().push(second.clone());
        let mut swapped = central_report();
        swapped["cases"].as_array_mut().unwrap().insert(0, second);
        assert_ne!(digest(&report), digest(&swapped));
    }

    #[test]
    fn key_order_does_not_change_the_digest() {
        // Parsed from text, so that with serde_json's `preserve_order` (which
        // keeps the text's order) the two maps iterate differently.
        let a: Value = serde_json::from_str(
            r#"{"seed": 1, "clock": {"mode": "lockstep", "step_minutes": 60},
                "cases": [{"shipped": {"b": 2, "a": 1}, "case_id": "c"}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"cases": [{"case_id": "c", "shipped": {"a": 1, "b": 2}}],
                "clock": {"step_minutes": 60, "mode": "lockstep"}, "seed": 1}"#,
        )
        .unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_eq!(
            canonical(&b),
            r#"{"cases":[{"case_id":"c","shipped":{"a":1,"b":2}}],"clock":{"mode":"lockstep","step_minutes":60},"seed":1}"#
        );
    }

    #[test]
    fn rules_match_whole_words_at_any_depth() {
        assert!(is_excluded("decision_latency_ms", false));
        assert!(is_excluded("requested_unix_ms", false));
        assert!(is_excluded("day_ms", false));
        assert!(is_excluded("grpc_port", false));
        assert!(is_excluded("wall_time_ms", false));
        assert!(is_excluded("nodes", true));
        // Not whole words, or not at the top.
        assert!(!is_excluded("report", false));
        assert!(!is_excluded("transport", false));
        assert!(!is_excluded("rapid", false));
        assert!(!is_excluded("at_ms", false));
        assert!(!is_excluded("nodes", false));
        assert!(!is_excluded("digest", false));
    }
}
