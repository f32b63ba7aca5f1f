//! A Jaeger JSON export to plain spans: the format of the UI's "Download
//! JSON" and of the query API (`/api/traces`): `{"data": [trace...]}`,
//! each trace with its `spans` and a `processes` table naming each
//! span's service. Times are microseconds; the parent is the `CHILD_OF`
//! reference (older exports: `parentSpanID`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::model::{normalize_id, Span, SPAN_ID_HEX_LEN, TRACE_ID_HEX_LEN};

/// The tag Jaeger sets on a span whose status is Error.
const ERROR_TAG: &str = "error";
/// The tag an OTLP span's status becomes in Jaeger.
const STATUS_TAG: &str = "otel.status_code";
const NANOS_PER_MICRO: u64 = 1_000;

#[derive(Debug, Deserialize)]
struct Export {
    data: Vec<Trace>,
}

#[derive(Debug, Deserialize)]
struct Trace {
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: HashMap<String, Process>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JaegerSpan {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(rename = "spanID")]
    span_id: String,
    #[serde(rename = "parentSpanID", default)]
    parent_span_id: Option<String>,
    operation_name: String,
    #[serde(default)]
    references: Vec<Reference>,
    start_time: u64,
    #[serde(default)]
    duration: u64,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(rename = "processID", default)]
    process_id: Option<String>,
    /// Some exports inline the process instead of a `processID`.
    #[serde(default)]
    process: Option<Process>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference {
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Debug, Deserialize)]
struct Tag {
    key: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Process {
    service_name: String,
}

/// Every span of every trace in a Jaeger JSON export. An error names the
/// place, e.g. `data[0].spans[3].spanID: "xyz" is not a hex span id`.
pub fn spans_from_export(json: &str) -> Result<Vec<Span>, String> {
    let export: Export =
        serde_json::from_str(json).map_err(|e| format!("not a Jaeger JSON export: {e}"))?;
    let mut spans = Vec::new();
    for (t, trace) in export.data.iter().enumerate() {
        for (s, span) in trace.spans.iter().enumerate() {
            let span = convert_span(span, &trace.processes)
                .map_err(|why| format!("data[{t}].spans[{s}].{why}"))?;
            spans.push(span);
        }
    }
    Ok(spans)
}

fn convert_span(span: &JaegerSpan, processes: &HashMap<String, Process>) -> Result<Span, String> {
    let trace_id = normalize_id(&span.trace_id, TRACE_ID_HEX_LEN)
        .ok_or_else(|| format!("traceID: {:?} is not a hex trace id", span.trace_id))?;
    let span_id = normalize_id(&span.span_id, SPAN_ID_HEX_LEN)
        .ok_or_else(|| format!("spanID: {:?} is not a hex span id", span.span_id))?;
    let service = match (&span.process, &span.process_id) {
        (Some(process), _) => process.service_name.clone(),
        (None, Some(id)) => processes
            .get(id)
            .map(|p| p.service_name.clone())
            .ok_or_else(|| format!("processID: {id:?} is not in the trace's processes"))?,
        (None, None) => return Err("processID: missing".to_string()),
    };
    let attributes: BTreeMap<String, String> = span
        .tags
        .iter()
        .map(|tag| (tag.key.clone(), tag_text(&tag.value)))
        .collect();
    let error = attributes.get(ERROR_TAG).is_some_and(|v| v == "true")
        || attributes
            .get(STATUS_TAG)
            .is_some_and(|v| v.eq_ignore_ascii_case("error"));
    let start_unix_ns = span.start_time.saturating_mul(NANOS_PER_MICRO);
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id: parent_of(span)?,
        service,
        name: span.operation_name.clone(),
        start_unix_ns,
        end_unix_ns: start_unix_ns.saturating_add(span.duration.saturating_mul(NANOS_PER_MICRO)),
        attributes,
        error,
    })
}

/// The `CHILD_OF` reference (a `FOLLOWS_FROM` is a link, not a parent),
/// else the older `parentSpanID` field; `0` means none.
fn parent_of(span: &JaegerSpan) -> Result<Option<String>, String> {
    let (field, id) = match span
        .references
        .iter()
        .position(|r| r.ref_type == "CHILD_OF")
    {
        Some(i) => (
            format!("references[{i}].spanID"),
            &span.references[i].span_id,
        ),
        None => match &span.parent_span_id {
            Some(id) => ("parentSpanID".to_string(), id),
            None => return Ok(None),
        },
    };
    if id.is_empty() || id.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    normalize_id(id, SPAN_ID_HEX_LEN)
        .map(Some)
        .ok_or_else(|| format!("{field}: {id:?} is not a hex span id"))
}

