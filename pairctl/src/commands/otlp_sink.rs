//! `pairctl otlp-sink`: the project's own OTLP trace collector, for machines
//! that cannot run Jaeger. It listens for OTLP/gRPC exports (what every node
//! sends when `OTEL_EXPORTER_OTLP_ENDPOINT` points at it), keeps the spans
//! in memory, and on Ctrl-C or SIGTERM writes them as a JSON array of spans
//! that `pairctl check-traces` reads.

use std::process::ExitCode;

use anyhow::{anyhow, Context};

use crate::cli::OtlpSinkArgs;
use crate::traces::otlp::Receiver;

pub async fn run(args: OtlpSinkArgs) -> anyhow::Result<ExitCode> {
    let receiver = Receiver::start(&args.listen)
        .await
        .map_err(|e| anyhow!(e))?;
    println!(
        "OTLP sink listening at {}; spans go to {} on Ctrl-C",
        receiver.endpoint(),
        args.out.display()
    );
    node_kit::shutdown::on_signals().cancelled().await;
    let spans = receiver.spans();
    let dropped = receiver.dropped_spans();
    receiver.stop().await;
    let json = serde_json::to_string(&spans).context("cannot encode the spans")?;
    std::fs::write(&args.out, json)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{} spans written to {} ({dropped} dropped because the sink was full)",
        spans.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
