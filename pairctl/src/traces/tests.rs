//! The checker against synthetic runs: one correct paired case, then each
//! rule broken once.

use std::collections::BTreeMap;

use super::check::{check, CheckReport, Rule};
use super::model::{Span, CASE_ID, DISPUTE_ID, PROVINCE, SHIPMENT_ID, STAGE};

const CASE: &str = "case-huangshi-1";
const SHIPMENT: &str = "shp-jiangsu-case-huangshi-1-1";
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// Builds one trace span by span, each starting 1 ms after the last.
struct TraceBuilder {
    trace_id: String,
    spans: Vec<Span>,
}

impl TraceBuilder {
    fn new(trace_id: &str) -> Self {
        TraceBuilder {
            trace_id: trace_id.to_string(),
            spans: Vec::new(),
        }
    }

    /// Adds a span of the case under `parent` (a span name already added),
    /// with extra attributes; returns its name for chaining parents.
    fn add(&mut self, parent: Option<&str>, service: &str, name: &str, attrs: &[(&str, &str)]) {
        let parent_span_id = parent.map(|p| self.get(p).span_id.clone());
        let n = self.spans.len() as u64 + 1;
        let mut attributes: BTreeMap<String, String> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        attributes.insert(CASE_ID.into(), CASE.into());
        self.spans.push(Span {
            trace_id: self.trace_id.clone(),
            span_id: format!("{n:016x}"),
            parent_span_id,
            service: service.to_string(),
            name: name.to_string(),
            start_unix_ns: n * 1_000_000,
            end_unix_ns: n * 1_000_000 + 500_000,
            attributes,
            error: false,
        });
    }

    fn get(&self, name: &str) -> &Span {
        self.spans.iter().find(|s| s.name == name).expect(name)
    }
}

const CITY: &str = "city-huangshi";
const DONOR: &str = "province-jiangsu";

/// A whole correct case: request, assessment, one donor that acknowledges,
/// ships once, gets its receipt, is demobilised and reports; the case
/// closes. Plus a registration span of no case.
fn paired_case() -> Vec<Span> {
    let mut spans = paired_trace().spans;
    spans.push(Span {
        trace_id: "1".repeat(32),
        span_id: "1".repeat(16),
        parent_span_id: None,
        service: "central".into(),
        name: "central.register".into(),
        start_unix_ns: 0,
        end_unix_ns: 1,
        attributes: BTreeMap::new(),
        error: false,
    });
    spans
}

/// The paired case's spans, in the order they start.
fn paired_trace() -> TraceBuilder {
    let mut t = TraceBuilder::new(TRACE);
    let shp = &[(SHIPMENT_ID, SHIPMENT), (STAGE, "implementation")];
    t.add(None, CITY, "city.request", &[(STAGE, "launch")]);
    t.add(
        Some("city.request"),
        "central",
        "central.assess",
        &[(STAGE, "decision")],
    );
    t.add(
        Some("central.assess"),
        "central",
        "central.assign",
        &[(PROVINCE, "jiangsu")],
    );
    t.add(Some("central.assign"), DONOR, "province.assignment", &[]);
    t.add(
        Some("province.assignment"),
        DONOR,
        "province.acknowledge",
        &[],
    );
    t.add(
        Some("province.acknowledge"),
        "central",
        "central.acknowledgement",
        &[(PROVINCE, "jiangsu")],
    );
    t.add(Some("central.assess"), "central", "central.decide", &[]);
    t.add(Some("central.decide"), CITY, "city.decision", &[]);
    t.add(Some("province.assignment"), DONOR, "province.ship", shp);
    t.add(Some("province.ship"), CITY, "city.shipment", shp);
    t.add(Some("city.shipment"), CITY, "city.receipt", shp);
    t.add(Some("city.receipt"), DONOR, "province.receipt", shp);
    let demob = &[(STAGE, "demobilisation")];
    t.add(
        Some("city.request"),
        CITY,
        "city.demobilisation_request",
        demob,
    );
    t.add(
        Some("city.demobilisation_request"),
        "central",
        "central.demobilisation",
        demob,
    );
    t.add(
        Some("central.demobilisation"),
        "central",
        "central.demobilise",
        demob,
    );
    t.add(
        Some("central.demobilise"),
        DONOR,
        "province.stand_down",
        demob,
    );
    t.add(Some("province.stand_down"), DONOR, "province.report", demob);
    t.add(Some("province.report"), "central", "central.report", demob);
    t.add(Some("central.report"), "central", "central.close", demob);
    t.add(Some("central.close"), CITY, "city.closure", demob);
    t
}

