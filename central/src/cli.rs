//! The `central` binary: flags (also from the environment, for compose),
//! start, announce, run until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use counterpart_domain::clock::parse_day_ms;
use counterpart_domain::scenario::{self, PairingMode};

#[derive(Debug, Parser)]
#[command(
    name = "central",
    about = "The central authority of a Counterpart cluster"
)]
pub struct Args {
    /// Scenario file (TOML).
    #[arg(long, env = "PAIRING_SCENARIO")]
    pub scenario: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "PAIRING_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// Wall milliseconds per scenario day.
    #[arg(long, env = "PAIRING_DAY_MS", default_value_t = 500, value_parser = parse_day_ms)]
    pub day_ms: i64,
    /// Override the scenario's pairing mode: historical or optimized.
    #[arg(long, env = "PAIRING_MODE", value_parser = parse_mode)]
    pub pairing_mode: Option<PairingMode>,
    /// Serve and call over mutual TLS with DIR/ca.pem, DIR/central.pem and
    /// DIR/central.key (see `pairctl certs`). Without it: plain TCP.
    #[arg(long, env = "PAIRING_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Directory for central's durable state (created if missing). A
    /// restarted central resumes from it; without it, state is in memory.
    #[arg(long, env = "PAIRING_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// With a data dir: `normal` survives the death of the process (SQLite
    /// synchronous=NORMAL); `full` also a power cut (an fsync per commit).
    #[arg(long, env = "PAIRING_DURABILITY", value_enum, default_value_t)]
    pub durability: node_kit::durable::Durability,
}

pub fn parse_mode(s: &str) -> Result<PairingMode, String> {
    match s {
        "historical" => Ok(PairingMode::Historical),
        "optimized" => Ok(PairingMode::Optimized),
        other => Err(format!("{other:?} is not historical or optimized")),
    }
}

/// Runs central with `args` until a shutdown signal.
pub async fn run(args: Args) -> ExitCode {
    let telemetry = node_kit::telemetry::init("central");
    let scenario = match scenario::load(&args.scenario) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("central: {e}");
            return ExitCode::from(2);
        }
    };
    let tls = match args
        .tls_dir
        .as_deref()
        .map(|dir| node_kit::tls::NodeTls::load(dir, node_kit::tls::CENTRAL_ID))
    {
        None => None,
        Some(Ok(tls)) => Some(tls),
        Some(Err(e)) => {
            eprintln!("central: {e}");
            return ExitCode::from(2);
        }
    };
    let config = crate::CentralConfig {
        scenario,
        listen_addr: args.listen,
        day_ms: args.day_ms,
        pairing_mode: args.pairing_mode,
        tls,
        data_dir: args.data_dir,
        durability: args.durability,
        faults: None,
    };
    let node = match crate::start(config).await {
        Ok(node) => node,
        Err(e) => {
            eprintln!("central: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = node_kit::server::run_until_signalled("central", node).await;
    telemetry.shutdown().await;
    code
}
