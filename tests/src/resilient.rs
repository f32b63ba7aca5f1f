//! A whole scenario in this process with durable nodes: each node on its
//! own thread and runtime ([`crate::host`]) with a data directory, so a test
//! can crash any node at any moment and start it again where it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use counterpart_domain::clock::unix_now_ms;
use counterpart_domain::scenario::{self, PairingMode, Scenario};
use node_kit::client::{self, Dialer};
use node_kit::faults::FaultPlan;
use pairing_proto::v1::{Books, ClusterStatus, Ledger, LedgerQuery, Role, StatusQuery};

use crate::cluster::{central_client, where_it_stands};
use crate::host::{NodeHost, NodeSpec};
use pairctl::commands::ledger::books_of;
use pairctl::reconcile::{self, Totals};

/// Longest a status or books query may take before the test treats the
/// node as unreachable for now.
const QUERY_DEADLINE: Duration = Duration::from_secs(3);

pub struct ResilientCluster {
    pub scenario: Arc<Scenario>,
    pub data_root: PathBuf,
    /// Every node by id; central is "central".
    pub nodes: BTreeMap<String, NodeHost>,
    central_endpoint: String,
}

impl ResilientCluster {
    /// Starts every node of the scenario at `path`, each with its own data
    /// directory under a fresh temporary root named after `test`, and with
    /// `faults` injected into what every node receives.
    pub async fn start(
        path: &Path,
        day_ms: i64,
        mode: Option<PairingMode>,
        test: &str,
        faults: Option<Arc<FaultPlan>>,
    ) -> ResilientCluster {
        let scenario = Arc::new(scenario::load(path).unwrap_or_else(|e| panic!("{e}")));
        let data_root = std::env::temp_dir().join(format!(
            "counterpart-{test}-{}-{}",
            std::process::id(),
            unix_now_ms()
        ));
        let dir = |id: &str| Some(data_root.join(id));
        let central = NodeHost::start(NodeSpec::Central(central::CentralConfig {
            concurrency: Default::default(),
            scenario: scenario.clone(),
            // Its faults are scheduled in wall time (a crash "for 0.8
            // days" is day_ms x 0.8 wall ms): the wall clock. The lockstep
            // clock's faults are tested through `pairctl up` (supervisor).
            clock: central::authority::ClockPlan::wall(central::authority::DEFAULT_SEED),
            listen_addr: "127.0.0.1:0".into(),
            day_ms,
            policy: counterpart_domain::policy::Policy::with_pairing(mode),
            data_dir: dir("central"),
            durability: Default::default(),
            tls: None,
            faults: faults.clone(),
        }))
        .await
        .expect("central starts");
        let central_endpoint = central.endpoint();
        let mut nodes = BTreeMap::from([("central".to_string(), central)]);
        for p in &scenario.provinces {
            let spec = NodeSpec::Province(province_node::ProvinceConfig {
                scenario: scenario.clone(),
                province_id: p.id.clone(),
                central_endpoint: central_endpoint.clone(),
                listen_addr: "127.0.0.1:0".into(),
                advertise: None,
                data_dir: dir(&p.id),
                durability: Default::default(),
                tls: None,
                faults: faults.clone(),
            });
            nodes.insert(
                p.id.clone(),
                NodeHost::start(spec).await.expect("province starts"),
            );
        }
        for c in &scenario.cities {
            let spec = NodeSpec::City(city_node::CityConfig {
                scenario: scenario.clone(),
                city_id: c.id.clone(),
                central_endpoint: central_endpoint.clone(),
                listen_addr: "127.0.0.1:0".into(),
                advertise: None,
                data_dir: dir(&c.id),
                durability: Default::default(),
                tls: None,
                faults: faults.clone(),
            });
            nodes.insert(
                c.id.clone(),
                NodeHost::start(spec).await.expect("city starts"),
            );
        }
        ResilientCluster {
            scenario,
            data_root,
            nodes,
            central_endpoint,
        }
    }

    pub fn central_endpoint(&self) -> &str {
        &self.central_endpoint
    }

    pub fn node(&mut self, id: &str) -> &mut NodeHost {
        self.nodes
            .get_mut(id)
            .unwrap_or_else(|| panic!("no node {id:?}"))
    }

    /// Central's status, or `None` while it cannot answer (crashed).
    pub async fn status(&self) -> Option<ClusterStatus> {
        let mut central = central_client(&self.central_endpoint);
        let request = client::request_with_deadline(StatusQuery {}, QUERY_DEADLINE);
        central
            .get_status(request)
            .await
            .ok()
            .map(|r| r.into_inner())
    }

    /// Scenario days since the run's epoch, as central says.
    pub async fn scenario_day(&self) -> Option<f64> {
        self.status()
            .await
            .map(|s| s.scenario_now_ms as f64 / counterpart_domain::clock::DAY_MS as f64)
    }

    /// Waits until central reports the run finished; panics after `limit`
    /// with the stage of every case.
    pub async fn wait_finished(&self, limit: Duration) -> ClusterStatus {
        self.try_wait_finished(limit)
            .await
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Waits until central reports the run finished, or says after `limit`
    /// where the run stands.
    pub async fn try_wait_finished(&self, limit: Duration) -> Result<ClusterStatus, String> {
        let started = Instant::now();
        loop {
            let status = self.status().await;
            if let Some(s) = status.as_ref().filter(|s| s.finished) {
                return Ok(s.clone());
            }
            if started.elapsed() >= limit {
                return Err(format!(
                    "run not finished after {limit:?}: {}",
                    status.map_or("central not answering".into(), |s| where_it_stands(&s))
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn report(&self) -> serde_json::Value {
        crate::cluster::report(&self.central_endpoint).await
    }

    /// The run report with the nodes' books reconciled under `reconcile`,
    /// as `pairctl up` writes it.
    pub async fn report_with_books(&self) -> serde_json::Value {
        crate::cluster::report_with_books_as(&self.central_endpoint, None).await
    }

    pub async fn ledger(&self) -> Ledger {
        central_client(&self.central_endpoint)
            .get_ledger(client::request_with_deadline(
                LedgerQuery {},
                QUERY_DEADLINE,
            ))
            .await
            .expect("central's ledger")
            .into_inner()
    }

    /// The books of every province and every city.
    pub async fn books(&self) -> (Vec<Books>, Vec<Books>) {
        let provinces = self
            .scenario
            .provinces
            .iter()
            .map(|p| (Role::Province, &p.id));
        let cities = self.scenario.cities.iter().map(|c| (Role::City, &c.id));
        let (mut of_provinces, mut of_cities) = (Vec::new(), Vec::new());
        for (role, id) in provinces.chain(cities) {
            let books = books_of(&Dialer::new(None), role, &self.nodes[id].endpoint())
                .await
                .unwrap_or_else(|s| panic!("books of {id}: {s}"));
            match role {
                Role::Province => of_provinces.push(books),
                _ => of_cities.push(books),
            }
        }
        (of_provinces, of_cities)
    }

    /// Conservation over central's ledger and every node's books, at the
    /// end of a run.
    pub async fn conservation(&self) -> (Vec<String>, Totals) {
        let ledger = self.ledger().await;
        let (provinces, cities) = self.books().await;
        reconcile::check(&ledger, &provinces, &cities, true)
    }

    /// Stops every node cleanly and removes the data directories.
    pub async fn stop(mut self) {
        for node in self.nodes.values_mut() {
            node.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.data_root);
    }
}
