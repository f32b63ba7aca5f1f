//! Distributed tracing of the protocol: one assistance case is one trace.
//!
//! - Every outgoing call carries the W3C `traceparent` of the span it is
//!   made in ([`inject`], done by `client::request`); every handler opens its
//!   span as a child of the caller's ([`server_span`]).
//! - Later steps of a case, started by a timer days later in scenario time,
//!   join the case's trace through [`CaseTraces`], which remembers each
//!   case's span context.
//! - Span names say what happened (`central.assess`, `province.ship`); the
//!   attributes share one scheme (`pairing.case_id`, `pairing.city`,
//!   `pairing.province`, `pairing.stage`, `pairing.shipment_id`,
//!   `pairing.qty.<resource type>`).
//!
//! With no exporter installed (see `telemetry`), spans carry no OpenTelemetry
//! context: nothing is injected, stored or exported.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::Context;
use pairing_proto::v1::ResourceQuantity;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Attribute keys, one naming scheme for every node.
pub mod key {
    pub const CASE_ID: &str = "pairing.case_id";
    pub const CITY: &str = "pairing.city";
    pub const PROVINCE: &str = "pairing.province";
    pub const STAGE: &str = "pairing.stage";
    pub const SHIPMENT_ID: &str = "pairing.shipment_id";
    pub const ASSIGNMENT_ID: &str = "pairing.assignment_id";
    /// A dispute and its ruling (docs/PROTOCOL.md, "Mediation").
    pub const DISPUTE_ID: &str = "pairing.dispute_id";
    /// Upheld or dismissed, on a ruling's spans.
    pub const RULING: &str = "pairing.ruling";
    /// Prefix of quantities: `pairing.qty.personnel/doctor`.
    pub const QTY_PREFIX: &str = "pairing.qty.";
}

/// The protocol stage a span belongs to (`pairing.stage`): the catalog's.
pub use counterpart_protocol::Stage;

/// Whether `meta` is one of this module's spans: a handler's or a
/// sender's, one per message, made for the trace exporter. The log layer
/// leaves them out at `info` (`telemetry::init`).
pub fn is_protocol_span(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_span() && meta.target() == module_path!()
}

/// A handler's span, child of the caller's span carried in `metadata`.
/// Disabled (and free) when no layer takes it: no exporter, logs at
/// `info`.
pub fn server_span(name: &str, stage: Stage, metadata: &MetadataMap) -> Span {
    let span = tracing::info_span!("rpc", otel.name = name, otel.kind = "server");
    if span.is_disabled() {
        return span;
    }
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&MetadataReader(metadata)));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span.set_attribute(key::STAGE, stage.as_str());
    span
}

/// A sender's span: child of `parent` (a case's remembered context) when
/// given, else of the current span, else the root of a new trace.
pub fn client_span(name: &str, stage: Stage, parent: Option<Context>) -> Span {
    let span = tracing::info_span!("send", otel.name = name, otel.kind = "client");
    if let Some(parent) = parent {
        let _ = span.set_parent(parent);
    }
    span.set_attribute(key::STAGE, stage.as_str());
    span
}

/// Sets a string attribute (nothing is copied for a disabled span).
pub fn annotate(span: &Span, key: &'static str, value: &str) {
    if span.is_disabled() {
        return;
    }
    span.set_attribute(key, value.to_string());
}

/// Records quantities as `pairing.qty.<type>` attributes.
pub fn quantities(span: &Span, lines: &[ResourceQuantity]) {
    if span.is_disabled() {
        return;
    }
    for line in lines {
        span.set_attribute(
            format!("{}{}", key::QTY_PREFIX, line.resource_type),
            line.quantity,
        );
    }
}

/// Marks the span as an error (a rejected request, a discrepancy, a penalty,
/// a refused message).
pub fn fail(span: &Span, message: &str) {
    span.set_status(Status::error(message.to_string()));
}

/// Writes the span's context into outgoing gRPC metadata as `traceparent`.
pub fn inject(span: &Span, metadata: &mut MetadataMap) {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataWriter(metadata))
    });
}

struct MetadataWriter<'a>(&'a mut MetadataMap);

impl Injector for MetadataWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

struct MetadataReader<'a>(&'a MetadataMap);

impl Extractor for MetadataReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// Cases whose trace context a node remembers at once; the oldest is
/// forgotten first (a forgotten case's later steps start new traces, which
/// the checker reports).
pub const MAX_REMEMBERED_CASES: usize = 10_000;

/// The trace context of each case this node takes part in, so that steps a
/// timer starts days later join the case's trace.
#[derive(Debug, Default)]
pub struct CaseTraces {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    order: VecDeque<String>,
    contexts: HashMap<String, Context>,
}

impl CaseTraces {
    /// Remembers `span` as the context of `case_id`, unless one is known.
    pub fn remember(&self, case_id: &str, span: &Span) {
        let cx = span.context();
        if !cx.span().span_context().is_valid() {
            return;
        }
        let mut inner = self.inner.lock().expect("case traces lock poisoned");
        if inner.contexts.contains_key(case_id) {
            return;
        }
        inner.contexts.insert(case_id.to_string(), cx);
        inner.order.push_back(case_id.to_string());
        if inner.order.len() > MAX_REMEMBERED_CASES {
            let oldest = inner.order.pop_front().expect("over the bound");
            inner.contexts.remove(&oldest);
        }
    }

    /// The context of `case_id`, if remembered.
    pub fn context(&self, case_id: &str) -> Option<Context> {
        self.inner
            .lock()
            .expect("case traces lock poisoned")
            .contexts
            .get(case_id)
            .cloned()
    }

    /// The W3C trace id of `case_id`'s trace, if remembered: the handle
    /// for the case in a trace viewer (the dashboard links to it).
    pub fn trace_id(&self, case_id: &str) -> Option<String> {
        let cx = self.context(case_id)?;
        Some(cx.span().span_context().trace_id().to_string())
    }

    /// A sender's span for a step of `case_id`, in the case's trace.
    pub fn client_span(&self, name: &str, stage: Stage, case_id: &str) -> Span {
        let span = client_span(name, stage, self.context(case_id));
        annotate(&span, key::CASE_ID, case_id);
        span
    }
}
