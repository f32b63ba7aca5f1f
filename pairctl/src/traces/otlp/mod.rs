//! OTLP traces: an `ExportTraceServiceRequest` to plain spans, and (in
//! [`receiver`]) an in-memory OTLP/gRPC trace receiver for tests.
//!
//! A span that cannot be read (an id of the wrong length) is rejected with
//! a message naming its field; the others are kept, as OTLP's partial
//! success allows.

mod receiver;

pub use receiver::{Receiver, MAX_SPANS};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as proto;

use super::model::{hex, Span};

/// The resource attribute naming the exporting node.
pub const SERVICE_NAME: &str = "service.name";
/// The service of a resource that names none (the OpenTelemetry default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

const TRACE_ID_BYTES: usize = 16;
const SPAN_ID_BYTES: usize = 8;

/// The spans of one export request, and why the others were rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversion {
    pub spans: Vec<Span>,
    /// One message per rejected span, naming the field, e.g.
    /// `resource_spans[0].scope_spans[0].spans[3].trace_id: 3 bytes, expected 16`.
    pub rejected: Vec<String>,
}

/// Converts every span of `request`.
pub fn spans_from_request(request: &ExportTraceServiceRequest) -> Conversion {
    let mut conversion = Conversion::default();
    for (r, resource_spans) in request.resource_spans.iter().enumerate() {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| find_attribute(&resource.attributes, SERVICE_NAME))
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
        for (s, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for (i, span) in scope_spans.spans.iter().enumerate() {
                match convert_span(span, &service) {
                    Ok(span) => conversion.spans.push(span),
                    Err(why) => conversion.rejected.push(format!(
                        "resource_spans[{r}].scope_spans[{s}].spans[{i}].{why}"
                    )),
                }
            }
        }
    }
    conversion
}

/// One OTLP span; the error names the field (relative to the span).
fn convert_span(span: &proto::Span, service: &str) -> Result<Span, String> {
    let trace_id = id_hex("trace_id", &span.trace_id, TRACE_ID_BYTES)?;
    let span_id = id_hex("span_id", &span.span_id, SPAN_ID_BYTES)?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(id_hex(
            "parent_span_id",
            &span.parent_span_id,
            SPAN_ID_BYTES,
        )?)
    };
    let error = span
        .status
        .as_ref()
        .is_some_and(|status| status.code == proto::status::StatusCode::Error as i32);
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        service: service.to_string(),
        name: span.name.clone(),
        start_unix_ns: span.start_time_unix_nano,
        end_unix_ns: span.end_time_unix_nano,
        attributes: span
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().map(value_text).unwrap_or_default(),
                )
            })
            .collect(),
        error,
    })
}

/// Hex of an id that must have `len` bytes and not be all zeros.
fn id_hex(field: &str, bytes: &[u8], len: usize) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!("{field}: {} bytes, expected {len}", bytes.len()));
    }
    if bytes.iter().all(|&b| b == 0) {
        return Err(format!("{field}: all zeros is not a valid id"));
    }
    Ok(hex(bytes))
}

fn find_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(value_text)
}

/// An attribute value as text: strings as they are, numbers and booleans
/// as Rust prints them, lists as `[a, b]`.
fn value_text(value: &AnyValue) -> String {
    use any_value::Value;
    match &value.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(bytes)) => hex(bytes),
        Some(Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(value_text).collect();
            format!("[{}]", items.join(", "))
        }
        Some(Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| {
                    format!(
                        "{}: {}",
                        kv.key,
                        kv.value.as_ref().map(value_text).unwrap_or_default()
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        // Only profiles use string-table references; there is no table here.
        Some(Value::StringValueStrindex(_)) | None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    pub(crate) fn string_attribute(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.to_string())),
            }),
            ..Default::default()
        }
    }

    /// An export from `city-huangshi`: its request span (an error, with a
    /// case id and an integer quantity) and the assessment under it.
    pub(crate) fn city_export() -> ExportTraceServiceRequest {
        let request = proto::Span {
            trace_id: vec![0xab; 16],
            span_id: vec![1; 8],
            name: "city.request".into(),
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000,
            attributes: vec![
                string_attribute("pairing.case_id", "case-huangshi-1"),
                KeyValue {
                    key: "pairing.qty.personnel/doctor".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::IntValue(103)),
                    }),
                    ..Default::default()
                },
            ],
            status: Some(Status {
                code: proto::status::StatusCode::Error as i32,
                message: "rejected".into(),
            }),
            ..Default::default()
        };
        let child = proto::Span {
            trace_id: vec![0xab; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![1; 8],
            name: "city.report".into(),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string_attribute(SERVICE_NAME, "city-huangshi")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![request, child],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn an_export_becomes_plain_spans() {
        let conversion = spans_from_request(&city_export());
        assert!(conversion.rejected.is_empty(), "{:?}", conversion.rejected);
        let [request, child] = &conversion.spans[..] else {
            panic!("{:?}", conversion.spans)
        };
        assert_eq!(request.trace_id, "ab".repeat(16));
        assert_eq!(request.span_id, "0101010101010101");
        assert_eq!(request.parent_span_id, None);
        assert_eq!(request.service, "city-huangshi");
        assert_eq!((request.start_unix_ns, request.end_unix_ns), (1_000, 2_000));
        assert_eq!(request.case_id(), Some("case-huangshi-1"));
        assert_eq!(
            request.attribute("pairing.qty.personnel/doctor"),
            Some("103")
        );
        assert!(request.error);
        assert_eq!(child.parent_span_id.as_deref(), Some("0101010101010101"));
        assert!(!child.error);
    }

    #[test]
    fn a_bad_id_rejects_only_its_span() {
        let mut export = city_export();
        export.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![1, 2, 3];
        let conversion = spans_from_request(&export);
        assert_eq!(conversion.spans.len(), 1);
        assert_eq!(
            conversion.rejected,
            ["resource_spans[0].scope_spans[0].spans[1].trace_id: 3 bytes, expected 16"]
        );
        export.resource_spans[0].scope_spans[0].spans[1].parent_span_id = vec![0; 8];
        export.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![1; 16];
        let conversion = spans_from_request(&export);
        assert!(conversion.rejected[0].ends_with("parent_span_id: all zeros is not a valid id"));
    }

    #[test]
    fn a_resource_without_a_name_is_the_unknown_service() {
        let mut export = city_export();
        export.resource_spans[0].resource = None;
        let conversion = spans_from_request(&export);
        assert!(conversion
            .spans
            .iter()
            .all(|s| s.service == UNKNOWN_SERVICE));
    }

    #[test]
    fn lists_and_booleans_read_as_text() {
        let list = AnyValue {
            value: Some(any_value::Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::BoolValue(true)),
                        },
                        AnyValue {
                            value: Some(any_value::Value::DoubleValue(0.5)),
                        },
                    ],
                },
            )),
        };
        assert_eq!(value_text(&list), "[true, 0.5]");
    }
}
