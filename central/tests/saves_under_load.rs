//! Central keeps answering while its state grows: the collapse of a fresh
//! clone's hubei run, reproduced in one process. Central runs durable, on
//! a runtime of two workers (as its binary does), with about a thousand
//! reports of history preloaded; then its 35 nodes report every 400 ms
//! with 3 s deadlines while a CPU hog shares the machine, and an operator
//! asks for the status every 100 ms with a 1 s deadline.
//!
//! When every save wrote the whole state under the machine's lock, each
//! save cost more than the last and the lock starved everyone: reports
//! missed their deadlines and `GetStatus` stopped answering. With the
//! journal a save costs the change, so every call answers within its
//! deadline. The deadlines are the protocol's own (a node's call that
//! misses one is retried as lost), not a speed target.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use counterpart_domain::scenario::{self, Scenario};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::*;
use tonic::transport::Channel;

/// Reports of history before the measured phase.
const PRELOADED_REPORTS: usize = 10_000;
/// Processes keeping a core busy beside central, as a loaded machine.
const CPU_HOGS: usize = 2;
/// How long every node keeps reporting.
const MEASURED: Duration = Duration::from_secs(15);
const REPORT_EVERY: Duration = Duration::from_millis(400);
/// The deadline every node's call carries (node_kit's default).
const REPORT_DEADLINE: Duration = Duration::from_secs(3);
const STATUS_EVERY: Duration = Duration::from_millis(100);
const STATUS_DEADLINE: Duration = Duration::from_secs(1);

mod common;

use common::overwhelmed;

fn hubei() -> Arc<Scenario> {
    common::scenario("hubei-2020")
}

fn header(node: &str, n: usize) -> Option<MessageHeader> {
    common::header(node, &format!("load-{n}"))
}

fn timed<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
}

fn city_report(city: &str, case_id: &str, n: usize) -> SupervisoryReport {
    SupervisoryReport {
        header: header(city, n),
        case_id: case_id.into(),
        situation: Some(overwhelmed()),
        ..Default::default()
    }
}

fn capacity_report(province: &scenario::Province, n: usize) -> CapacityReport {
    CapacityReport {
        header: header(&province.id, n),
        pools: common::pools_of(province),
        outbreak_level: 1,
    }
}

/// A process that keeps one core busy until dropped.
struct CpuHog(Child);

impl CpuHog {
    fn start() -> CpuHog {
        let child = Command::new("yes")
            .stdout(Stdio::null())
            .spawn()
            .expect("`yes` runs (coreutils)");
        CpuHog(child)
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Central on a runtime of its own with two workers, durable in `dir`
/// (built on a thread of its own: a runtime cannot start inside another).
fn start_central(dir: &std::path::Path) -> (String, tokio::runtime::Runtime) {
    let dir = dir.to_path_buf();
    std::thread::spawn(move || central_runtime(&dir))
        .join()
        .unwrap()
}

fn central_runtime(dir: &std::path::Path) -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let node = runtime
        .block_on(central::start(central::CentralConfig {
            concurrency: Default::default(),
            scenario: hubei(),
            // Stub nodes take no steps: the wall clock.
            clock: central::authority::ClockPlan::wall(central::authority::DEFAULT_SEED),
            listen_addr: "127.0.0.1:0".into(),
            // A scenario day lasts a real day: no decision, evaluation or
            // resend falls due during the test; only the reports load it.
            day_ms: 86_400_000,
            policy: Default::default(),
            tls: None,
            data_dir: Some(dir.to_path_buf()),
            durability: Default::default(),
            faults: None,
        }))
        .expect("central starts");
    let endpoint = node.endpoint();
    runtime.spawn(async move {
        node.task.await.ok();
    });
    (endpoint, runtime)
}

/// Every node registered (so the clock starts) and a case per city.
async fn open_cases(
    central: &mut CentralAuthorityClient<Channel>,
    s: &Scenario,
) -> Vec<(String, String)> {
    let nodes = s.provinces.iter().map(|p| (p.id.clone(), Role::Province));
    let nodes = nodes.chain(s.cities.iter().map(|c| (c.id.clone(), Role::City)));
    for (id, role) in nodes {
        let register = RegisterNode {
            header: header(&id, 0),
            role: role as i32,
            // Nobody listens there: central's own sends fail and wait for
            // a later round, as to a node that is down.
            endpoint: "http://127.0.0.1:9".into(),
            ..Default::default()
        };
        central.register(register).await.expect("registers");
    }
    let mut cases = Vec::new();
    for city in &s.cities {
        let request = AssistanceRequest {
            header: header(&city.id, 1),
            situation: Some(overwhelmed()),
            needs: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: 400,
            }],
        };
        let ack = central.request_assistance(request).await.expect("request");
        cases.push((city.id.clone(), ack.into_inner().case_id));
    }
    cases
}

