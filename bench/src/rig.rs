//! Central in-process, ready for its hot paths: a generated scenario, every
//! node registered (stubs stand in for them), capacities reported, the clock
//! started at a crawl so nothing moves but what the benchmark sends, and the
//! messages a real city or province sends on each hot path.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::{self, Scenario};
use node_kit::client;
use node_kit::header::HeaderFactory;
use node_kit::server::RunningNode;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::{
    AssistanceRequest, CapacityReport, Contribution, Discrepancy, DiscrepancyReason, MessageHeader,
    ReceiptRecord, RegisterNode, ResourcePool, ResourceQuantity, Role, ShipmentRecord, Situation,
    StatusQuery, SupervisoryReport,
};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::scenario_gen::{self, city_id, province_id, GenOptions};
use crate::setting::{central_tls, issue_certificates, Scratch, Senders, Setting};

/// Ten wall minutes per scenario day: during a benchmark of a few minutes
/// no evaluation or closure falls due.
pub const CRAWL_DAY_MS: i64 = 600_000;
/// Shipments a donor's cumulative report carries (a few weeks' worth).
pub const SHIPMENTS_PER_REPORT: usize = 4;
/// Registrations in flight at once while setting up.
const SETUP_CONCURRENCY: usize = 32;

/// How to set central up.
#[derive(Debug, Clone)]
pub struct RigOptions {
    pub cities: usize,
    pub provinces: usize,
    /// Scenario days central waits for more requests before pairing.
    pub decision_window_days: f64,
    pub setting: Setting,
    /// Certificates already issued for every node (TLS only); when `None`
    /// the rig issues its own.
    pub certs: Option<PathBuf>,
    /// The runtime the callers' connections run on: the load's, not
    /// central's, or central would be measured doing its callers' HTTP/2
    /// work too. `None`: the runtime the rig starts on.
    pub callers: Option<tokio::runtime::Handle>,
}

/// A running central, its stub nodes, and its callers.
pub struct Rig {
    pub central: RunningNode,
    /// The operator's client, for status queries.
    pub client: CentralAuthorityClient<Channel>,
    /// Each node's client, as the node itself would call.
    pub senders: Senders,
    pub messages: Arc<Messages>,
    stubs: CancellationToken,
    /// Central's data directory and the certificates; dropped last.
    _scratch: Scratch,
}

/// Builds the messages of the hot paths, each with a fresh message id.
#[derive(Debug)]
pub struct Messages {
    pub scenario: Arc<Scenario>,
    provinces: Vec<HeaderFactory>,
    cities: Vec<HeaderFactory>,
}

impl Rig {
    /// Starts central and registers every node of a generated scenario
    /// (pointing at one stub server), then reports every province's pool.
    pub async fn start(options: RigOptions) -> anyhow::Result<Rig> {
        let mut gen = GenOptions::new(options.cities, options.provinces);
        gen.decision_window_days = options.decision_window_days;
        let scenario = Arc::new(scenario::parse(
            &scenario_gen::generate(&gen),
            "generated.toml",
        )?);
        let scratch = Scratch::new()?;
        let certs = match (&options.certs, options.setting.tls) {
            (Some(dir), _) => dir.clone(),
            (None, true) => {
                issue_certificates(&scratch.certs_dir(), &scenario)?;
                scratch.certs_dir()
            }
            (None, false) => scratch.certs_dir(),
        };
        let tls = match options.setting.tls {
            true => Some(central_tls(&certs)?),
            false => None,
        };
        let stubs = CancellationToken::new();
        let stub_addr = crate::stub::start(stubs.clone()).await?;
        let central = central::start(central::CentralConfig {
            concurrency: options.setting.concurrency,
            scenario: scenario.clone(),
            // Stub nodes take no steps: the wall clock.
            clock: central::authority::ClockPlan::wall(central::authority::DEFAULT_SEED),
            listen_addr: "127.0.0.1:0".into(),
            day_ms: CRAWL_DAY_MS,
            policy: Default::default(),
            data_dir: options.setting.durable.then(|| scratch.data_dir()),
            durability: Default::default(),
            faults: None,
            tls,
        })
        .await
        .map_err(|e| anyhow!(e))?;
        let ids = (0..options.cities)
            .map(city_id)
            .chain((0..options.provinces).map(province_id));
        let senders = {
            // A channel spawns its connection's task where it is made.
            let _callers = options.callers.as_ref().map(|h| h.enter());
            Senders::dial(&central.endpoint(), options.setting, &certs, ids)?
        };
        let client = senders.operator();
        let messages = Arc::new(Messages {
            provinces: (0..options.provinces)
                .map(|p| node_kit::header::this_life(&province_id(p)))
                .collect(),
            cities: (0..options.cities)
                .map(|c| node_kit::header::this_life(&city_id(c)))
                .collect(),
            scenario,
        });
        let rig = Rig {
            central,
            client,
            senders,
            messages,
            stubs,
            _scratch: scratch,
        };
        rig.register_all(&format!("http://{stub_addr}")).await?;
        rig.report_capacities().await?;
        Ok(rig)
    }

