//! The watch over a run `pairctl up` started: central's status polled
//! until the run finishes, a progress line each second, dead nodes started
//! again, and a finished run held until its nodes are listed where they
//! announced themselves (their books are read there next).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;
use pairing_proto::v1::ClusterStatus;
use tokio::time::Instant;

use super::RunEnd;
use crate::central_client::CentralClient;
use crate::cluster::Cluster;
use crate::plan;
use crate::render;

/// How often pairctl asks central for its status.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How often a progress line is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Central not answering for this long ends the run as failed.
const CENTRAL_SILENCE_LIMIT: Duration = Duration::from_secs(20);
/// How long a finished run waits for its nodes to register at the
/// addresses they announced (see [`registered_elsewhere`]) before their
/// books are read anyway (a node that never registers is then named as
/// unreadable by the reconciliation).
const REGISTER_AGAIN_LIMIT: Duration = Duration::from_secs(30);

/// What [`watch`] watches for.
pub(super) struct Watch<'a> {
    pub(super) nodes_expected: usize,
    pub(super) timeout: Duration,
    pub(super) max_restarts: u32,
    /// Where `pairctl upgrade` leaves its requests.
    pub(super) log_dir: &'a Path,
}

/// Polls central's status until it reports the run finished (and its
/// nodes are listed where they announced themselves), printing a progress
/// line every second. A node that dies is restarted on its data
/// directory; fails if one dies too often or central goes silent.
pub(super) async fn watch(
    central: &CentralClient,
    cluster: &mut Cluster,
    watching: Watch<'_>,
) -> anyhow::Result<RunEnd> {
    let Watch {
        nodes_expected,
        timeout,
        max_restarts,
        log_dir,
    } = watching;
    let mut upgrade = crate::upgrade::RollingUpgrade::default();
    let deadline = Instant::now() + timeout;
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_answer = Instant::now();
    let mut last_progress: Option<Instant> = None;
    let mut finished_at: Option<Instant> = None;
    loop {
        ticks.tick().await;
        for restart in cluster.supervise(max_restarts)? {
            println!("{restart}");
        }
        upgrade.step(cluster, log_dir).await?;
        if Instant::now() >= deadline {
            return Ok(RunEnd::TimedOut(timeout));
        }
        let status = match central.status().await {
            Ok(status) => status,
            Err(e) if last_answer.elapsed() > CENTRAL_SILENCE_LIMIT => {
                return Err(e.context(format!(
                    "central has not answered for {} s",
                    CENTRAL_SILENCE_LIMIT.as_secs()
                )))
            }
            Err(e) => {
                // Say so once a second: a silent launcher looks hung.
                if last_progress.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL) {
                    println!("(no answer from central yet: {e})");
                    last_progress = Some(Instant::now());
                }
                continue;
            }
        };
        last_answer = Instant::now();
        if status.finished || last_progress.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL) {
            println!("{}", render::progress_line(&status, nodes_expected));
            last_progress = Some(Instant::now());
        }
        if status.finished {
            // A run resumed from saved state is finished from its first
            // status, while its nodes may still be registering their new
            // addresses: their books are read where central lists them.
            let announced = cluster.nodes().iter().map(|n| (n.spec.id.as_str(), n.addr));
            let waiting = registered_elsewhere(&status, announced);
            let finished_at = *finished_at.get_or_insert_with(Instant::now);
            if waiting.is_empty() || finished_at.elapsed() >= REGISTER_AGAIN_LIMIT {
                return Ok(RunEnd::Finished);
            }
            println!(
                "finished; waiting for {} to register at their new addresses",
                waiting.join(", ")
            );
            continue;
        }
        if !status.clock_stalled.is_empty() {
            // A node never finished its step: nothing more will happen.
            return Err(anyhow!(
                "the lockstep clock stalled: {}; logs in {}",
                status.clock_stalled,
                log_dir.display()
            ));
        }
    }
}

/// The nodes `announced` (id, and the address it announced) that central lists at another address than the
/// one they announced in this run (or not at all): central's registry
/// still holds a previous life's address until the node registers again.
fn registered_elsewhere<'a>(
    status: &ClusterStatus,
    announced: impl IntoIterator<Item = (&'a str, Option<SocketAddr>)>,
) -> Vec<String> {
    let host_port = |endpoint: &str| {
        let rest = endpoint
            .split_once("://")
            .map_or(endpoint, |(_, rest)| rest);
        rest.trim_end_matches('/').to_string()
    };
    let listed: HashMap<&str, String> = status
        .nodes
        .iter()
        .map(|n| (n.node_id.as_str(), host_port(&n.endpoint)))
        .collect();
    announced
        .into_iter()
        .filter(|(id, _)| *id != plan::CENTRAL_ID)
        .filter_map(|(id, addr)| {
            let announced = addr?.to_string();
            (listed.get(id) != Some(&announced)).then(|| id.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::NodeStatus;

    fn listed(nodes: &[(&str, &str)]) -> ClusterStatus {
        ClusterStatus {
            nodes: nodes
                .iter()
                .map(|(id, endpoint)| NodeStatus {
                    node_id: id.to_string(),
                    endpoint: endpoint.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_node_listed_at_its_previous_lifes_address_is_waited_for() {
        // A resumed run: central's saved registry still lists beta's
        // address of the run before.
        let status = listed(&[
            ("central", "https://127.0.0.1:4000"),
            ("alpha", "https://127.0.0.1:4001"),
            ("beta", "https://127.0.0.1:35533"),
        ]);
        let announced = [
            ("central", addr("127.0.0.1:4000")),
            ("alpha", addr("127.0.0.1:4001")),
            ("beta", addr("127.0.0.1:43543")),
            ("west", addr("127.0.0.1:4003")),
        ];
        assert_eq!(registered_elsewhere(&status, announced), ["beta", "west"]);
    }

    #[test]
    fn nodes_listed_where_they_announced_themselves_are_not_waited_for() {
        let status = listed(&[
            ("alpha", "http://127.0.0.1:4001"),
            ("north", "https://127.0.0.1:4002/"),
        ]);
        let announced = [
            ("alpha", addr("127.0.0.1:4001")),
            ("north", addr("127.0.0.1:4002")),
            // Not yet announced: nothing to compare.
            ("south", None),
        ];
        assert!(registered_elsewhere(&status, announced).is_empty());
    }
}
