//! `province-node`: one donor province of a Counterpart scenario.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use province_node::ProvinceConfig;

#[derive(Debug, Parser)]
#[command(
    name = "province-node",
    about = "A donor province of the pairing-assistance protocol"
)]
struct Cli {
    /// The scenario file every node of the run reads.
    #[arg(long, env = "PAIRING_SCENARIO")]
    scenario: PathBuf,
    /// This province's id in the scenario, e.g. "jiangsu".
    #[arg(long, env = "PAIRING_NODE_ID")]
    id: String,
    /// Central's endpoint, e.g. "http://127.0.0.1:50051".
    #[arg(long, env = "PAIRING_CENTRAL")]
    central: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PAIRING_LISTEN", default_value = "127.0.0.1:0")]
    listen: String,
    /// Endpoint to register with central (default: http://<bound address>).
    #[arg(long, env = "PAIRING_ADVERTISE")]
    advertise: Option<String>,
}

// One thread: a whole cluster of nodes shares two cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = node_kit::telemetry::init(&format!("province-{}", cli.id));
    let code = run(cli).await;
    // The node has stopped: flush the spans it has not exported yet.
    telemetry.shutdown().await;
    code
}

/// Loads the scenario and runs the node until a signal or its own failure.
async fn run(cli: Cli) -> ExitCode {
    let scenario = match counterpart_domain::scenario::load(&cli.scenario) {
        Ok(scenario) => Arc::new(scenario),
        Err(e) => {
            eprintln!("province-node: cannot load the scenario: {e}");
            return ExitCode::from(2);
        }
    };
    let config = ProvinceConfig {
        scenario,
        province_id: cli.id,
        central_endpoint: cli.central,
        listen_addr: cli.listen,
        advertise: cli.advertise,
    };
    let node =
        match province_node::start_with_shutdown(config, node_kit::shutdown::on_signals()).await {
            Ok(node) => node,
            Err(e) => {
                eprintln!("province-node: {e}");
                return ExitCode::FAILURE;
            }
        };
    node_kit::server::run_until_signalled("province-node", node).await
}
