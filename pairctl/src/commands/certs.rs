//! `pairctl certs`: the development CA and every node's certificate, for
//! mutual TLS. The issuing is [`crate::certs`]; this is the command.

use std::process::ExitCode;

use anyhow::Context;

use crate::certs::node_dirs::write_node_dirs;
use crate::certs::{holders, write_all};
use crate::cli::{scenario_path, CertsArgs};

pub fn run(args: CertsArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    let holders = holders(&scenario);
    let whom = format!(
        "central, {} provinces, {} cities, operator",
        scenario.provinces.len(),
        scenario.cities.len()
    );
    match &args.node_dirs {
        None => {
            let written = write_all(&args.out, &holders)?;
            println!(
                "{} CA; {} certificates ({whom}) in {}",
                ca_word(written.new_ca),
                written.certificates,
                args.out.display()
            );
        }
        Some(nodes) => {
            let placed = write_node_dirs(&args.out, nodes, &holders, args.owner)?;
            println!(
                "{} CA in {}; {} certificates ({whom}) in {}/<service>: {} issued, {} kept{}",
                ca_word(placed.new_ca),
                args.out.display(),
                holders.len(),
                nodes.display(),
                placed.issued,
                placed.kept,
                args.owner
                    .map(|o| format!(", owned by {o}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ca_word(new: bool) -> &'static str {
    if new {
        "New"
    } else {
        "Reused the"
    }
}