/// The paired case with a mediation: the city disputes its donor's
/// shipments, central rules and tells both sides.
fn mediated_case() -> Vec<Span> {
    let mut t = paired_trace();
    let dispute = &[(DISPUTE_ID, "dsp-1"), (STAGE, "implementation")];
    t.add(Some("city.request"), CITY, "city.dispute", dispute);
    t.add(Some("city.dispute"), "central", "central.dispute", dispute);
    t.add(
        Some("central.assess"),
        "central",
        "central.mediate",
        dispute,
    );
    t.add(
        Some("central.mediate"),
        DONOR,
        "province.mediation",
        dispute,
    );
    t.add(Some("central.mediate"), CITY, "city.mediation", dispute);
    t.spans
}

#[test]
fn a_mediated_case_passes_and_a_ruling_before_its_dispute_is_caught() {
    let report = check(&mediated_case());
    assert!(report.is_clean(), "{:#?}", report.violations);
    let mut spans = mediated_case();
    let raised = span_mut(&mut spans, "central.dispute").start_unix_ns;
    span_mut(&mut spans, "central.mediate").start_unix_ns = raised - 1;
    assert_one(&check(&spans), Rule::Order, "central.mediate");
}

fn span_mut<'a>(spans: &'a mut [Span], name: &str) -> &'a mut Span {
    spans.iter_mut().find(|s| s.name == name).expect(name)
}

/// Asserts `report` has exactly one violation, of `rule` at span `name`
/// of the case.
fn assert_one(report: &CheckReport, rule: Rule, name: &str) {
    assert_eq!(report.violations.len(), 1, "{:#?}", report.violations);
    let v = &report.violations[0];
    assert_eq!(
        (v.case_id.as_str(), v.rule, v.span_name.as_str()),
        (CASE, rule, name),
        "{v:#?}"
    );
}

#[test]
fn a_correct_case_passes() {
    let report = check(&paired_case());
    assert!(report.is_clean(), "{:#?}", report.violations);
    assert_eq!(report.spans_without_case, 1);
    let [case] = &report.cases[..] else {
        panic!("{:#?}", report.cases)
    };
    assert_eq!(
        (case.case_id.as_str(), case.spans, case.trace_id.as_str()),
        (CASE, 20, TRACE)
    );
    assert_eq!(case.services, ["central", CITY, DONOR]);
    assert_eq!(case.first_stage.as_deref(), Some("launch"));
    assert_eq!(case.last_stage.as_deref(), Some("demobilisation"));
    assert!(case.paired);
}

#[test]
fn a_shipment_before_the_acknowledgement_is_caught() {
    let mut spans = paired_case();
    let ack = span_mut(&mut spans, "central.acknowledgement").start_unix_ns;
    // The ship call starts before central has the acknowledgement; its
    // receipt chain stays in order after it.
    span_mut(&mut spans, "province.ship").start_unix_ns = ack - 1;
    let report = check(&spans);
    assert_one(&report, Rule::Order, "province.ship");
    assert!(
        report.violations[0].message.contains("jiangsu"),
        "{:?}",
        report.violations[0]
    );
    assert_eq!(
        report.violations[0].span_id,
        span_mut(&mut spans, "province.ship").span_id
    );
}

