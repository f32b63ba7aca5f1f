//! `pairctl certs`: the development CA and every node's certificate, for
//! mutual TLS. The issuing is [`crate::certs`]; this is the command.

use std::process::ExitCode;

use anyhow::Context;

use crate::certs::{holders, write_all};
use crate::cli::{scenario_path, CertsArgs};

pub fn run(args: CertsArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    let written = write_all(&args.out, &holders(&scenario))?;
    println!(
        "{} CA; {} certificates (central, {} provinces, {} cities, operator) in {}",
        if written.new_ca { "New" } else { "Reused the" },
        written.certificates,
        scenario.provinces.len(),
        scenario.cities.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
