//! Spans recorded in memory, for the tests that check what the city traces.
//! The recording subscriber is this thread's only (`set_default`), so tests
//! on other threads neither see it nor disturb it; the tests run on a
//! current-thread runtime, where every task of the city runs on this thread.
//!
//! One catch: while a single dispatcher is registered, tracing-core decides
//! whether a callsite is enabled from the subscriber of whichever thread hits
//! it first. Another test's thread, with no subscriber, would then disable
//! `node_kit::trace`'s spans for the recorder too. A second dispatcher that
//! stands for those threads makes tracing ask both, every time.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Value;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::{DefaultGuard, NoSubscriber};
use tracing::Dispatch;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// A caller's W3C trace context, as central would send it.
pub const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

pub fn caller_traceparent() -> String {
    format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01")
}

/// Records the spans of this thread while it lives.
pub struct Recorder {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _installed: DefaultGuard,
    _other_threads: Dispatch,
}

/// Installs, for this thread, what `node_kit::telemetry::init` installs
/// when exporting, with an in-memory exporter instead of OTLP.
pub fn record() -> Recorder {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let other_threads = Dispatch::new(NoSubscriber::default());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    // As in telemetry: the transport's own spans stay out.
    let transport_off = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("city-node-test"))
        .with_filter(transport_off);
    let installed = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    Recorder {
        exporter,
        _provider: provider,
        _installed: installed,
        _other_threads: other_threads,
    }
}

impl Recorder {
    /// The finished spans named `name`, in the order they ended.
    pub fn named(&self, name: &str) -> Vec<SpanData> {
        self.exporter
            .get_finished_spans()
            .expect("in-memory exporter")
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The first finished span named `name`, waiting up to `patience`.
    pub async fn first(&self, name: &str, patience: Duration) -> SpanData {
        let waited = tokio::time::timeout(patience, async {
            loop {
                if let Some(span) = self.named(name).into_iter().next() {
                    return span;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("no {name} span ended within {patience:?}"))
    }
}

/// The string value of attribute `key` of `span`.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
}
