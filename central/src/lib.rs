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
pub mod lockstep;
pub mod service;
pub mod watch;

pub use counterpart_protocol::central::{
    assessment, authority, case, evaluation, ledger, pairing, report,
};

use std::path::PathBuf;
use std::sync::Arc;

use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::Scenario;
use node_kit::client::Dialer;
use node_kit::counters::MessageCounters;
use node_kit::durable::{self, Durable};
use node_kit::faults::{FaultLayer, FaultPlan};
use node_kit::net::unix_now_ms;
use node_kit::server::RunningNode;
use node_kit::tls::{Callers, NodeTls};
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthorityServer;
use tokio_util::sync::CancellationToken;

use crate::authority::{Authority, ClockPlan, CENTRAL_ID, STEP_MINUTES_RANGE};
use crate::driver::Driver;
use crate::service::CentralService;

/// How to run central.
#[derive(Debug, Clone)]
pub struct CentralConfig {
    pub scenario: Arc<Scenario>,
    /// Address to listen on, e.g. "127.0.0.1:0" or "0.0.0.0:50051".
    pub listen_addr: String,
    /// Wall milliseconds per scenario day: the wall clock's speed (at
    /// least 1), or the lockstep clock's pace (0: as fast as it goes).
    pub day_ms: i64,
    /// Lockstep (the default) or wall clock, and the run's seed.
    pub clock: ClockPlan,
    /// How central acts: the scenario's rules as this policy changes them
    /// (its pairing, when it names one, overrides the scenario's).
    pub policy: Policy,
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
    /// How handlers reach the authority (node-kit's `sequencer`).
    pub concurrency: node_kit::sequencer::Concurrency,
}

/// The authority of a fresh run, or the one saved in the data directory
/// (journaled, or the previous release's whole-state document). Its
/// messages are stamped with this life's boot: the wall time now.
fn open_authority(config: &CentralConfig) -> Result<Durable<Authority>, String> {
    let scenario = &Arc::new(config.policy.applied(&config.scenario));
    let boot = unix_now_ms();
    let plan = config.clock.paced(config.day_ms);
    durable::open(
        config.data_dir.as_deref(),
        config.durability,
        CENTRAL_ID,
        &scenario.name,
        || {
            Ok(Authority::new(
                scenario.clone(),
                clock_day_ms(config),
                config.policy.pairing,
                boot,
            )
            .with_clock_plan(plan)
            .with_policy(config.policy.label()))
        },
        |saved| {
            let restored = match durable::legacy_state(saved) {
                Some(bytes) => Authority::from_legacy(scenario.clone(), bytes, boot),
                None => Authority::restore(scenario.clone(), saved, boot),
            };
            restored.map(|a| a.with_clock_plan(plan).with_policy(config.policy.label()))
        },
    )
}

/// Starts central in-process: binds, serves the `CentralAuthority` service
/// with health and reflection, and runs the driver until shut down.
pub async fn start(config: CentralConfig) -> Result<RunningNode, String> {
    check_clock(&config)?;
    let (listener, addr) = node_kit::net::listen(&config.listen_addr)
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
    .with_concurrency(config.concurrency)
    .with_shutdown(shutdown.clone());
    let (router, health) = node_kit::server::router_with_tls(config.tls.as_ref())?;
    health
        .set_serving::<CentralAuthorityServer<CentralService>>()
        .await;
    let tick = node_kit::registration::tick_period(clock_day_ms(&config));
    let driver = Driver::new(authority.clone(), traces, shutdown.clone(), tick)
        .with_dialer(Dialer::new(config.tls.as_ref()));
    tokio::spawn(driver.run(shutdown.clone()));
    let service = CentralAuthorityServer::new(service)
        .max_decoding_message_size(node_kit::server::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(node_kit::server::MAX_QUERY_REPLY_BYTES);
    let router = match &config.faults {
        Some(plan) => router.add_service(FaultLayer::new(plan.clone(), CENTRAL_ID).wrap(service)),
        None => router.add_service(service),
    };
    let server = node_kit::server::serve(router, listener, shutdown.clone());
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

/// The clock's `day_ms` and the lockstep's pace from the command line: a
/// wall clock needs a speed in `DAY_MS_RANGE`; a lockstep clock takes any
/// pace from 0 (as fast as the nodes go) to real time, and a step in
/// `STEP_MINUTES_RANGE`.
fn check_clock(config: &CentralConfig) -> Result<(), String> {
    use counterpart_domain::clock::{checked_day_ms, DAY_MS};
    match config.clock.step_minutes {
        None => checked_day_ms("day_ms", config.day_ms).map(drop),
        Some(minutes) => {
            if !(0..=DAY_MS).contains(&config.day_ms) {
                return Err(format!(
                    "day_ms: {} is outside 0..={DAY_MS} wall ms per scenario day",
                    config.day_ms
                ));
            }
            if !STEP_MINUTES_RANGE.contains(&minutes) {
                return Err(format!(
                    "step_minutes: {minutes} is outside {}..={} scenario minutes",
                    STEP_MINUTES_RANGE.start(),
                    STEP_MINUTES_RANGE.end()
                ));
            }
            Ok(())
        }
    }
}

/// The speed the clock itself carries: on the lockstep clock the wall is
/// not read, and a pace of 0 is carried as the fastest speed, 1.
fn clock_day_ms(config: &CentralConfig) -> i64 {
    config.day_ms.max(1)
}

/// Callers are checked exactly when the server speaks TLS.
fn callers(tls: Option<&NodeTls>) -> Callers {
    match tls {
        Some(_) => Callers::Verified,
        None => Callers::Unchecked,
    }
}
