//! `pairctl node central|province|city` (hidden): runs one node in this
//! process, the child `pairctl up` starts for each node of the scenario.
//!
//! It starts the node through its crate's `start`, prints the announce line
//! (`LISTENING 127.0.0.1:PORT`) on stdout, and serves until SIGTERM or
//! Ctrl-C; logs go to stderr. One thread each: a run has dozens of these
//! processes on a couple of cores.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use counterpart_domain::scenario::Scenario;
use node_kit::server::RunningNode;

use crate::cli::{central_url, NodeArgs, NodeRole};
use crate::plan::CENTRAL_ID;

pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    let id = node_id(&args)?;
    let runtime = runtime_for(args.role)?;
    runtime.block_on(async {
        // The OTLP exporter needs the runtime; spans are flushed on the way
        // out, whether the node stopped cleanly or not.
        let telemetry = node_kit::telemetry::init(&service_name(args.role, &id));
        let served = serve(args, id).await;
        telemetry.shutdown().await;
        served
    })
}

/// One thread per province or city (dozens share two cores); central, the
/// hub every node calls, gets two, so it keeps up when the others wait.
fn runtime_for(role: NodeRole) -> std::io::Result<tokio::runtime::Runtime> {
    match role {
        NodeRole::Central => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
}

/// The OpenTelemetry service name: `central`, `province-<id>`, `city-<id>`.
fn service_name(role: NodeRole, id: &str) -> String {
    match role {
        NodeRole::Central => CENTRAL_ID.to_string(),
        NodeRole::Province => format!("province-{id}"),
        NodeRole::City => format!("city-{id}"),
    }
}

/// The node's id: `central` for central, else the required `--id`.
fn node_id(args: &NodeArgs) -> anyhow::Result<String> {
    match (args.role, &args.id) {
        (NodeRole::Central, _) => Ok(CENTRAL_ID.to_string()),
        (_, Some(id)) if !id.is_empty() => Ok(id.clone()),
        (role, _) => Err(anyhow!("a {} node needs --id", role.as_str())),
    }
}

async fn serve(args: NodeArgs, id: String) -> anyhow::Result<ExitCode> {
    let scenario = counterpart_domain::scenario::load(&args.scenario)
        .with_context(|| format!("cannot load scenario {}", args.scenario.display()))?;
    let node = start(&args, id.clone(), Arc::new(scenario))
        .await
        .map_err(|e| anyhow!("{} {id} did not start: {e}", args.role.as_str()))?;
    Ok(node_kit::server::run_until_signalled(&id, node).await)
}

async fn start(
    args: &NodeArgs,
    id: String,
    scenario: Arc<Scenario>,
) -> Result<RunningNode, String> {
    let tls = args
        .tls_dir
        .as_deref()
        .map(|dir| node_kit::tls::NodeTls::load(dir, &id))
        .transpose()?;
    let listen_addr = args.listen.clone();
    let advertise = args.advertise.clone();
    let data_dir = args.data_dir.clone();
    let central_endpoint = || {
        args.central
            .as_deref()
            .map(central_url)
            .ok_or_else(|| format!("a {} node needs --central", args.role.as_str()))
    };
    match args.role {
        NodeRole::Central => {
            central::start(central::CentralConfig {
                concurrency: Default::default(),
                scenario,
                listen_addr,
                day_ms: args.day_ms,
                clock: args.clock.plan(),
                policy: central::cli::policy_of(
                    args.policy.clone(),
                    args.pairing_mode.map(Into::into),
                )?,
                tls,
                data_dir,
                durability: args.durability,
                faults: None,
            })
            .await
        }
        NodeRole::Province => {
            province_node::start(province_node::ProvinceConfig {
                scenario,
                province_id: id,
                central_endpoint: central_endpoint()?,
                listen_addr,
                advertise,
                tls,
                data_dir,
                durability: args.durability,
                faults: None,
            })
            .await
        }
        NodeRole::City => {
            city_node::start(city_node::CityConfig {
                scenario,
                city_id: id,
                central_endpoint: central_endpoint()?,
                listen_addr,
                advertise,
                tls,
                data_dir,
                durability: args.durability,
                faults: None,
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn node_args(args: &[&str]) -> NodeArgs {
        let cli = Cli::try_parse_from(["pairctl", "node"].iter().chain(args)).unwrap();
        let Command::Node(node) = cli.command else {
            panic!("not node")
        };
        node
    }

    #[test]
    fn central_is_always_called_central() {
        let args = node_args(&["central", "--scenario", "s", "--id", "other"]);
        assert_eq!(node_id(&args).unwrap(), "central");
    }

    #[test]
    fn a_province_needs_an_id() {
        let args = node_args(&["province", "--scenario", "s"]);
        assert!(node_id(&args).unwrap_err().to_string().contains("--id"));
        let args = node_args(&["city", "--scenario", "s", "--id", "wuhan"]);
        assert_eq!(node_id(&args).unwrap(), "wuhan");
    }
}