#[test]
fn a_shipment_with_no_acknowledgement_is_caught() {
    let spans: Vec<Span> = paired_case()
        .into_iter()
        .filter(|s| s.name != "central.acknowledgement")
        .collect();
    assert_one(&check(&spans), Rule::Order, "province.ship");
}

#[test]
fn a_receipt_before_its_shipment_arrived_is_caught() {
    let mut spans = paired_case();
    let arrived = span_mut(&mut spans, "city.shipment").start_unix_ns;
    span_mut(&mut spans, "province.receipt").start_unix_ns = arrived - 1;
    assert_one(&check(&spans), Rule::Order, "province.receipt");
}

#[test]
fn an_arrival_before_the_ship_call_is_caught() {
    let mut spans = paired_case();
    let shipped = span_mut(&mut spans, "province.ship").start_unix_ns;
    span_mut(&mut spans, "city.shipment").start_unix_ns = shipped - 1;
    assert_one(&check(&spans), Rule::Order, "city.shipment");
}

#[test]
fn closing_before_the_last_receipt_is_caught() {
    let mut spans = paired_case();
    let receipt = span_mut(&mut spans, "province.receipt").start_unix_ns;
    span_mut(&mut spans, "central.close").start_unix_ns = receipt - 1;
    assert_one(&check(&spans), Rule::Order, "central.close");
}

#[test]
fn a_demobilisation_order_before_the_last_receipt_is_legal() {
    let mut spans = paired_case();
    let receipt = span_mut(&mut spans, "province.receipt").start_unix_ns;
    span_mut(&mut spans, "central.demobilise").start_unix_ns = receipt - 1;
    span_mut(&mut spans, "province.stand_down").start_unix_ns = receipt - 1;
    assert!(check(&spans).is_clean());
}

#[test]
fn shipping_after_standing_down_is_caught() {
    let mut spans = paired_case();
    let stand_down = span_mut(&mut spans, "province.stand_down").start_unix_ns;
    span_mut(&mut spans, "province.ship").start_unix_ns = stand_down + 1;
    // The arrival and receipt follow the late ship call, so only it is
    // out of order (the close now precedes the receipt too: move it on).
    for name in ["city.shipment", "city.receipt", "province.receipt"] {
        span_mut(&mut spans, name).start_unix_ns = stand_down + 2;
    }
    span_mut(&mut spans, "central.close").start_unix_ns = stand_down + 3;
    assert_one(&check(&spans), Rule::Order, "province.ship");
}

#[test]
fn a_span_with_a_foreign_trace_id_is_caught() {
    let mut spans = paired_case();
    // A leaf span recorded under another trace: its parent is not found
    // there either.
    span_mut(&mut spans, "city.closure").trace_id = "f".repeat(32);
    let report = check(&spans);
    let rules: Vec<(Rule, &str)> = report
        .violations
        .iter()
        .map(|v| (v.rule, v.span_name.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (Rule::OneTrace, "city.closure"),
            (Rule::Parent, "city.closure")
        ]
    );
}

#[test]
fn a_case_split_across_two_traces_is_caught() {
    // The donor's node does not extract the context: its assignment span
    // starts a new trace, and what it does under it stays there.
    let mut spans = paired_case();
    let other = "b".repeat(32);
    for span in spans.iter_mut().filter(|s| s.service == DONOR) {
        span.trace_id = other.clone();
    }
    span_mut(&mut spans, "province.assignment").parent_span_id = None;
    let report = check(&spans);
    let split: Vec<&str> = report
        .violations
        .iter()
        .filter(|v| v.rule == Rule::OneTrace)
        .map(|v| v.span_name.as_str())
        .collect();
    assert_eq!(split.len(), 6, "{split:?}");
    assert!(report
        .violations
        .iter()
        .any(|v| v.rule == Rule::Parent && v.span_name == "province.assignment"));
    // The server spans under the donor's calls lose their parents too.
    for name in ["central.acknowledgement", "city.shipment", "central.report"] {
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.rule == Rule::Parent && v.span_name == name),
            "{name}: {:#?}",
            report.violations
        );
    }
    // Without the donor, the case's trace holds only city and central.
    assert!(report.violations.iter().any(|v| v.rule == Rule::Services));
    assert!(report.violations.iter().all(|v| v.case_id == CASE));
}

