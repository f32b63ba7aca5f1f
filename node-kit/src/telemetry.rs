//! The tracing subscriber every binary installs: human-readable logs on
//! stderr (stdout is reserved for the announce line), filtered by RUST_LOG
//! (default `info`).

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the subscriber; `service` names the node in every line.
pub fn init(service: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    tracing::debug!(service, "telemetry ready");
}
