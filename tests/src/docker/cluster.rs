//! A scenario's cluster in containers: one container of the node image per
//! node (testcontainers), on the run's private network, central published
//! on a random loopback port; and the faults the suites inject (a kill, a
//! restart, a node cut off the network).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use counterpart_domain::scenario;
use pairing_proto::v1::{ClusterStatus, StatusQuery};
use serde_json::Value;
use testcontainers::bollard::models::{
    HostConfig, NetworkConnectRequest, NetworkDisconnectRequest,
};
use testcontainers::core::{CmdWaitFor, ExecCommand, IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};

use super::{ensure_image, image, require_docker, RunGuard, RUN_LABEL};
use crate::cluster::{central_client, report, status, wait_finished};
use crate::scenario_path;

/// Every node listens on this port in its own container, as in compose.
pub const NODE_PORT: u16 = 50051;
/// Start-up: containers created, nodes registered, clock started.
pub const START_LIMIT: Duration = Duration::from_secs(60);

pub type Node = ContainerAsync<GenericImage>;

/// A running scenario, one container per node.
pub struct ContainerCluster {
    // First, so it is dropped first: on a panic it prints every
    // container's log before removing them.
    pub guard: RunGuard,
    pub central: Node,
    /// Provinces and cities by node id.
    pub nodes: BTreeMap<String, Node>,
    /// Central's gRPC endpoint on the host; it changes when central restarts.
    pub endpoint: String,
    pub started: Instant,
}

impl ContainerCluster {
    /// Starts central, then the provinces and the cities of scenario
    /// `name` (its file in the image is `/scenarios/<name>.toml`), and waits
    /// for the scenario clock. `None` when no Docker engine answers outside
    /// CI; the image is built from the current sources first.
    pub async fn start(test: &str, name: &str, day_ms: i64) -> Option<ContainerCluster> {
        ContainerCluster::start_with_clock(test, name, day_ms, "lockstep").await
    }

    /// [`ContainerCluster::start`] with central's clock `clock`
    /// (`PAIRING_CLOCK`: "lockstep" or "wall").
    pub async fn start_with_clock(
        test: &str,
        name: &str,
        day_ms: i64,
        clock: &str,
    ) -> Option<ContainerCluster> {
        if !require_docker() {
            return None;
        }
        ensure_image();
        let scenario = scenario::load(&scenario_path(name)).unwrap_or_else(|e| panic!("{e}"));
        let file = format!("/scenarios/{name}.toml");
        let started = Instant::now();
        let guard = RunGuard::new(test);
        let request = central_request(&guard, &file, day_ms).with_env_var("PAIRING_CLOCK", clock);
        let central = start_container(request, "central").await;
        let endpoint = central_endpoint(&central).await;
        let mut nodes = BTreeMap::new();
        let provinces = scenario.provinces.iter().map(|p| ("province-node", &p.id));
        let cities = scenario.cities.iter().map(|c| ("city-node", &c.id));
        for (binary, id) in provinces.chain(cities) {
            let request = node_request(&guard, &file, binary, id);
            nodes.insert(id.clone(), start_container(request, id).await);
        }
        let cluster = ContainerCluster {
            guard,
            central,
            nodes,
            endpoint,
            started,
        };
        let s = cluster
            .poll("the scenario clock to start", START_LIMIT, |s| {
                s.clock.is_some()
            })
            .await;
        println!(
            "{}: {} containers up and the clock started after {:.1} s (scenario {})",
            cluster.guard.suffix(),
            cluster.nodes.len() + 1,
            cluster.seconds(),
            s.scenario_now
        );
        Some(cluster)
    }

    pub fn node(&self, id: &str) -> &Node {
        &self.nodes[id]
    }

