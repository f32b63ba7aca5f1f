//! The tracing subscriber every binary installs: human-readable logs on
//! stderr (stdout is reserved for the announce line), filtered by RUST_LOG
//! (default `info`), and, when an OTLP endpoint is configured, spans
//! exported over OTLP/gRPC with W3C trace-context propagation.
//!
//! Configuration is the standard OpenTelemetry environment:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! turns export on; `OTEL_SERVICE_NAME` overrides the node's own name;
//! `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` choose the sampler;
//! `OTEL_SDK_DISABLED=true` turns it off. With no endpoint nothing is
//! exported and nothing else changes.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{filter_fn, FilterExt, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::trace;

/// Holds the span exporter, if any, until [`Telemetry::shutdown`] flushes it.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter. The SDK's shutdown blocks, so it runs
    /// on the blocking pool rather than stalling the runtime.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        let outcome = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = outcome {
            tracing::warn!(error = %e, "span exporter did not shut down cleanly");
        }
    }
}

/// Whether the environment asks for span export.
pub fn export_requested() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// Installs the subscriber; `service` names the node (`central`,
/// `province-jiangsu`, `city-huangshi`) unless `OTEL_SERVICE_NAME` is set.
/// Must run inside a Tokio runtime (the OTLP exporter's channel needs one).
pub fn init(service: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: log files and `docker logs` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logged = logging(filter, std::io::stderr, ansi);
    let provider = if export_requested() {
        exporter(service)
    } else {
        None
    };
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        // The transport's own spans would make the exporter trace its own
        // export calls; only the protocol's spans go out.
        let transport_off = Targets::new()
            .with_default(LevelFilter::INFO)
            .with_target("h2", LevelFilter::OFF)
            .with_target("hyper", LevelFilter::OFF)
            .with_target("hyper_util", LevelFilter::OFF)
            .with_target("tonic", LevelFilter::OFF)
            .with_target("tower", LevelFilter::OFF);
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("counterpart"))
            .with_filter(transport_off)
    });
    // Not `.with(otel)` of an `Option`: a `None` layer is "always
    // interested" in every callsite, which turns a callsite the log layer's
    // filter refused into one weighed on every use, and so a per-message
    // span the log layer leaves out was still made (a profile of the
    // receipt path found the registry opening and closing it).
    let _ = match otel {
        Some(otel) => logged.with(otel).try_init(),
        None => logged.try_init(),
    };
    Telemetry { provider }
}

/// The subscriber of a node without an exporter: the log layer alone, on
/// `writer` ([`init`] adds the exporter's layer to it when there is one).
pub fn logging<W>(
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync
where
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(log_layer(filter, writer, ansi))
}

/// The log layer: lines on `writer`, filtered by `filter`.
///
/// The protocol's per-message spans ([`trace::is_protocol_span`]) are left
/// out unless `filter` lets debug lines through: a span the log layer
/// takes has its fields formatted and stored when it opens, on every
/// message, which a profile of central's receipt path put at a quarter of
/// the handler's own time, for a prefix on log lines (most of them from
/// the per-message events, at debug). With no exporter either, the span is
/// not made at all.
fn log_layer<S, W>(filter: EnvFilter, writer: W, ansi: bool) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    // No hint: a filter that may let anything through keeps the spans.
    let verbose = filter
        .max_level_hint()
        .is_none_or(|level| level >= LevelFilter::DEBUG);
    // The hint keeps the filter's own: without one, the combined filter has
    // none, every `trace!` in h2 and tokio is then weighed at run time, and
    // the hot paths ran 25% slower, the echo beside them too.
    let spans = filter_fn(move |meta| verbose || !trace::is_protocol_span(meta))
        .with_max_level_hint(LevelFilter::TRACE);
    fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(filter.and(spans))
}

fn exporter(service: &str) -> Option<SdkTracerProvider> {
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("{service}: OTLP exporter not started, spans will not be exported: {e}");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(service.to_string());
    }
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tonic::metadata::MetadataMap;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::trace::{server_span, Stage};

    /// What the log layer wrote.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A handler's span and a line logged inside it, with the log layer
    /// alone filtered by `directives`: the log. (Whether the span is made
    /// at all depends on every dispatcher in the process, tests' included:
    /// not asserted here; the benchmark measures it.)
    fn log_inside_a_handler(directives: &str) -> String {
        let lines = Lines::default();
        let writer = {
            let lines = lines.clone();
            move || lines.clone()
        };
        let layer = log_layer(EnvFilter::new(directives), writer, false);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = server_span("central.report", Stage::Implementation, &MetadataMap::new());
            let _entered = span.enter();
            tracing::info!("report applied");
        });
        let log = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        log
    }

    #[test]
    fn the_log_layer_keeps_its_filters_level() {
        for (directives, level) in [("info", LevelFilter::INFO), ("warn", LevelFilter::WARN)] {
            let layer = log_layer::<tracing_subscriber::Registry, _>(
                EnvFilter::new(directives),
                Lines::default,
                false,
            );
            assert_eq!(layer.max_level_hint(), Some(level), "{directives}");
        }
    }

    #[test]
    fn at_info_the_logs_leave_the_per_message_spans_out() {
        let log = log_inside_a_handler("info");
        assert!(log.contains("report applied"), "{log}");
        assert!(!log.contains("central.report"), "{log}");
    }

    #[test]
    fn at_debug_the_logs_name_the_handler_a_line_came_from() {
        let log = log_inside_a_handler("debug");
        assert!(log.contains("report applied"), "{log}");
        assert!(log.contains(r#"otel.name="central.report""#), "{log}");
    }
}