    /// Registers cities last-first, then provinces: central checks "has
    /// everyone registered" in scenario order, so the first missing node is
    /// found at once and setup stays linear.
    async fn register_all(&self, endpoint: &str) -> anyhow::Result<()> {
        let m = &self.messages;
        let mut nodes: Vec<(MessageHeader, Role)> = Vec::new();
        let at = ScenarioTime(0);
        nodes.extend(m.cities.iter().rev().map(|h| (h.header(at), Role::City)));
        nodes.extend(
            m.provinces
                .iter()
                .rev()
                .map(|h| (h.header(at), Role::Province)),
        );
        for batch in nodes.chunks(SETUP_CONCURRENCY) {
            let calls = batch.iter().map(|(header, role)| {
                let mut client = self.senders.central(&header.sender_id);
                let message = RegisterNode {
                    header: Some(header.clone()),
                    role: *role as i32,
                    endpoint: endpoint.to_string(),
                    ..Default::default()
                };
                async move { client.register(client::request(message)).await }
            });
            for outcome in spawn_all(calls).await {
                outcome.context("register")?;
            }
        }
        let status = self
            .client
            .clone()
            .get_status(client::request(StatusQuery {}))
            .await?
            .into_inner();
        if status.clock.is_none() {
            return Err(anyhow!(
                "every node registered but the clock has not started"
            ));
        }
        // Central counts scenario time from CLOCK_LEAD_MS after the start.
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(())
    }

    async fn report_capacities(&self) -> anyhow::Result<()> {
        let m = &self.messages;
        for (p, headers) in m.provinces.iter().enumerate() {
            let province = m
                .scenario
                .province(&province_id(p))
                .expect("generated province");
            let prefecture = &province.prefectures[0].name;
            let pools = province
                .total_pool()
                .into_iter()
                .map(|(t, q)| ResourcePool {
                    resource_type: t.as_str().to_string(),
                    quantity: q,
                    contributions: vec![Contribution {
                        prefecture: prefecture.clone(),
                        quantity: q,
                    }],
                })
                .collect();
            let report = CapacityReport {
                header: Some(headers.header(ScenarioTime(0))),
                pools,
                outbreak_level: 0,
            };
            self.senders
                .central(&province_id(p))
                .report_capacity(client::request(report))
                .await
                .context("capacity report")?;
        }
        Ok(())
    }

    /// Sends city `i`'s request (for setup, outside any measurement).
    pub async fn open_cases(&self, count: usize) -> anyhow::Result<()> {
        for i in 0..count {
            self.senders
                .central(&city_id(i))
                .request_assistance(client::request(self.messages.request(i)))
                .await
                .context("request")?;
        }
        Ok(())
    }

