//! `pairctl report`: the run report's summary and digest, and its JSON
//! (digest included) to `--out`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use crate::central_client::CentralClient;
use crate::cli::ReportArgs;
use crate::report::{parse_report, render_identity, RunSummary};

pub async fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let central = CentralClient::from_args(&args.central)?;
    let mut report = parse_report(&central.report().await?.json).map_err(anyhow::Error::msg)?;
    crate::digest::stamp(&mut report);
    let summary = RunSummary::from_report(&report).map_err(anyhow::Error::msg)?;
    let summary = summary.render() + &render_identity(&report);
    match &args.out {
        // `docker compose exec central pairctl report --out -`: the JSON is
        // read from the output, as the container's files are out of reach.
        Some(out) if out.as_os_str() == STDOUT => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprint!("{summary}");
        }
        Some(out) => {
            write_report(out, &report)?;
            println!("Report written to {}", out.display());
            print!("{summary}");
        }
        None => print!("{summary}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--out` that means standard output.
pub const STDOUT: &str = "-";

/// Writes `report` pretty-printed, creating the parent directory.
pub fn write_report(path: &Path, report: &Value) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the report to {}", path.display()))
}
