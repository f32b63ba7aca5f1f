//! `pairctl check-traces FILE`: checks the traces of a run against the
//! protocol. FILE is a Jaeger JSON export or a JSON array of
//! [`Span`]s; prints a summary per case and every violation, and exits 1
//! when a rule is broken (or when no span names a case: nothing checked).

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::CheckTracesArgs;
use crate::table::{Align, Table};
use crate::traces::check::{check, CheckReport};
use crate::traces::jaeger;
use crate::traces::model::{normalize_id, Span, SPAN_ID_HEX_LEN, TRACE_ID_HEX_LEN};

pub fn run(args: CheckTracesArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let spans = read_spans(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| args.file.display().to_string())?;
    let report = check(&spans);
    print!("{}", render(&report));
    let passed = report.is_clean() && !report.cases.is_empty();
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Spans from either format: an array is ours, an object is Jaeger's.
pub fn read_spans(text: &str) -> Result<Vec<Span>, String> {
    if !text.trim_start().starts_with('[') {
        return jaeger::spans_from_export(text);
    }
    let mut spans: Vec<Span> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON array of spans: {e}"))?;
    for (i, span) in spans.iter_mut().enumerate() {
        normalize_ids(span).map_err(|why| format!("[{i}].{why}"))?;
    }
    Ok(spans)
}

/// Ids as the checker compares them: lower-case, zero-padded hex.
fn normalize_ids(span: &mut Span) -> Result<(), String> {
    let bad = |field: &str, id: &str| format!("{field}: {id:?} is not a hex id");
    span.trace_id = normalize_id(&span.trace_id, TRACE_ID_HEX_LEN)
        .ok_or_else(|| bad("trace_id", &span.trace_id))?;
    span.span_id = normalize_id(&span.span_id, SPAN_ID_HEX_LEN)
        .ok_or_else(|| bad("span_id", &span.span_id))?;
    if let Some(parent) = &span.parent_span_id {
        span.parent_span_id = Some(
            normalize_id(parent, SPAN_ID_HEX_LEN).ok_or_else(|| bad("parent_span_id", parent))?,
        );
    }
    Ok(())
}

/// The per-case table, each violation on its own line, and a verdict.
pub fn render(report: &CheckReport) -> String {
    let mut cases = Table::new(&[
        ("case", Align::Left),
        ("spans", Align::Right),
        ("services", Align::Right),
        ("first stage", Align::Left),
        ("last stage", Align::Left),
        ("violations", Align::Right),
    ]);
    for case in &report.cases {
        cases.row([
            case.case_id.clone(),
            case.spans.to_string(),
            case.services.len().to_string(),
            case.first_stage.clone().unwrap_or_else(|| "-".into()),
            case.last_stage.clone().unwrap_or_else(|| "-".into()),
            case.violations.to_string(),
        ]);
    }
    let mut out = String::new();
    if !cases.is_empty() {
        out.push_str(&cases.render());
        out.push('\n');
    }
    for v in &report.violations {
        out.push_str(&format!(
            "{} {} ({}) [{}]: {}\n",
            v.case_id, v.span_name, v.span_id, v.rule, v.message
        ));
    }
    let verdict = if report.cases.is_empty() {
        "FAILED: no span carries pairing.case_id, nothing was checked".to_string()
    } else if report.is_clean() {
        format!("OK: {} case(s), every rule holds", report.cases.len())
    } else {
        format!(
            "FAILED: {} violation(s) in {} of {} case(s)",
            report.violations.len(),
            report.cases.iter().filter(|c| c.violations > 0).count(),
            report.cases.len()
        )
    };
    out.push_str(&verdict);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"[{"trace_id": "AB", "span_id": "1", "service": "city-huangshi",
        "name": "city.request", "start_unix_ns": 1, "end_unix_ns": 2,
        "attributes": {"pairing.case_id": "case-huangshi-1", "pairing.stage": "launch"}}]"#;

    #[test]
    fn our_span_array_is_read_with_normalised_ids() {
        let spans = read_spans(REQUEST).unwrap();
        assert_eq!(spans[0].trace_id, format!("{:0>32}", "ab"));
        assert_eq!(spans[0].span_id, "0000000000000001");
        assert_eq!(spans[0].parent_span_id, None);
        assert!(!spans[0].error);
    }

    #[test]
    fn a_bad_id_in_the_array_is_named() {
        let err =
            read_spans(&REQUEST.replace(r#""span_id": "1""#, r#""span_id": "q""#)).unwrap_err();
        assert_eq!(err, r#"[0].span_id: "q" is not a hex id"#);
    }

    #[test]
    fn an_object_is_read_as_a_jaeger_export() {
        let err = read_spans(r#"{"data": 5}"#).unwrap_err();
        assert!(err.starts_with("not a Jaeger JSON export"), "{err}");
    }

    #[test]
    fn the_render_lists_cases_violations_and_the_verdict() {
        // A lone request: a case seen by one service only.
        let report = check(&read_spans(REQUEST).unwrap());
        let text = render(&report);
        assert!(text.contains("case-huangshi-1"), "{text}");
        assert!(
            text.contains("city.request (0000000000000001) [services]"),
            "{text}"
        );
        assert!(
            text.ends_with("FAILED: 1 violation(s) in 1 of 1 case(s)\n"),
            "{text}"
        );
    }

    #[test]
    fn nothing_to_check_is_a_failure() {
        let text = render(&check(&[]));
        assert!(text.starts_with("FAILED: no span"), "{text}");
    }
}
