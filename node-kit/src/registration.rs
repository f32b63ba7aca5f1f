//! Registration with central, which every province and city does first.

use std::time::Duration;

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::{RegisterNode, Registration, Role};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::client::Dialer;
use crate::header::HeaderFactory;
use crate::retry::{retry, RetryPolicy};

/// Central may start after the nodes (compose starts them together): keep
/// trying for about two minutes before giving up.
pub const REGISTRATION_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 60,
    initial_backoff_ms: 100,
    max_backoff_ms: 2_000,
};

/// Registers `role` at `endpoint` with central, retrying while central is
/// unreachable. Returns `None` if shut down first.
pub async fn register(
    central_endpoint: &str,
    headers: &HeaderFactory,
    role: Role,
    endpoint: &str,
    shutdown: &CancellationToken,
) -> Option<Result<Registration, Status>> {
    let dialer = Dialer::default();
    register_via(&dialer, central_endpoint, headers, role, endpoint, shutdown).await
}

/// [`register`], connecting to central through `dialer` (TLS or not).
pub async fn register_via(
    dialer: &Dialer,
    central_endpoint: &str,
    headers: &HeaderFactory,
    role: Role,
    endpoint: &str,
    shutdown: &CancellationToken,
) -> Option<Result<Registration, Status>> {
    let channel = match dialer.channel(central_endpoint) {
        Ok(channel) => channel,
        Err(status) => return Some(Err(status)),
    };
    let client = CentralAuthorityClient::new(channel);
    let message = RegisterNode {
        header: Some(headers.header(ScenarioTime(0))),
        role: role as i32,
        endpoint: endpoint.to_string(),
        protocol_version: pairing_proto::version::PROTOCOL_VERSION,
        features: pairing_proto::version::FEATURES
            .iter()
            .map(|f| f.to_string())
            .collect(),
    };
    let sender = headers.node_id().to_string();
    let attempt = || {
        let mut client = client.clone();
        let message = message.clone();
        let sender = sender.clone();
        async move {
            client
                .register(crate::client::request_from(&sender, message))
                .await
                .map(|r| r.into_inner())
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => None,
        outcome = retry(REGISTRATION_POLICY, attempt) => Some(outcome),
    }
}

/// How often a node's tick loop runs: about once per scenario hour, but
/// never more often than every 5 ms (36 processes share 2 cores: at 2 ms a
/// debug build starved central) nor less often than every 250 ms.
pub fn tick_period(day_ms: i64) -> Duration {
    Duration::from_millis((day_ms / 24).clamp(5, 250) as u64)
}
