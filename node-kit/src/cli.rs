//! The flags every province and city binary takes: which scenario, which
//! node of it, where central is, where to listen. Each also reads from the
//! environment (`PAIRING_*`), which is how compose configures containers.

use std::path::PathBuf;
use std::sync::Arc;

use counterpart_domain::scenario::{self, Scenario};

use crate::tls::NodeTls;

#[derive(Debug, Clone, clap::Args)]
pub struct PeerArgs {
    /// The scenario file every node of the run reads.
    #[arg(long, env = "PAIRING_SCENARIO")]
    pub scenario: PathBuf,
    /// This node's id in the scenario, e.g. jiangsu or huangshi.
    #[arg(long, env = "PAIRING_NODE_ID")]
    pub id: String,
    /// Central's endpoint, e.g. http://127.0.0.1:50051.
    #[arg(long, env = "PAIRING_CENTRAL")]
    pub central: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PAIRING_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Endpoint to register with central, if peers reach this node by
    /// another address (containers). Default: http://<bound address>.
    #[arg(long, env = "PAIRING_ADVERTISE")]
    pub advertise: Option<String>,
    /// Serve and call over mutual TLS with DIR/ca.pem, DIR/<id>.pem and
    /// DIR/<id>.key (see `pairctl certs`). Without it: plain TCP.
    #[arg(long, env = "PAIRING_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Directory for this node's durable state (created if missing). A
    /// restarted node resumes from it; without it, state is in memory.
    #[arg(long, env = "PAIRING_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// With a data dir: `normal` survives the death of the process (SQLite
    /// synchronous=NORMAL); `full` also a power cut (an fsync per commit).
    #[arg(long, env = "PAIRING_DURABILITY", value_enum, default_value_t)]
    pub durability: crate::durable::Durability,
}

impl PeerArgs {
    /// Loads the scenario, or prints why not (naming file, line and field)
    /// as `program: ...` and gives the exit code for a bad scenario.
    pub fn load_scenario(&self, program: &str) -> Result<Arc<Scenario>, std::process::ExitCode> {
        scenario::load(&self.scenario).map(Arc::new).map_err(|e| {
            eprintln!("{program}: cannot load the scenario: {e}");
            std::process::ExitCode::from(2)
        })
    }

    /// The node's TLS material when `--tls-dir` is given, or prints why it
    /// cannot be read and gives the exit code for bad configuration.
    pub fn load_tls(&self, program: &str) -> Result<Option<NodeTls>, std::process::ExitCode> {
        let Some(dir) = &self.tls_dir else {
            return Ok(None);
        };
        NodeTls::load(dir, &self.id).map(Some).map_err(|e| {
            eprintln!("{program}: {e}");
            std::process::ExitCode::from(2)
        })
    }
}
