//! Counterpart's central authority (being written).

pub mod assessment;
pub mod evaluation;
pub mod ledger;
pub mod pairing;

use std::sync::Arc;

use counterpart_domain::scenario::{PairingMode, Scenario};

/// How to run central.
#[derive(Debug, Clone)]
pub struct CentralConfig {
    pub scenario: Arc<Scenario>,
    /// Address to listen on, e.g. "127.0.0.1:0" or "0.0.0.0:50051".
    pub listen_addr: String,
    /// Wall milliseconds per scenario day (at least 1).
    pub day_ms: i64,
    /// Overrides the scenario's pairing mode when set.
    pub pairing_mode: Option<PairingMode>,
}

/// Starts central in-process (placeholder until the service lands).
pub async fn start(_config: CentralConfig) -> Result<node_kit::server::RunningNode, String> {
    Err("central is being written".into())
}
