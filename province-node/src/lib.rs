//! Counterpart's donor province (docs/PROTOCOL.md steps 1, 3, 8-12, 14, 15,
//! 17): it registers with central, reports its capacity, acknowledges
//! assignments, ships personnel, materials and funds drawn from its
//! prefecture-level cities, negotiates plans with its recipient city,
//! reports, and stands down when demobilised or released.
//!
//! - [`donor`]: the protocol state machine, free of I/O: messages and
//!   scenario time in, replies (or a typed refusal) and messages to send
//!   out. It lives in `counterpart_protocol::donor`, below the I/O line;
//!   re-exported here, with [`planner`] (the pool per prefecture and what
//!   each shipment carries) and [`outbound`] (the messages the machine
//!   wants sent, and their keys), so their old paths keep working.
//! - [`service`]: the `DonorProvince` gRPC service around the machine; who
//!   may call it is `node_kit::access`, and a refusal becomes a gRPC status
//!   there (`node_kit::edge::status`).
//! - [`driver`]: registration and the tick loop that sends what the machine
//!   returns.
//! - [`spans`]: what each traced message's span is called and records, so
//!   that one case is one trace across the nodes.
//! - [`start`] (this file): binds, serves, registers and ticks.

pub mod driver;
pub mod service;
pub mod spans;

pub use counterpart_protocol::donor;
pub use counterpart_protocol::donor::{outbound, planner};

use std::path::PathBuf;
use std::sync::Arc;

use counterpart_domain::scenario::Scenario;
use node_kit::client::Dialer;
use node_kit::durable;
use node_kit::faults::{FaultLayer, FaultPlan};
use node_kit::header::HeaderFactory;
use node_kit::server::RunningNode;
use node_kit::tls::{Callers, NodeTls};
use pairing_proto::v1::donor_province_server::DonorProvinceServer;
use tokio_util::sync::CancellationToken;

use crate::donor::Donor;
use crate::driver::Driver;
use crate::service::{ProvinceService, SharedDonor};

/// What a province node needs to start.
#[derive(Debug, Clone)]
pub struct ProvinceConfig {
    pub scenario: Arc<Scenario>,
    /// The province's id in the scenario, e.g. "jiangsu".
    pub province_id: String,
    /// Central's endpoint, e.g. "http://127.0.0.1:50051".
    pub central_endpoint: String,
    /// Where to listen, e.g. "127.0.0.1:0" (port 0 picks a free port).
    pub listen_addr: String,
    /// The endpoint to register; default "http://<bound addr>"
    /// ("https://..." with TLS).
    pub advertise: Option<String>,
    /// Mutual TLS: serve and call with the province's certificate, and
    /// check every caller's. `None`: plain TCP, callers unchecked.
    pub tls: Option<NodeTls>,
    /// Where the province keeps its state (assignments, its outbox of
    /// shipments); `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// How hard each save presses the data to disk (with `data_dir`).
    pub durability: node_kit::durable::Durability,
    /// Faults to inject into the messages this node receives (fault
    /// suites only; `None` in production).
    pub faults: Option<Arc<FaultPlan>>,
}

/// The donor of a fresh run, or the one saved in the data directory.
fn open_donor(config: &ProvinceConfig, headers: Arc<HeaderFactory>) -> Result<SharedDonor, String> {
    let scenario = &config.scenario;
    let restored_headers = headers.clone();
    let donor = durable::open(
        config.data_dir.as_deref(),
        config.durability,
        &config.province_id,
        &scenario.name,
        || Donor::new(scenario.clone(), &config.province_id, headers),
        |saved| Donor::restore(scenario.clone(), restored_headers, saved),
    )?;
    Ok(SharedDonor::new(donor))
}

/// Starts a province node with its own shutdown token.
pub async fn start(config: ProvinceConfig) -> Result<RunningNode, String> {
    start_with_shutdown(config, CancellationToken::new()).await
}

/// Starts a province node that stops when `shutdown` is cancelled (or when
/// it fails, which cancels `shutdown` too): binds, serves the
/// `DonorProvince` service with health and reflection, registers with
/// central and runs the tick loop.
pub async fn start_with_shutdown(
    config: ProvinceConfig,
    shutdown: CancellationToken,
) -> Result<RunningNode, String> {
    let headers = Arc::new(node_kit::header::this_life(&config.province_id));
    let shared = Arc::new(open_donor(&config, headers.clone())?);
    let (listener, addr) = node_kit::net::listen(&config.listen_addr)
        .await
        .map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let advertised = config
        .advertise
        .unwrap_or_else(|| format!("{scheme}://{addr}"));

    let (router, health) = node_kit::server::router_with_tls(config.tls.as_ref())?;
    health
        .set_serving::<DonorProvinceServer<ProvinceService>>()
        .await;
    let callers = match config.tls {
        Some(_) => Callers::Verified,
        None => Callers::Unchecked,
    };
    let (steps, granted) = node_kit::lockstep::channel();
    let service = ProvinceService::new(shared.clone(), shutdown.clone())
        .with_callers(callers)
        .with_steps(steps);
    let service = DonorProvinceServer::new(service)
        .max_decoding_message_size(node_kit::server::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(node_kit::server::MAX_MESSAGE_BYTES);
    let router = match &config.faults {
        Some(plan) => {
            router.add_service(FaultLayer::new(plan.clone(), &config.province_id).wrap(service))
        }
        None => router.add_service(service),
    };
    let server = node_kit::server::serve(router, listener, shutdown.clone());
    let drained = shared.clone();
    let driver = Driver::new(shared, headers, config.central_endpoint, shutdown.clone())
        .with_dialer(Dialer::new(config.tls.as_ref()))
        .with_steps(granted, config.data_dir.clone());

    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let serving = async {
            let served = server.await.map_err(|e| format!("server failed: {e}"));
            stop.cancel();
            served
        };
        let ticking = async {
            let ran = driver.run(advertised, stop.clone()).await;
            if ran.is_err() {
                stop.cancel();
            }
            ran
        };
        let (served, ran) = tokio::join!(serving, ticking);
        // Answered changes are on disk already; bound the wait for the rest.
        drained.drain(node_kit::durable::DRAIN_BOUND).await;
        served.and(ran)
    });
    tracing::info!(province = %config.province_id, %addr, "province node started");
    Ok(RunningNode {
        addr,
        shutdown,
        task,
    })
}