    /// Waits until no case awaits pairing (the decision window closed).
    pub async fn wait_paired(&self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let status = self
                .client
                .clone()
                .get_status(client::request(StatusQuery {}))
                .await?
                .into_inner();
            if !status.cases.is_empty()
                && status.cases.iter().all(|c| c.stage != "awaiting_pairing")
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(anyhow!("cases not paired within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        let _ = self.central.stop().await;
        self.stubs.cancel();
    }
}

impl Messages {
    /// Who sends city `i`'s request and report: the city.
    pub fn city(&self, i: usize) -> String {
        city_id(i)
    }

    /// Who sends the donor's report on city `i`'s case.
    pub fn donor(&self, i: usize) -> String {
        province_id(scenario_gen::historical_donors(i, self.provinces.len())[0])
    }

    /// The request city `i` sends on its first day: a situation three times
    /// over its capacity and its needs for every resource type.
    pub fn request(&self, i: usize) -> AssistanceRequest {
        let situation = situation();
        let needs = self
            .scenario
            .needs_per_active_case
            .iter()
            .map(|(t, per_case)| line(*t, (per_case * situation.active_cases as f64).ceil() as i64))
            .filter(|l| l.quantity > 0)
            .collect();
        AssistanceRequest {
            header: Some(self.cities[i].header(ScenarioTime(0))),
            situation: Some(situation),
            needs,
        }
    }

    /// A donor's cumulative report on city `i`'s case: the same shipments
    /// each time (as the protocol resends them), a fresh message id.
    pub fn donor_report(&self, i: usize) -> SupervisoryReport {
        let donor = scenario_gen::historical_donors(i, self.provinces.len())[0];
        SupervisoryReport {
            header: Some(self.provinces[donor].header(ScenarioTime(0))),
            case_id: case_id(i),
            shipments: (0..SHIPMENTS_PER_REPORT)
                .map(|k| ShipmentRecord {
                    shipment_id: shipment_id(i, donor, k),
                    departed_at_ms: 1_000 + k as i64,
                    lines: shipment_lines(),
                })
                .collect(),
            cost_cny: 1_000_000,
            outbreak_level: 0,
            personnel_deployed: 120,
            r#final: false,
            messages_received: counters(),
            ..Default::default()
        }
    }

    /// City `i`'s cumulative report: its situation and a receipt for each
    /// shipment of its first donor, with the transit loss as a discrepancy.
    pub fn city_report(&self, i: usize) -> SupervisoryReport {
        let donor = scenario_gen::historical_donors(i, self.provinces.len())[0];
        city_report(self.cities[i].header(ScenarioTime(0)), i, donor)
    }
}

/// City `i`'s cumulative report under `header`: its situation and a receipt
/// for each shipment of `donor`, with the transit loss as a discrepancy.
/// Needs no cluster: `decode_report` decodes it alone.
pub fn city_report(header: MessageHeader, i: usize, donor: usize) -> SupervisoryReport {
    SupervisoryReport {
        header: Some(header),
        case_id: case_id(i),
        situation: Some(situation()),
        receipts: (0..SHIPMENTS_PER_REPORT)
            .map(|k| {
                let mut received = shipment_lines();
                received[0].quantity -= LOST_MASKS;
                ReceiptRecord {
                    shipment_id: shipment_id(i, donor, k),
                    received_at_ms: 2_000 + k as i64,
                    received,
                    discrepancies: vec![Discrepancy {
                        resource_type: ResourceType::MaskN95.into(),
                        quantity: LOST_MASKS,
                        reason: DiscrepancyReason::DamagedInTransit as i32,
                    }],
                }
            })
            .collect(),
        messages_received: counters(),
        ..Default::default()
    }
}

const LOST_MASKS: i64 = 40;

fn case_id(i: usize) -> String {
    format!("case-{}-1", city_id(i))
}

fn shipment_id(i: usize, donor: usize, k: usize) -> String {
    format!("shp-{}-{}-{}", province_id(donor), case_id(i), k + 1)
}

fn line(t: ResourceType, quantity: i64) -> ResourceQuantity {
    ResourceQuantity {
        resource_type: t.into(),
        quantity,
    }
}

/// One shipment: masks first (the receipt's loss applies to them).
fn shipment_lines() -> Vec<ResourceQuantity> {
    vec![
        line(ResourceType::MaskN95, 20_000),
        line(ResourceType::ProtectiveSuit, 3_000),
        line(ResourceType::Goggles, 500),
        line(ResourceType::Ventilator, 4),
        line(ResourceType::FundsCny, 1_000_000),
    ]
}

/// 800 active cases against a capacity of 40: far over, so accepted.
fn situation() -> Situation {
    Situation {
        confirmed_total: 900,
        active_cases: 800,
        severe: 50,
        critical: 20,
        beds: 100,
        local_doctors: 10,
        local_nurses: 20,
        new_cases_today: 30,
        days_without_new_cases: 0,
    }
}

/// What a node's counters look like in its report.
fn counters() -> std::collections::HashMap<String, u64> {
    [
        ("ClockStart", 1),
        ("CaseDecision", 1),
        ("Shipment", 4),
        ("Evaluation", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs the futures concurrently and returns their outputs in order.
async fn spawn_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("setup task does not panic"));
    }
    out
}
