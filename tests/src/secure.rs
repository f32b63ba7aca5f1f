//! Clusters over mutual TLS for the attack tests: each test's own
//! certificates (`pairctl certs`), clients that present a given node's
//! certificate, and central's view before and after an attack.

use std::path::{Path, PathBuf};
use std::time::Duration;

use node_kit::client::{request, Dialer};
use node_kit::tls::NodeTls;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{ClusterStatus, LedgerLine, LedgerQuery, ReportQuery, StatusQuery};
use tonic::transport::Channel;

use crate::checks::{self, assert_holds};
use crate::cluster::Cluster;
use crate::scenario_path;

/// A scenario day that lasts a real day: nothing moves during a test.
pub const FROZEN_DAY_MS: i64 = 86_400_000;
/// The pace of the runs whose attacks need a case in progress.
pub const LIVE_DAY_MS: i64 = 150;
/// How long a settled cluster is watched for a change.
pub const SETTLE: Duration = Duration::from_millis(800);

/// The small scenario's certificates, in a directory of this test's own.
pub fn certs(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("counterpart-attacks-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scenario = counterpart_domain::scenario::load(&scenario_path("small")).unwrap();
    pairctl::certs::write_all(&dir, &pairctl::certs::holders(&scenario)).unwrap();
    dir
}

/// A channel to `endpoint` presenting `id`'s certificate from `dir`.
pub fn dial_as(dir: &Path, id: &str, endpoint: &str) -> Channel {
    let tls = NodeTls::load(dir, id).unwrap();
    Dialer::new(Some(&tls)).channel(endpoint).unwrap()
}

pub fn central_as(dir: &Path, id: &str, cluster: &Cluster) -> CentralAuthorityClient<Channel> {
    CentralAuthorityClient::new(dial_as(dir, id, &cluster.central.endpoint()))
}

pub fn province_as(
    dir: &Path,
    id: &str,
    cluster: &Cluster,
    target: &str,
) -> DonorProvinceClient<Channel> {
    DonorProvinceClient::new(dial_as(dir, id, &cluster.province(target).endpoint()))
}

pub fn city_as(
    dir: &Path,
    id: &str,
    cluster: &Cluster,
    target: &str,
) -> RecipientCityClient<Channel> {
    RecipientCityClient::new(dial_as(dir, id, &cluster.city(target).endpoint()))
}

/// What central knows, without the clock's reading: the state an attack
/// must not change.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub nodes: String,
    pub cases: String,
    pub ledger: String,
    pub messages: String,
}

pub async fn snapshot(dir: &Path, cluster: &Cluster) -> Snapshot {
    let mut operator = central_as(dir, "operator", cluster);
    let status = operator
        .get_status(request(StatusQuery {}))
        .await
        .unwrap()
        .into_inner();
    let ledger = operator
        .get_ledger(request(LedgerQuery {}))
        .await
        .unwrap()
        .into_inner();
    let report = operator
        .get_report(request(ReportQuery {}))
        .await
        .unwrap()
        .into_inner();
    let report: serde_json::Value = serde_json::from_str(&report.json).unwrap();
    Snapshot {
        nodes: format!("{:?}", status.nodes),
        cases: format!("{:?}", status.cases),
        ledger: format!("{ledger:?}"),
        messages: report["messages"].to_string(),
    }
}

/// Waits until every node has registered and central's view has stopped
/// changing (the frozen cluster's first steps are done).
pub async fn settled(dir: &Path, cluster: &Cluster) -> Snapshot {
    let nodes = cluster.provinces.len() + cluster.cities.len();
    for _ in 0..100 {
        let mut operator = central_as(dir, "operator", cluster);
        let status: ClusterStatus = operator
            .get_status(request(StatusQuery {}))
            .await
            .unwrap()
            .into_inner();
        if status.nodes.iter().filter(|n| n.registered).count() == nodes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut before = snapshot(dir, cluster).await;
    for _ in 0..20 {
        tokio::time::sleep(SETTLE).await;
        let now = snapshot(dir, cluster).await;
        if now == before {
            return now;
        }
        before = now;
    }
    panic!("the frozen cluster never settled: {before:?}");
}

/// After an attack: central's view is what it was.
pub async fn unchanged(dir: &Path, cluster: &Cluster, before: &Snapshot) {
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        &snapshot(dir, cluster).await,
        before,
        "the attack changed central's state"
    );
}

pub async fn frozen(test: &str) -> (PathBuf, Cluster, Snapshot) {
    let dir = certs(test);
    let cluster =
        Cluster::start_with(&scenario_path("small"), FROZEN_DAY_MS, None, Some(&dir)).await;
    let before = settled(&dir, &cluster).await;
    (dir, cluster, before)
}

pub async fn finish(dir: PathBuf, cluster: Cluster) {
    cluster.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

pub fn assert_refused_at_connection(
    result: Result<impl std::fmt::Debug, tonic::Status>,
    what: &str,
) {
    let status = result.expect_err(what);
    // The server ends the connection in the TLS handshake: the client sees
    // a transport error, no gRPC answer at all. Which one (an alert, a
    // broken pipe, a closed connection; UNKNOWN, CANCELLED, INTERNAL) is a
    // race between the client's first write and the server's close.
    let transport = std::error::Error::source(&status)
        .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some());
    assert!(
        transport,
        "{what}: not refused at the connection: {status:?}"
    );
    assert!(
        status.metadata().get("content-type").is_none(),
        "{what}: the server answered: {status:?}"
    );
}

/// Polls central (as the operator) until `pick` finds what it looks for.
pub async fn wait_for<T>(
    dir: &Path,
    cluster: &Cluster,
    mut pick: impl FnMut(&ClusterStatus, &[LedgerLine]) -> Option<T>,
) -> T {
    let mut operator = central_as(dir, "operator", cluster);
    for _ in 0..600 {
        let status = operator
            .get_status(request(StatusQuery {}))
            .await
            .unwrap()
            .into_inner();
        let ledger = operator
            .get_ledger(request(LedgerQuery {}))
            .await
            .unwrap()
            .into_inner();
        if let Some(found) = pick(&status, &ledger.lines) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run never got there");
}

/// The run ends as every run of the small scenario must: the cases it
/// promises, in a legal order, the nodes' own books (read as the operator)
/// agreeing with central's ledger.
pub async fn run_is_sound(dir: &Path, cluster: &Cluster) -> serde_json::Value {
    let operator = NodeTls::load(dir, node_kit::tls::OPERATOR_ID).unwrap();
    let endpoint = cluster.central.endpoint();
    crate::cluster::wait_finished_as(&endpoint, Some(&operator), Duration::from_secs(120)).await;
    let report = crate::cluster::report_with_books_as(&endpoint, Some(&operator)).await;
    assert_holds(
        "historical pairing",
        checks::historical_pairings(&report, &cluster.scenario),
    );
    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    assert_holds(
        "expected cases",
        checks::cases_as_expected(&report, checks::SMALL_SCENARIO_CASES),
    );
    report
}
