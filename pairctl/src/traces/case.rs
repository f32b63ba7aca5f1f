//! One case's spans as the checker sees them: found by `pairing.case_id`,
//! sorted by start time, with the `city.request` they hang from and the
//! trace they should all be in. Also the index that finds a span's parent.

use std::collections::{BTreeSet, HashMap};

use super::check::{CaseSummary, Rule, Violation};
use super::conventions::CITY_REQUEST;
use super::model::{Span, STAGE};

/// How far up a parent chain the root is looked for: traces here are a
/// few calls deep, and a corrupt export may hold a parent cycle.
const MAX_ANCESTRY: usize = 64;

/// Every span by (trace id, span id), to find parents.
pub(crate) struct SpanIndex<'a> {
    spans: HashMap<(&'a str, &'a str), &'a Span>,
}

impl<'a> SpanIndex<'a> {
    pub(crate) fn new(spans: &'a [Span]) -> Self {
        let spans = spans
            .iter()
            .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), s))
            .collect();
        SpanIndex { spans }
    }

    /// The parent of `span` in its trace, if it has one and it is known.
    pub(crate) fn parent(&self, span: &Span) -> Option<&'a Span> {
        let parent_id = span.parent_span_id.as_deref()?;
        self.spans
            .get(&(span.trace_id.as_str(), parent_id))
            .copied()
    }
}

/// One case's spans, by start time, and the trace they should all be in.
pub(crate) struct Case<'a> {
    pub(crate) id: &'a str,
    pub(crate) spans: Vec<&'a Span>,
    pub(crate) root: Option<&'a Span>,
    pub(crate) trace_id: &'a str,
}

impl<'a> Case<'a> {
    pub(crate) fn new(id: &'a str, mut spans: Vec<&'a Span>, index: &SpanIndex<'a>) -> Self {
        assert!(!spans.is_empty(), "a case is made from its spans");
        let root = own_request(&spans).or_else(|| ancestor_request(&spans, index));
        if let Some(root) = root {
            if !spans.iter().any(|s| std::ptr::eq(*s, root)) {
                spans.push(root);
            }
        }
        spans.sort_by(|a, b| (a.start_unix_ns, &a.span_id).cmp(&(b.start_unix_ns, &b.span_id)));
        let trace_id = match root {
            Some(root) => root.trace_id.as_str(),
            None => most_common_trace(&spans),
        };
        Case {
            id,
            spans,
            root,
            trace_id,
        }
    }

    /// The span a case-wide violation names: the root, else the first.
    pub(crate) fn anchor(&self) -> &'a Span {
        self.root.unwrap_or(self.spans[0])
    }

    pub(crate) fn violation(&self, span: &Span, rule: Rule, message: String) -> Violation {
        Violation {
            case_id: self.id.to_string(),
            span_id: span.span_id.clone(),
            span_name: span.name.clone(),
            rule,
            message,
        }
    }

    /// The spans of the case named `name`, by start time.
    pub(crate) fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a Span> + 's {
        self.spans.iter().copied().filter(move |s| s.name == name)
    }

    pub(crate) fn paired(&self) -> bool {
        self.spans
            .iter()
            .any(|s| s.name == "central.assign" || s.name == "province.assignment")
    }

    pub(crate) fn summary(&self, violations: usize) -> CaseSummary {
        let services: BTreeSet<&str> = self.spans.iter().map(|s| s.service.as_str()).collect();
        let mut stages = self.spans.iter().filter_map(|s| s.attribute(STAGE));
        let first_stage = stages.next().map(str::to_string);
        let last_stage = stages
            .next_back()
            .map(str::to_string)
            .or(first_stage.clone());
        CaseSummary {
            case_id: self.id.to_string(),
            trace_id: self.trace_id.to_string(),
            spans: self.spans.len(),
            services: services.into_iter().map(str::to_string).collect(),
            first_stage,
            last_stage,
            paired: self.paired(),
            violations,
        }
    }
}

/// The trace most of `spans` are in; a tie goes to the earliest span's.
fn most_common_trace<'a>(spans: &[&'a Span]) -> &'a str {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for span in spans {
        *counts.entry(span.trace_id.as_str()).or_default() += 1;
    }
    let best = counts.values().copied().max().unwrap_or(0);
    spans
        .iter()
        .map(|s| s.trace_id.as_str())
        .find(|t| counts[t] == best)
        .expect("a case has spans")
}

/// The case's own `city.request`: a parentless one first; one with a
/// parent is still the best guess of which trace the case meant to be in.
fn own_request<'a>(spans: &[&'a Span]) -> Option<&'a Span> {
    let requests = || spans.iter().copied().filter(|s| s.name == CITY_REQUEST);
    requests()
        .find(|s| s.parent_span_id.is_none())
        .or_else(|| requests().next())
}

/// The `city.request` at the top of a case span's parent chain: the city
/// may send its request before it names the case, so the root can lack
/// the case id. Tries the spans in the order given.
fn ancestor_request<'a>(spans: &[&'a Span], index: &SpanIndex<'a>) -> Option<&'a Span> {
    spans.iter().find_map(|&span| {
        let mut top = span;
        for _ in 0..MAX_ANCESTRY {
            match index.parent(top) {
                Some(parent) => top = parent,
                None => break,
            }
        }
        (top.name == CITY_REQUEST && top.parent_span_id.is_none()).then_some(top)
    })
}
