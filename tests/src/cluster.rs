//! Starting clusters for tests.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use counterpart_domain::scenario::{self, PairingMode, Scenario};
use node_kit::client;
use node_kit::faults::FaultPlan;
use node_kit::server::RunningNode;
use node_kit::tls::NodeTls;
use pairctl::central_client::CentralClient;
use pairctl::commands::ledger::reconcile_cluster;
use pairctl::reconcile::Reconciliation;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::{ClusterStatus, ReportQuery, StatusQuery};
use tonic::transport::Channel;

/// How long central's barrier waits for a node of an in-process cluster.
pub const STALL_AFTER_S: u32 = 20;

/// A whole scenario running in this process: every node its own server on
/// its own loopback port, talking real gRPC.
pub struct Cluster {
    pub scenario: Arc<Scenario>,
    pub central: RunningNode,
    pub provinces: Vec<RunningNode>,
    pub cities: Vec<RunningNode>,
}

impl Cluster {
    pub async fn start(path: &Path, day_ms: i64, mode: Option<PairingMode>) -> Cluster {
        Cluster::start_with_faults(path, day_ms, mode, None).await
    }

    /// [`Cluster::start`] over mutual TLS: every node reads its certificate
    /// from `tls_dir` (see `pairctl::certs`), serves TLS only and checks
    /// every caller.
    pub async fn start_with(
        path: &Path,
        day_ms: i64,
        mode: Option<PairingMode>,
        tls_dir: Option<&Path>,
    ) -> Cluster {
        Cluster::start_with_everything(path, day_ms, mode, None, tls_dir).await
    }

    /// [`Cluster::start`] with `faults` injected into what every node
    /// receives (one plan for the whole cluster, so partitions name links).
    pub async fn start_with_faults(
        path: &Path,
        day_ms: i64,
        mode: Option<PairingMode>,
        faults: Option<Arc<FaultPlan>>,
    ) -> Cluster {
        Cluster::start_with_everything(path, day_ms, mode, faults, None).await
    }

    async fn start_with_everything(
        path: &Path,
        day_ms: i64,
        mode: Option<PairingMode>,
        faults: Option<Arc<FaultPlan>>,
        tls_dir: Option<&Path>,
    ) -> Cluster {
        let tls =
            |id: &str| tls_dir.map(|dir| NodeTls::load(dir, id).unwrap_or_else(|e| panic!("{e}")));
        let scenario = Arc::new(scenario::load(path).unwrap_or_else(|e| panic!("{e}")));
        let central = central::start(central::CentralConfig {
            concurrency: Default::default(),
            scenario: scenario.clone(),
            // The lockstep clock; no node of this cluster is restarted,
            // so the barrier waits 20 s for one before the clock stalls.
            clock: central::authority::ClockPlan::default().waiting(STALL_AFTER_S),
            listen_addr: "127.0.0.1:0".into(),
            day_ms,
            policy: counterpart_domain::policy::Policy::with_pairing(mode),
            tls: tls(node_kit::tls::CENTRAL_ID),
            data_dir: None,
            durability: Default::default(),
            faults: faults.clone(),
        })
        .await
        .expect("central starts");
        let central_endpoint = central.endpoint();
        let mut provinces = Vec::new();
        for p in &scenario.provinces {
            provinces.push(
                province_node::start(province_node::ProvinceConfig {
                    scenario: scenario.clone(),
                    province_id: p.id.clone(),
                    central_endpoint: central_endpoint.clone(),
                    listen_addr: "127.0.0.1:0".into(),
                    advertise: None,
                    tls: tls(&p.id),
                    data_dir: None,
                    durability: Default::default(),
                    faults: faults.clone(),
                })
                .await
                .expect("province starts"),
            );
        }
        let mut cities = Vec::new();
        for c in &scenario.cities {
            cities.push(
                city_node::start(city_node::CityConfig {
                    scenario: scenario.clone(),
                    city_id: c.id.clone(),
                    central_endpoint: central_endpoint.clone(),
                    listen_addr: "127.0.0.1:0".into(),
                    advertise: None,
                    tls: tls(&c.id),
                    data_dir: None,
                    durability: Default::default(),
                    faults: faults.clone(),
                })
                .await
                .expect("city starts"),
            );
        }
        Cluster {
            scenario,
            central,
            provinces,
            cities,
        }
    }

    pub fn central_client(&self) -> CentralAuthorityClient<Channel> {
        central_client(&self.central.endpoint())
    }