/// A tag value as text: strings as they are, the rest as JSON prints them.
fn tag_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two spans of one case from two services, as the Jaeger UI exports
    /// them: a 64-bit-looking trace id without leading zeros, a request
    /// that failed, a shipment under it.
    const EXPORT: &str = r#"{
      "data": [{
        "traceID": "abc123",
        "spans": [
          {"traceID": "abc123", "spanID": "1", "flags": 1,
           "operationName": "province.ship", "references": [],
           "startTime": 1581379200000000, "duration": 1500,
           "tags": [{"key": "pairing.case_id", "type": "string", "value": "case-huangshi-1"},
                    {"key": "pairing.qty.personnel/doctor", "type": "int64", "value": 103},
                    {"key": "error", "type": "bool", "value": true}],
           "logs": [], "processID": "p1", "warnings": null},
          {"traceID": "abc123", "spanID": "2",
           "operationName": "city.shipment",
           "references": [{"refType": "FOLLOWS_FROM", "traceID": "abc123", "spanID": "9"},
                          {"refType": "CHILD_OF", "traceID": "abc123", "spanID": "1"}],
           "startTime": 1581379200001000, "duration": 10,
           "tags": [], "processID": "p2"}
        ],
        "processes": {"p1": {"serviceName": "province-jiangsu", "tags": []},
                      "p2": {"serviceName": "city-huangshi"}},
        "warnings": null
      }],
      "total": 0, "limit": 0, "offset": 0, "errors": null
    }"#;

    #[test]
    fn an_export_becomes_plain_spans() {
        let spans = spans_from_export(EXPORT).unwrap();
        let [ship, arrival] = &spans[..] else {
            panic!("{spans:?}")
        };
        assert_eq!(ship.trace_id, format!("{:0>32}", "abc123"));
        assert_eq!(ship.span_id, "0000000000000001");
        assert_eq!(ship.service, "province-jiangsu");
        assert_eq!(ship.name, "province.ship");
        assert_eq!(ship.parent_span_id, None);
        assert_eq!(ship.start_unix_ns, 1_581_379_200_000_000_000);
        assert_eq!(ship.end_unix_ns, ship.start_unix_ns + 1_500_000);
        assert_eq!(ship.case_id(), Some("case-huangshi-1"));
        assert_eq!(ship.attribute("pairing.qty.personnel/doctor"), Some("103"));
        assert!(ship.error);
        assert_eq!(arrival.service, "city-huangshi");
        assert_eq!(arrival.parent_span_id.as_deref(), Some("0000000000000001"));
        assert!(!arrival.error);
    }

    #[test]
    fn an_unknown_process_is_named() {
        let json = EXPORT.replace(r#""processID": "p2""#, r#""processID": "p7""#);
        let err = spans_from_export(&json).unwrap_err();
        assert_eq!(
            err,
            r#"data[0].spans[1].processID: "p7" is not in the trace's processes"#
        );
    }

    #[test]
    fn a_bad_parent_id_is_named() {
        let json = EXPORT.replace(r#""spanID": "1"}"#, r#""spanID": "zz"}"#);
        let err = spans_from_export(&json).unwrap_err();
        assert_eq!(
            err,
            r#"data[0].spans[1].references[1].spanID: "zz" is not a hex span id"#
        );
    }

    #[test]
    fn the_otel_status_marks_an_error() {
        let json = EXPORT.replace(
            r#""tags": [], "processID": "p2""#,
            r#""tags": [{"key": "otel.status_code", "value": "ERROR"}], "processID": "p2""#,
        );
        assert!(spans_from_export(&json).unwrap()[1].error);
    }

    #[test]
    fn what_is_not_an_export_is_refused() {
        assert!(spans_from_export("[]")
            .unwrap_err()
            .starts_with("not a Jaeger JSON export"));
        assert!(spans_from_export(r#"{"data": [{"spans": [{}]}]}"#).is_err());
    }
}
