//! `province-node`: one donor province of a Counterpart scenario.

use std::process::ExitCode;

use clap::Parser;
use node_kit::cli::PeerArgs;
use province_node::ProvinceConfig;

/// A donor province of the pairing-assistance protocol.
#[derive(Debug, Parser)]
#[command(name = "province-node", version, about)]
struct Cli {
    #[command(flatten)]
    node: PeerArgs,
}

// One thread: a whole cluster of nodes shares two cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Cli::parse().node;
    let telemetry = node_kit::telemetry::init(&format!("province-{}", args.id));
    let code = run(args).await;
    // The node has stopped: flush the spans it has not exported yet.
    telemetry.shutdown().await;
    code
}

/// Loads the scenario and runs the node until a signal or its own failure.
async fn run(args: PeerArgs) -> ExitCode {
    let scenario = match args.load_scenario("province-node") {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let tls = match args.load_tls("province-node") {
        Ok(tls) => tls,
        Err(code) => return code,
    };
    let config = ProvinceConfig {
        scenario,
        province_id: args.id,
        central_endpoint: args.central,
        listen_addr: args.listen,
        advertise: args.advertise,
        tls,
        data_dir: args.data_dir,
        durability: args.durability,
        faults: None,
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
