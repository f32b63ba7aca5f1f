//! `pairctl compose`: writes the compose file of a scenario (to `--out`, or
//! stdout). The rendering is [`crate::compose`]; this is the file I/O.

use std::process::ExitCode;

use anyhow::{anyhow, Context};

use crate::cli::{scenario_path, ComposeArgs};
use crate::compose::{render, ComposePlan};

pub fn run(args: ComposeArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    let plan = ComposePlan::from_scenario(&scenario, &path, args.day_ms).map_err(|e| anyhow!(e))?;
    let file = render(&plan);
    match &args.out {
        Some(out) => {
            std::fs::write(out, &file)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "Wrote {} ({} nodes) for scenario {}",
                out.display(),
                1 + plan.provinces.len() + plan.cities.len(),
                plan.scenario_name
            );
        }
        None => print!("{file}"),
    }
    Ok(ExitCode::SUCCESS)
}
