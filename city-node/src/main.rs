//! `city-node`: one recipient city of a Counterpart run, as a process.

use std::process::ExitCode;

use city_node::CityConfig;
use clap::Parser;
use node_kit::cli::PeerArgs;

/// A recipient city of the pairing-assistance protocol.
#[derive(Debug, Parser)]
#[command(name = "city-node", version, about)]
struct Cli {
    #[command(flatten)]
    node: PeerArgs,
}

// One thread: a run puts dozens of nodes on a couple of cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Cli::parse().node;
    let telemetry = node_kit::telemetry::init(&format!("city-{}", args.id));
    let code = run(args).await;
    // After the node has stopped: its last spans are flushed, not lost.
    telemetry.shutdown().await;
    code
}

/// Runs the city until a signal, or until it stops by itself.
async fn run(args: PeerArgs) -> ExitCode {
    let scenario = match args.load_scenario("city-node") {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let tls = match args.load_tls("city-node") {
        Ok(tls) => tls,
        Err(code) => return code,
    };
    let config = CityConfig {
        scenario,
        city_id: args.id,
        central_endpoint: args.central,
        listen_addr: args.listen,
        advertise: args.advertise,
        tls,
        data_dir: args.data_dir,
        durability: args.durability,
        faults: None,
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