    /// Wall seconds since the cluster started.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Polls central's status until `done` holds; panics after `limit`
    /// with the last status seen. A central that does not answer (being
    /// restarted) counts as not done.
    pub async fn poll(
        &self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&ClusterStatus) -> bool,
    ) -> ClusterStatus {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Ok(s) = try_status(&self.endpoint).await {
                if done(&s) {
                    return s;
                }
                last = Some(s);
            }
            assert!(
                started.elapsed() < limit,
                "waited {limit:?} for {what}; last status: {}",
                last.as_ref().map_or("none".into(), summary)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (at most `limit`) until `province` serves a case in
    /// implementation and central's ledger shows a shipment of it: the
    /// moment a fault hurts most. Returns central's status then.
    pub async fn wait_mid_implementation(&self, province: &str, limit: Duration) -> ClusterStatus {
        let started = Instant::now();
        loop {
            let s = status(&self.endpoint).await;
            let implementing = s
                .cases
                .iter()
                .any(|c| c.stage == "implementing" && c.province_ids.iter().any(|p| p == province));
            if implementing && shipped_by(&report(&self.endpoint).await, province) > 0 {
                println!(
                    "{}: {province} is mid-implementation at {} ({:.1} s after start)",
                    self.guard.suffix(),
                    s.scenario_now,
                    self.seconds()
                );
                return s;
            }
            assert!(
                started.elapsed() < limit,
                "{province} had no case implementing with a shipment in the ledger \
                 after {limit:?}: {}",
                summary(&s)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (at most `limit`) for the end of the run; returns the report.
    pub async fn finish(&self, limit: Duration) -> Value {
        let s = wait_finished(&self.endpoint, limit).await;
        println!(
            "{}: finished at {} ({:.1} s after start): {}",
            self.guard.suffix(),
            s.scenario_now,
            self.seconds(),
            summary(&s)
        );
        report(&self.endpoint).await
    }

    /// `pairctl ledger --reconcile` run inside central's container, where
    /// every node's address resolves on the run's network: its exit code
    /// and what it printed. Central's ledger beside the nodes' own books.
    pub async fn reconcile_inside(&self) -> (Option<i64>, String) {
        let command = ExecCommand::new([
            "/pairctl".to_string(),
            "ledger".into(),
            "--reconcile".into(),
            "--central".into(),
            format!("http://127.0.0.1:{NODE_PORT}"),
        ])
        .with_cmd_ready_condition(CmdWaitFor::exit());
        let mut run =
            self.central.exec(command).await.unwrap_or_else(|e| {
                panic!("pairctl ledger --reconcile in central's container: {e}")
            });
        let stdout = run.stdout_to_vec().await.unwrap_or_default();
        let stderr = run.stderr_to_vec().await.unwrap_or_default();
        let code = run.exit_code().await.ok().flatten();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
        (code, text)
    }

    /// Kills central (no grace period) and starts its container again;
    /// returns once the new process answers.
    pub async fn restart_central(&mut self) {
        self.central
            .stop_with_timeout(Some(0))
            .await
            .expect("kill central");
        self.central.start().await.expect("start central again");
        // The engine publishes the restarted container on a new port.
        self.endpoint = central_endpoint(&self.central).await;
        println!("central restarted, now at {}", self.endpoint);
        self.poll("central to answer after its restart", START_LIMIT, |_| true)
            .await;
    }

    /// Takes node `id` off the run's network (`connected` false) or puts it
    /// back on, under the same name.
    pub async fn set_connected(&self, id: &str, connected: bool) {
        let docker = testcontainers::core::client::docker_client_instance()
            .await
            .expect("docker client");
        let container = self.node(id).id().to_string();
        let network = self.guard.network();
        let outcome = if connected {
            let request = NetworkConnectRequest {
                container,
                endpoint_config: None,
            };
            docker.connect_network(network, request).await
        } else {
            let request = NetworkDisconnectRequest {
                container,
                force: Some(true),
            };
            docker.disconnect_network(network, request).await
        };
        outcome.unwrap_or_else(|e| panic!("connecting {id} {connected}: {e}"));
        println!(
            "{id} {} the network",
            if connected { "back on" } else { "cut off" }
        );
    }
}

fn node_image() -> GenericImage {
    // The nodes print nothing a wait could key on reliably; readiness is
    // checked through central instead.
    let (name, tag) = image();
    GenericImage::new(name, tag).with_wait_for(WaitFor::Nothing)
}

fn base_request(
    guard: &RunGuard,
    file: &str,
    binary: &str,
    id: &str,
) -> ContainerRequest<GenericImage> {
    node_image()
        .with_cmd([format!("/{binary}")])
        .with_container_name(guard.container_name(id))
        .with_network(guard.network())
        .with_label(RUN_LABEL, guard.suffix())
        .with_env_var("PAIRING_SCENARIO", file)
        .with_env_var("PAIRING_LISTEN", format!("0.0.0.0:{NODE_PORT}"))
        // In the container's own layer: a container started again resumes.
        .with_env_var("PAIRING_DATA_DIR", "/data")
}

fn central_request(guard: &RunGuard, file: &str, day_ms: i64) -> ContainerRequest<GenericImage> {
    base_request(guard, file, "central", "central")
        .with_env_var("PAIRING_DAY_MS", day_ms.to_string())
        // Port 0: the engine picks a free one, so runs never collide.
        .with_mapped_port(0, NODE_PORT.tcp())
        .with_host_config_modifier(|host: &mut HostConfig| {
            // Published on loopback only, as the compose file does.
            for bindings in host.port_bindings.iter_mut().flat_map(|m| m.values_mut()) {
                for binding in bindings.iter_mut().flatten() {
                    binding.host_ip = Some("127.0.0.1".into());
                }
            }
        })
}

fn node_request(
    guard: &RunGuard,
    file: &str,
    binary: &str,
    id: &str,
) -> ContainerRequest<GenericImage> {
    let central = guard.container_name("central");
    let name = guard.container_name(id);
    base_request(guard, file, binary, id)
        .with_env_var("PAIRING_NODE_ID", id)
        .with_env_var("PAIRING_CENTRAL", format!("http://{central}:{NODE_PORT}"))
        .with_env_var("PAIRING_ADVERTISE", format!("http://{name}:{NODE_PORT}"))
        // Only central is reached from the host; testcontainers would
        // otherwise publish the image's EXPOSEd port of every node.
        .with_host_config_modifier(|host: &mut HostConfig| host.publish_all_ports = Some(false))
}

async fn start_container(request: ContainerRequest<GenericImage>, what: &str) -> Node {
    request
        .start()
        .await
        .unwrap_or_else(|e| panic!("starting the {what} container: {e}"))
}

async fn central_endpoint(central: &Node) -> String {
    let port = central
        .get_host_port_ipv4(NODE_PORT)
        .await
        .expect("central's published port");
    format!("http://127.0.0.1:{port}")
}

/// Central's status, or why it did not answer.
pub async fn try_status(endpoint: &str) -> Result<ClusterStatus, tonic::Status> {
    central_client(endpoint)
        .get_status(node_kit::client::request(StatusQuery {}))
        .await
        .map(tonic::Response::into_inner)
}

/// One line on a status: time, clock, registrations, cases.
pub fn summary(s: &ClusterStatus) -> String {
    let registered = s.nodes.iter().filter(|n| n.registered).count();
    let cases: Vec<String> = s
        .cases
        .iter()
        .map(|c| format!("{}={}", c.case_id, c.stage))
        .collect();
    format!(
        "at {:?}, clock {}, {registered}/{} nodes registered, finished {}, cases {cases:?}",
        s.scenario_now,
        if s.clock.is_some() {
            "started"
        } else {
            "not started"
        },
        s.nodes.len(),
        s.finished
    )
}

/// Units `province` shipped in all, per central's ledger in `report`.
pub fn shipped_by(report: &Value, province: &str) -> i64 {
    report["ledger"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["province"] == province)
        .filter_map(|l| l["shipped"].as_i64())
        .sum()
}
