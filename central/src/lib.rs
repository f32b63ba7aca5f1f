//! Counterpart's central authority: the decision-maker, coordinator and
//! supervisor of the pairing-assistance protocol (docs/PROTOCOL.md).
//!
//! The protocol logic, free of I/O, lives in the protocol crate
//! ([`counterpart_protocol::central`]): the state machine ([`authority`]),
//! cases, assessment, pairing, ledger, evaluation and the run report. It is
//! re-exported here under its old paths (`central::authority`, ...).
//!
//! This crate is central's I/O edge:
//! - [`access`]: who may call which RPC (pure, from the caller's identity).
//! - [`service`]: the gRPC adapter around the authority.
//! - [`driver`]: the tick loop that sends what the authority returns, and
//!   tells it how each round went.
//! - [`watch`]: `WatchOperation`, the operation as it happens, for the
//!   dashboard.
//! - [`cli`]: the `central` binary's flags and main loop.

pub mod access;
pub mod cli;
pub mod driver;
pub mod service;
pub mod watch;

pub use counterpart_protocol::central::{
    assessment, authority, case, evaluation, ledger, pairing, report,
};

use std::path::PathBuf;
use std::sync::Arc;

use counterpart_domain::clock::unix_now_ms;
use counterpart_domain::scenario::{PairingMode, Scenario};
use node_kit::client::Dialer;
use node_kit::counters::MessageCounters;
use node_kit::durable::{self, Durable};
use node_kit::faults::{FaultLayer, FaultPlan};
use node_kit::server::RunningNode;
use node_kit::tls::{Callers, NodeTls};
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthorityServer;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::authority::{Authority, CENTRAL_ID};
use crate::driver::Driver;
use crate::service::CentralService;

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
    /// Mutual TLS: serve and call with central's certificate, and check
    /// every caller's. `None`: plain TCP, callers unchecked.
    pub tls: Option<NodeTls>,
    /// Where central keeps its state; `None` keeps it in memory only (a
    /// restart then starts the run over).
    pub data_dir: Option<PathBuf>,
    /// How hard each save presses the data to disk (with `data_dir`).
    pub durability: node_kit::durable::Durability,
    /// Faults to inject into the messages this node receives (fault
    /// suites only; `None` in production).
    pub faults: Option<Arc<FaultPlan>>,
}

/// The authority of a fresh run, or the one saved in the data directory
/// (journaled, or the previous release's whole-state document). Its
/// messages are stamped with this life's boot: the wall time now.
fn open_authority(config: &CentralConfig) -> Result<Durable<Authority>, String> {
    let scenario = &config.scenario;
    let boot = unix_now_ms();
    durable::open(
        config.data_dir.as_deref(),
        config.durability,
        CENTRAL_ID,
        &scenario.name,
        || {
            Ok(Authority::new(
                scenario.clone(),
                config.day_ms,
                config.pairing_mode,
                boot,
            ))
        },
        |saved| match durable::legacy_state(saved) {
            Some(bytes) => Authority::from_legacy(scenario.clone(), bytes, boot),
            None => Authority::restore(scenario.clone(), saved, boot),
        },
    )
}

/// Starts central in-process: binds, serves the `CentralAuthority` service
/// with health and reflection, and runs the driver until shut down.
pub async fn start(config: CentralConfig) -> Result<RunningNode, String> {
    counterpart_domain::clock::checked_day_ms("day_ms", config.day_ms)?;
    let (listener, addr) = node_kit::server::bind(&config.listen_addr)
        .await
        .map_err(|e| e.to_string())?;
    let authority = Arc::new(open_authority(&config)?);
    let traces = Arc::new(CaseTraces::default());
    let shutdown = CancellationToken::new();
    let service = CentralService::new(
        authority.clone(),
        Arc::new(MessageCounters::default()),
        traces.clone(),
    )
    .with_callers(callers(config.tls.as_ref()))
    .with_shutdown(shutdown.clone());
    let (router, health) = node_kit::server::router_with_tls(config.tls.as_ref())?;
    health
        .set_serving::<CentralAuthorityServer<CentralService>>()
        .await;
    let tick = node_kit::registration::tick_period(config.day_ms);
    let driver = Driver::new(authority.clone(), traces, shutdown.clone(), tick)
        .with_dialer(Dialer::new(config.tls.as_ref()));
    tokio::spawn(driver.run(shutdown.clone()));
    let service = CentralAuthorityServer::new(service)
        .max_decoding_message_size(node_kit::server::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(node_kit::server::MAX_MESSAGE_BYTES);
    let router = match &config.faults {
        Some(plan) => router.add_service(FaultLayer::new(plan.clone(), CENTRAL_ID).wrap(service)),
        None => router.add_service(service),
    };
    let server = router.serve_with_incoming_shutdown(
        TcpListenerStream::new(listener),
        shutdown.clone().cancelled_owned(),
    );
    let task = tokio::spawn(async move {
        let served = server.await.map_err(|e| format!("central server: {e}"));
        // Every answered change is on disk already; this bounds the wait
        // for the rest (changes whose answers never went out).
        authority.drain(durable::DRAIN_BOUND).await;
        served
    });
    tracing::info!(%addr, scenario = %config.scenario.name, "central listening");
    Ok(RunningNode {
        addr,
        shutdown,
        task,
    })
}

/// Callers are checked exactly when the server speaks TLS.
fn callers(tls: Option<&NodeTls>) -> Callers {
    match tls {
        Some(_) => Callers::Verified,
        None => Callers::Unchecked,
    }
}