async fn preload(central: &CentralAuthorityClient<Channel>, cases: &[(String, String)]) {
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..PRELOADED_REPORTS {
        let (city, case_id) = cases[n % cases.len()].clone();
        let mut client = central.clone();
        sends.spawn(async move {
            let report = city_report(&city, &case_id, 1_000_000 + n);
            client
                .submit_report(report)
                .await
                .expect("preloaded report");
        });
        if sends.len() >= 16 {
            sends.join_next().await;
        }
    }
    while sends.join_next().await.is_some() {}
}

/// One node's reports for the measured phase; the calls that failed.
async fn report_for(
    mut central: CentralAuthorityClient<Channel>,
    node: Sender,
    until: Instant,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut tick = tokio::time::interval(REPORT_EVERY);
    for n in 2_000_000.. {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let call = async {
            match &node {
                Sender::City { id, case_id } => central
                    .submit_report(timed(city_report(id, case_id, n), REPORT_DEADLINE))
                    .await
                    .map(drop),
                Sender::Province(p) => central
                    .report_capacity(timed(capacity_report(p, n), REPORT_DEADLINE))
                    .await
                    .map(drop),
            }
        };
        // The deadline travels as grpc-timeout; the caller enforces it too.
        match tokio::time::timeout(REPORT_DEADLINE, call).await {
            Ok(Ok(())) => {}
            Ok(Err(status)) => failures.push(format!(
                "{}: {:?} {}",
                node.id(),
                status.code(),
                status.message()
            )),
            Err(_) => failures.push(format!(
                "{}: no answer within {REPORT_DEADLINE:?}",
                node.id()
            )),
        }
    }
    failures
}

enum Sender {
    City { id: String, case_id: String },
    Province(scenario::Province),
}

impl Sender {
    fn id(&self) -> &str {
        match self {
            Sender::City { id, .. } => id,
            Sender::Province(p) => &p.id,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_answers_every_node_and_the_operator_while_its_history_grows() {
    let dir = std::env::temp_dir().join(format!("counterpart-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = hubei();
    let (endpoint, central_runtime) = start_central(&dir);
    let mut central = CentralAuthorityClient::connect(endpoint).await.unwrap();
    let cases = open_cases(&mut central, &s).await;
    preload(&central, &cases).await;

    let hogs: Vec<CpuHog> = (0..CPU_HOGS).map(|_| CpuHog::start()).collect();
    let until = Instant::now() + MEASURED;
    let senders = cases
        .iter()
        .map(|(id, case_id)| Sender::City {
            id: id.clone(),
            case_id: case_id.clone(),
        })
        .chain(s.provinces.iter().cloned().map(Sender::Province));
    let reporting: Vec<_> = senders
        .map(|node| tokio::spawn(report_for(central.clone(), node, until)))
        .collect();
    assert_eq!(reporting.len(), 35, "every node of hubei-2020 reports");
    let mut status_ms = Vec::new();
    let mut status_failures = Vec::new();
    let mut operator = central.clone();
    while Instant::now() < until {
        let asked = Instant::now();
        let query = operator.get_status(timed(StatusQuery::default(), STATUS_DEADLINE));
        match tokio::time::timeout(STATUS_DEADLINE, query).await {
            Ok(Ok(_)) => status_ms.push(asked.elapsed().as_secs_f64() * 1e3),
            Ok(Err(status)) => {
                status_failures.push(format!("{:?} {}", status.code(), status.message()))
            }
            Err(_) => status_failures.push(format!("no answer within {STATUS_DEADLINE:?}")),
        }
        tokio::time::sleep(STATUS_EVERY).await;
    }
    let mut report_failures = Vec::new();
    for node in reporting {
        report_failures.extend(node.await.unwrap());
    }
    drop(hogs);

    status_ms.sort_by(f64::total_cmp);
    let p99 = status_ms[(status_ms.len() * 99 / 100).min(status_ms.len() - 1)];
    println!(
        "GetStatus: {} answered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed",
        status_ms.len(),
        status_ms[status_ms.len() / 2],
        p99,
        status_ms.last().unwrap(),
        status_failures.len()
    );
    assert!(
        report_failures.is_empty(),
        "reports failed: {report_failures:?}"
    );
    assert!(
        status_failures.is_empty(),
        "GetStatus failed: {status_failures:?}"
    );
    assert!(!status_ms.is_empty());
    central_runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&dir);
}