#[test]
fn a_server_span_under_its_own_service_is_caught() {
    let mut spans = paired_case();
    let own = span_mut(&mut spans, "province.assignment").span_id.clone();
    span_mut(&mut spans, "province.stand_down").parent_span_id = Some(own);
    assert_one(&check(&spans), Rule::CallEdge, "province.stand_down");
}

#[test]
fn a_server_span_under_the_wrong_call_is_caught() {
    let mut spans = paired_case();
    let decide = span_mut(&mut spans, "central.decide").span_id.clone();
    span_mut(&mut spans, "province.assignment").parent_span_id = Some(decide);
    let report = check(&spans);
    assert_one(&report, Rule::CallEdge, "province.assignment");
    assert!(report.violations[0].message.contains("central.assign"));
}

#[test]
fn a_missing_parent_is_caught() {
    let mut spans = paired_case();
    span_mut(&mut spans, "city.decision").parent_span_id = Some("9".repeat(16));
    assert_one(&check(&spans), Rule::Parent, "city.decision");
}

#[test]
fn a_case_without_its_request_has_no_root() {
    let spans: Vec<Span> = paired_case()
        .into_iter()
        .filter(|s| s.name != "city.request")
        .collect();
    let report = check(&spans);
    let root: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.rule == Rule::Root)
        .collect();
    assert_eq!(root.len(), 1, "{:#?}", report.violations);
    assert_eq!(root[0].span_name, "central.assess");
}

#[test]
fn a_paired_case_seen_by_two_services_is_caught() {
    // A donor that exports nothing: its spans are gone, so the call edges
    // into central lose their parents as well.
    let spans: Vec<Span> = paired_case()
        .into_iter()
        .filter(|s| s.service != DONOR)
        .collect();
    let report = check(&spans);
    let services: Vec<_> = report
        .violations_of(CASE)
        .filter(|v| v.rule == Rule::Services)
        .collect();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].span_name, "city.request");
}

#[test]
fn a_rejected_case_needs_only_city_and_central() {
    let mut t = TraceBuilder::new(TRACE);
    t.add(None, CITY, "city.request", &[(STAGE, "launch")]);
    t.add(
        Some("city.request"),
        "central",
        "central.assess",
        &[(STAGE, "decision")],
    );
    t.add(Some("central.assess"), "central", "central.decide", &[]);
    t.add(Some("central.decide"), CITY, "city.decision", &[]);
    let report = check(&t.spans);
    assert!(report.is_clean(), "{:#?}", report.violations);
    assert!(!report.cases[0].paired);
    let alone = &t.spans[..1];
    assert_one(&check(alone), Rule::Services, "city.request");
}

#[test]
fn a_request_sent_before_the_case_had_an_id_is_still_its_root() {
    let mut spans = paired_case();
    span_mut(&mut spans, "city.request")
        .attributes
        .remove(CASE_ID);
    let report = check(&spans);
    assert!(report.is_clean(), "{:#?}", report.violations);
    assert_eq!(report.cases[0].spans, 20);
    assert_eq!(report.cases[0].first_stage.as_deref(), Some("launch"));
}

/// The file the exit-code tests of `pairctl check-traces`
/// (tests/integration/check_traces_cli.rs) feed the binary is this correct case, so
/// the CLI is tested on what the checker is. `UPDATE_FIXTURES=1` rewrites
/// it after a change to the case.
#[test]
fn the_cli_fixture_is_the_paired_case() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paired-case.json");
    let expected = serde_json::to_string_pretty(&paired_case()).unwrap() + "\n";
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
}