    pub fn province(&self, id: &str) -> &RunningNode {
        let i = self
            .scenario
            .provinces
            .iter()
            .position(|p| p.id == id)
            .expect("province in scenario");
        &self.provinces[i]
    }

    pub fn city(&self, id: &str) -> &RunningNode {
        let i = self
            .scenario
            .cities
            .iter()
            .position(|c| c.id == id)
            .expect("city in scenario");
        &self.cities[i]
    }

    /// Waits until central reports the run finished; panics after `limit`.
    pub async fn wait_finished(&self, limit: Duration) -> ClusterStatus {
        wait_finished(&self.central.endpoint(), limit).await
    }

    /// The run report as JSON.
    pub async fn report(&self) -> serde_json::Value {
        report(&self.central.endpoint()).await
    }

    /// The run report with central's ledger reconciled against every
    /// node's own books under `reconcile`, as `pairctl up` writes it.
    pub async fn report_with_books(&self) -> serde_json::Value {
        report_with_books_as(&self.central.endpoint(), None).await
    }

    pub async fn stop(self) {
        for node in self.cities.into_iter().chain(self.provinces) {
            let _ = node.stop().await;
        }
        let _ = self.central.stop().await;
    }
}

pub fn central_client(endpoint: &str) -> CentralAuthorityClient<Channel> {
    central_client_as(endpoint, None)
}

/// A client of central presenting `tls`'s certificate (plain TCP if none).
pub fn central_client_as(endpoint: &str, tls: Option<&NodeTls>) -> CentralAuthorityClient<Channel> {
    let channel = client::Dialer::new(tls)
        .channel(endpoint)
        .expect("valid endpoint");
    CentralAuthorityClient::new(channel)
}

pub async fn status(endpoint: &str) -> ClusterStatus {
    status_as(endpoint, None).await
}

pub async fn status_as(endpoint: &str, tls: Option<&NodeTls>) -> ClusterStatus {
    central_client_as(endpoint, tls)
        .get_status(client::request(StatusQuery {}))
        .await
        .expect("status")
        .into_inner()
}

pub async fn wait_finished(endpoint: &str, limit: Duration) -> ClusterStatus {
    wait_finished_as(endpoint, None, limit).await
}

/// [`wait_finished`], asking as `tls`'s holder (the operator).
pub async fn wait_finished_as(
    endpoint: &str,
    tls: Option<&NodeTls>,
    limit: Duration,
) -> ClusterStatus {
    let started = Instant::now();
    loop {
        let s = status_as(endpoint, tls).await;
        if s.finished {
            return s;
        }
        assert!(
            started.elapsed() < limit,
            "run not finished after {limit:?}: {}",
            where_it_stands(&s)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The scenario time and every case's stage, for a failure message.
pub fn where_it_stands(s: &ClusterStatus) -> String {
    let cases: Vec<String> = s
        .cases
        .iter()
        .map(|c| format!("{}={}", c.case_id, c.stage))
        .collect();
    format!("at {}, cases {cases:?}", s.scenario_now)
}

/// Central's ledger beside every node's own books, read as `tls`'s holder
/// (plain TCP if none), the way `pairctl ledger --reconcile` reads them.
pub async fn reconcile_as(endpoint: &str, tls: Option<&NodeTls>) -> Reconciliation {
    let dialer = client::Dialer::new(tls);
    let central = CentralClient::via(&dialer, endpoint).expect("valid endpoint");
    reconcile_cluster(&central, &dialer)
        .await
        .unwrap_or_else(|e| panic!("reconcile: {e:#}"))
}

/// [`report_as`] with the [`reconcile_as`] section `pairctl up` adds.
pub async fn report_with_books_as(endpoint: &str, tls: Option<&NodeTls>) -> serde_json::Value {
    let mut report = report_as(endpoint, tls).await;
    let reconciliation = reconcile_as(endpoint, tls).await;
    report["reconcile"] = serde_json::to_value(&reconciliation).expect("serialisable");
    report
}

pub async fn report(endpoint: &str) -> serde_json::Value {
    report_as(endpoint, None).await
}

pub async fn report_as(endpoint: &str, tls: Option<&NodeTls>) -> serde_json::Value {
    let json = central_client_as(endpoint, tls)
        .get_report(client::request(ReportQuery {}))
        .await
        .expect("report")
        .into_inner()
        .json;
    serde_json::from_str(&json).expect("report is JSON")
}
