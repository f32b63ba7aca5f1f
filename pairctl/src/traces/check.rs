//! The protocol checker over the spans of a run: pure, no I/O.
//!
//! Spans are grouped by their `pairing.case_id`; spans of no case
//! (registration, clock start, capacity reports) are only looked up as
//! parents. Per case it checks that
//! 1. every span is in the case's trace (the trace of its `city.request`):
//!    a node that does not extract the W3C context starts a new trace;
//! 2. the case's trace spans at least three services (city, central, a
//!    donor) once the case was paired; two (city and central) before that
//!    or when it was rejected, since no donor has a part in it yet;
//! 3. the root is the one `city.request` (found by the case id, or at the
//!    top of the case's parent chains) and has no parent; every other
//!    span has its parent among the spans; a server span's parent is a
//!    client span of another service, the one the conventions name (a
//!    real call edge);
//! 4. the stages come in a legal order (see [`super::order`]).
//!
//! Each violation names the case, the span and the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::case::{Case, SpanIndex};
use super::conventions::{self, CITY_REQUEST};
use super::model::Span;
use super::order;

/// The rules the checker applies, one per kind of violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A span of the case is in another trace than the case's root.
    OneTrace,
    /// The case's trace has spans from too few services.
    Services,
    /// The case has no `city.request` root, or the root has a parent.
    Root,
    /// A span other than the root has no parent, or its parent is not
    /// among the spans.
    Parent,
    /// A server span's parent is not the sender's client span in another
    /// service.
    CallEdge,
    /// A stage came before the stage it depends on.
    Order,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::OneTrace => "one-trace",
            Rule::Services => "services",
            Rule::Root => "root",
            Rule::Parent => "parent",
            Rule::CallEdge => "call-edge",
            Rule::Order => "order",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule, at one span of one case. A rule about the whole case
/// (too few services, no root) names the case's first span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub case_id: String,
    pub span_id: String,
    pub span_name: String,
    pub rule: Rule,
    pub message: String,
}

/// What the checker saw of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseSummary {
    pub case_id: String,
    /// The trace of the case's root (or, lacking a root, its most common
    /// trace).
    pub trace_id: String,
    pub spans: usize,
    /// Distinct services among all the case's spans, sorted.
    pub services: Vec<String>,
    /// `pairing.stage` of the case's first and last span that has one.
    pub first_stage: Option<String>,
    pub last_stage: Option<String>,
    /// A donor was assigned (a `central.assign` or `province.assignment`).
    pub paired: bool,
    pub violations: usize,
}

/// The checker's verdict over a run's spans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// One per case, by case id.
    pub cases: Vec<CaseSummary>,
    /// Case by case, in the order of the rules.
    pub violations: Vec<Violation>,
    /// Spans that carry no case id (not checked, only used as parents).
    pub spans_without_case: usize,
}

impl CheckReport {
    /// No rule broken.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations found in `case_id`.
    pub fn violations_of<'a>(&'a self, case_id: &'a str) -> impl Iterator<Item = &'a Violation> {
        self.violations.iter().filter(move |v| v.case_id == case_id)
    }
}

/// Services a paired case's trace must span: city, central, a donor.
pub const MIN_SERVICES_PAIRED: usize = 3;
/// Services any case's trace must span: city and central.
pub const MIN_SERVICES_UNPAIRED: usize = 2;

/// Checks every case found in `spans`.
pub fn check(spans: &[Span]) -> CheckReport {
    let index = SpanIndex::new(spans);
    let mut by_case: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
    let mut spans_without_case = 0;
    for span in spans {
        match span.case_id() {
            Some(case_id) => by_case.entry(case_id).or_default().push(span),
            None => spans_without_case += 1,
        }
    }
    let mut report = CheckReport {
        spans_without_case,
        ..CheckReport::default()
    };
    for (case_id, case_spans) in by_case {
        let case = Case::new(case_id, case_spans, &index);
        let before = report.violations.len();
        check_root(&case, &mut report.violations);
        check_parents(&case, &index, &mut report.violations);
        check_services(&case, &mut report.violations);
        order::check(&case, &index, &mut report.violations);
        report
            .cases
            .push(case.summary(report.violations.len() - before));
    }
    report
}

/// Rule 3, the root: one `city.request` without a parent.
fn check_root(case: &Case, out: &mut Vec<Violation>) {
    match case.root {
        None => out.push(case.violation(
            case.anchor(),
            Rule::Root,
            format!("the case has no {CITY_REQUEST} span to root its trace"),
        )),
        Some(root) if root.parent_span_id.is_some() => out.push(case.violation(
            root,
            Rule::Root,
            format!("{CITY_REQUEST} is the root but has a parent"),
        )),
        Some(_) => {}
    }
}

/// Rules 1 and 3: one trace, parents present, server spans under the
/// sender's client span.
fn check_parents(case: &Case, index: &SpanIndex, out: &mut Vec<Violation>) {
    for &span in &case.spans {
        if span.trace_id != case.trace_id {
            out.push(case.violation(
                span,
                Rule::OneTrace,
                format!(
                    "in trace {} but the case's trace is {}",
                    span.trace_id, case.trace_id
                ),
            ));
        }
        if case.root.is_some_and(|root| std::ptr::eq(root, span)) {
            continue;
        }
        match (&span.parent_span_id, index.parent(span)) {
            (None, _) => out.push(case.violation(
                span,
                Rule::Parent,
                "has no parent: it starts a trace of its own (was the caller's context extracted?)"
                    .to_string(),
            )),
            (Some(parent_id), None) => out.push(case.violation(
                span,
                Rule::Parent,
                format!("its parent {parent_id} is not among the spans of its trace"),
            )),
            (Some(_), Some(parent)) => check_call_edge(case, span, parent, out),
        }
    }
}

/// A server span's parent must be the sender's client span: another
/// service, and a name the conventions allow.
fn check_call_edge(case: &Case, span: &Span, parent: &Span, out: &mut Vec<Violation>) {
    let Some(expected) = conventions::expected_parents(&span.name) else {
        return;
    };
    if parent.service == span.service {
        out.push(case.violation(
            span,
            Rule::CallEdge,
            format!(
                "server span's parent {} ({}) is in its own service {}, not the caller's",
                parent.name, parent.span_id, parent.service
            ),
        ));
    } else if !conventions::is_client(&parent.name) || !expected.contains(&parent.name.as_str()) {
        let wanted = expected.join(" or ");
        out.push(case.violation(
            span,
            Rule::CallEdge,
            format!(
                "server span's parent is {} ({}), expected {wanted}",
                parent.name, parent.service
            ),
        ));
    }
}

/// Rule 2: enough services in the case's trace.
fn check_services(case: &Case, out: &mut Vec<Violation>) {
    let services: BTreeSet<&str> = case
        .spans
        .iter()
        .filter(|s| s.trace_id == case.trace_id)
        .map(|s| s.service.as_str())
        .collect();
    let (needed, why) = if case.paired() {
        (MIN_SERVICES_PAIRED, "a paired case needs")
    } else {
        (MIN_SERVICES_UNPAIRED, "a case needs")
    };
    if services.len() < needed {
        let listed: Vec<&str> = services.into_iter().collect();
        out.push(case.violation(
            case.anchor(),
            Rule::Services,
            format!(
                "its trace spans {} service(s) ({}); {why} {needed}",
                listed.len(),
                listed.join(", ")
            ),
        ));
    }
}
