//! `pairctl k8s`: writes the Kubernetes manifests of a scenario under
//! `--out` (base/ and overlays/jaeger/), or with `--secrets` the nodes'
//! certificate Secrets. The rendering is [`crate::k8s`]; this is the file
//! I/O.

use std::process::ExitCode;

use anyhow::{anyhow, Context};

use crate::certs::{holders, write_private};
use crate::cli::{scenario_path, K8sArgs};
use crate::k8s::{render, secrets, K8sPlan};

pub fn run(args: K8sArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    if let Some(nodes) = &args.secrets {
        let yaml = secrets::render(nodes, &holders(&scenario))?;
        match &args.out {
            // Private keys: readable by the owner only.
            Some(out) => write_private(out, &yaml)?,
            None => print!("{yaml}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = args
        .out
        .ok_or_else(|| anyhow!("--out DIR: where to write the manifests"))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let plan = K8sPlan::new(&scenario, &path, text, args.day_ms).map_err(|e| anyhow!(e))?;
    let files = render(&plan);
    for file in &files {
        let target = out.join(&file.path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&target, &file.text)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    eprintln!(
        "Wrote {} files under {} ({} nodes) for scenario {}",
        files.len(),
        out.display(),
        plan.node_count(),
        plan.nodes.scenario_name
    );
    Ok(ExitCode::SUCCESS)
}
