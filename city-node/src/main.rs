//! `city-node`: one recipient city of a Counterpart run, as a process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use city_node::CityConfig;
use clap::Parser;

/// A recipient city of the pairing-assistance protocol.
#[derive(Debug, Parser)]
#[command(name = "city-node", version, about)]
struct Args {
    /// The scenario file every node of the run reads.
    #[arg(long, env = "PAIRING_SCENARIO")]
    scenario: PathBuf,
    /// This city's id in the scenario, e.g. huangshi.
    #[arg(long, env = "PAIRING_NODE_ID")]
    id: String,
    /// Central's endpoint, e.g. http://127.0.0.1:50051.
    #[arg(long, env = "PAIRING_CENTRAL")]
    central: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PAIRING_LISTEN", default_value = "127.0.0.1:0")]
    listen: String,
    /// Endpoint to register with central, if peers reach this node by
    /// another address (containers).
    #[arg(long, env = "PAIRING_ADVERTISE")]
    advertise: Option<String>,
}

// One thread: a run puts dozens of nodes on a couple of cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let telemetry = node_kit::telemetry::init(&format!("city-{}", args.id));
    let code = run(args).await;
    // After the node has stopped: its last spans are flushed, not lost.
    telemetry.shutdown().await;
    code
}

/// Runs the city until a signal, or until it stops by itself.
async fn run(args: Args) -> ExitCode {
    let scenario = match counterpart_domain::scenario::load(&args.scenario) {
        Ok(scenario) => scenario,
        Err(e) => {
            eprintln!("city-node: {e}");
            return ExitCode::from(2);
        }
    };
    let config = CityConfig {
        scenario: Arc::new(scenario),
        city_id: args.id,
        central_endpoint: args.central,
        listen_addr: args.listen,
        advertise: args.advertise,
    };
    let node = match city_node::start(config).await {
        Ok(node) => node,
        // Unknown city, address in use, bad central URL: configuration.
        Err(e) => {
            eprintln!("city-node: {e}");
            return ExitCode::from(2);
        }
    };
    node_kit::server::run_until_signalled("city-node", node).await
}
