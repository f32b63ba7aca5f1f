//! Counterpart's recipient city: it watches its own outbreak, asks central
//! for help when local capacity falls short, receipts what its donors ship,
//! negotiates with them, reports, and asks to stand down when quiet and its
//! own capacity covers its active cases (docs/PROTOCOL.md, steps 1, 4, 7, 10-12, 16 and 18).
//!
//! - [`recipient`] and [`epidemic`]: the protocol state machine and the
//!   city's situation from the scenario's curve. Both are pure and live in
//!   `counterpart_protocol::recipient` (messages and scenario time in,
//!   messages to send and state to save out); they are re-exported here so
//!   the paths `city_node::recipient` and `city_node::epidemic` still work.
//! - [`service`]: the `RecipientCity` gRPC service, a thin adapter around
//!   the machine: a refusal becomes a gRPC status here
//!   (`node_kit::edge::status`).
//! - [`driver`]: registration and the tick loop that sends what the
//!   machine asks for and feeds the outcomes back, classified
//!   (`node_kit::retry::round_outcome`).
//! - [`negotiation`]: the `NegotiatePlan` stream client, one stream per
//!   donor.
//! - [`spans`]: the spans the service and the driver open, so that one
//!   case is one trace across central, the donors and the city.
//!
//! [`start`] puts it all together; the `city-node` binary and in-process
//! tests both start a city with it.

pub mod driver;
pub mod negotiation;
pub mod service;
pub mod spans;
#[cfg(test)]
mod testing;

pub use counterpart_protocol::recipient;
pub use counterpart_protocol::recipient::epidemic;

use std::path::PathBuf;
use std::sync::Arc;

use counterpart_domain::scenario::Scenario;
use node_kit::client::Dialer;
use node_kit::counters::MessageCounters;
use node_kit::durable::{self, Durable};
use node_kit::faults::{FaultLayer, FaultPlan};
use node_kit::header::HeaderFactory;
use node_kit::server::RunningNode;
use node_kit::tls::{Callers, NodeTls};
use pairing_proto::v1::recipient_city_server::RecipientCityServer;
use tokio_util::sync::CancellationToken;

use driver::Driver;
use recipient::Recipient;
use service::CityService;
use spans::CityTraces;

/// What a city node needs to start.
#[derive(Debug, Clone)]
pub struct CityConfig {
    pub scenario: Arc<Scenario>,
    /// The city's id in the scenario, e.g. "huangshi".
    pub city_id: String,
    /// Central's endpoint, e.g. "http://127.0.0.1:50051".
    pub central_endpoint: String,
    /// Where to listen, e.g. "127.0.0.1:0" (port 0 picks a free port).
    pub listen_addr: String,
    /// The endpoint to register with central, when peers reach this node by
    /// another address than the one it binds (containers).
    pub advertise: Option<String>,
    /// Mutual TLS: serve and call with the city's certificate, and check
    /// every caller's. `None`: plain TCP, callers unchecked.
    pub tls: Option<NodeTls>,
    /// Where the city keeps its state (its inbox of shipments and the
    /// receipts it owes); `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// How hard each save presses the data to disk (with `data_dir`).
    pub durability: node_kit::durable::Durability,
    /// Faults to inject into the messages this node receives (fault
    /// suites only; `None` in production).
    pub faults: Option<Arc<FaultPlan>>,
}

/// The city of a fresh run, or the one saved in the data directory.
fn open_recipient(
    config: &CityConfig,
    headers: Arc<HeaderFactory>,
) -> Result<Durable<Recipient>, String> {
    let scenario = &config.scenario;
    let restored_headers = headers.clone();
    durable::open(
        config.data_dir.as_deref(),
        config.durability,
        &config.city_id,
        &scenario.name,
        || Recipient::new(scenario.clone(), &config.city_id, headers),
        |saved| Recipient::restore(scenario.clone(), restored_headers, saved),
    )
}

/// Binds, serves `RecipientCity`, registers with central and runs the tick
/// loop until the returned node is stopped. Fails if the city is not in the
/// scenario, the address cannot be bound, or the central endpoint is not a
/// URI; the node's task ends with an error if registration fails.
pub async fn start(config: CityConfig) -> Result<RunningNode, String> {
    let headers = Arc::new(node_kit::header::this_life(&config.city_id));
    let machine = Arc::new(open_recipient(&config, headers.clone())?);
    let counters = Arc::new(MessageCounters::default());
    let traces = Arc::new(CityTraces::new(&config.city_id));
    let shutdown = CancellationToken::new();
    let driver = Driver::new(
        machine.clone(),
        counters.clone(),
        headers,
        traces.clone(),
        &config.central_endpoint,
        shutdown.clone(),
    )?
    .with_dialer(Dialer::new(config.tls.as_ref()))?;
    let (steps, granted) = node_kit::lockstep::channel();
    let driver = driver.with_steps(granted, config.data_dir.clone());
    let (listener, addr) = node_kit::net::listen(&config.listen_addr)
        .await
        .map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let endpoint = config
        .advertise
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let callers = match config.tls {
        Some(_) => Callers::Verified,
        None => Callers::Unchecked,
    };

    let (router, health) = node_kit::server::router_with_tls(config.tls.as_ref())?;
    health
        .set_serving::<RecipientCityServer<CityService>>()
        .await;
    let drained = machine.clone();
    let service = CityService::new(machine, counters, traces)
        .with_callers(callers)
        .with_steps(steps);
    let service = RecipientCityServer::new(service)
        .max_decoding_message_size(node_kit::server::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(node_kit::server::MAX_MESSAGE_BYTES);
    let router = match &config.faults {
        Some(plan) => {
            router.add_service(FaultLayer::new(plan.clone(), &config.city_id).wrap(service))
        }
        None => router.add_service(service),
    };
    let serve = node_kit::server::serve(router, listener, shutdown.clone());
    let stop_all = shutdown.clone();
    let drive = async move {
        let driven = driver.run(endpoint).await;
        if driven.is_err() {
            stop_all.cancel(); // a city central does not know cannot act
        }
        driven
    };
    let task = tokio::spawn(async move {
        let (served, driven) = tokio::join!(serve, drive);
        // Answered changes are on disk already; bound the wait for the rest.
        drained.drain(durable::DRAIN_BOUND).await;
        driven?;
        served.map_err(|e| format!("serving failed: {e}"))
    });
    tracing::info!(city = %config.city_id, %addr, "city node listening");
    Ok(RunningNode {
        addr,
        shutdown,
        task,
    })
}
