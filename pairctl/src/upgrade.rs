//! Rolling upgrades of a cluster `pairctl up` is running: `pairctl upgrade`
//! asks, the supervisor (`pairctl up`, which owns the node processes)
//! replaces the nodes one at a time, in an order drawn from a seed it
//! prints, each stopped, started from the new binary on its own data
//! directory and port, and announced again before the next.
//!
//! The two processes talk through files in the run's log directory, the
//! one place both know: `upgrade.request` (written whole, then renamed into
//! place), `upgrade.log` (the plan and each node as it is replaced) and
//! `upgrade.result` (`done N` or `failed: why`).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cluster::Cluster;

pub const REQUEST_FILE: &str = "upgrade.request";
pub const LOG_FILE: &str = "upgrade.log";
pub const RESULT_FILE: &str = "upgrade.result";

/// What `pairctl upgrade` asks for: every node to run `exe`, in the order
/// `seed` draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub exe: PathBuf,
    pub seed: u64,
}

impl Request {
    fn encode(&self) -> String {
        format!("exe={}\nseed={}\n", self.exe.display(), self.seed)
    }

    fn parse(text: &str) -> anyhow::Result<Request> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .with_context(|| format!("upgrade request: no {name}= line"))
        };
        Ok(Request {
            exe: PathBuf::from(field("exe")?),
            seed: field("seed")?.parse().context("upgrade request: seed")?,
        })
    }

    /// Hands the request to the supervisor of the run logging to `log_dir`.
    pub fn send(&self, log_dir: &Path) -> anyhow::Result<()> {
        for stale in [RESULT_FILE, LOG_FILE] {
            let _ = std::fs::remove_file(log_dir.join(stale));
        }
        let partial = log_dir.join(format!("{REQUEST_FILE}.partial"));
        std::fs::write(&partial, self.encode())
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, log_dir.join(REQUEST_FILE)).context("cannot place the request")
    }
}

/// `ids` in the order `seed` draws (Fisher-Yates on SplitMix64): the same
/// seed, the same order.
pub fn drawn_order(mut ids: Vec<String>, seed: u64) -> Vec<String> {
    ids.sort();
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..ids.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    ids
}

/// The supervisor's side: idle, or part way through an upgrade.
#[derive(Debug, Default)]
pub struct RollingUpgrade {
    active: Option<Active>,
}

#[derive(Debug)]
struct Active {
    exe: PathBuf,
    remaining: VecDeque<String>,
    replaced: usize,
}

impl RollingUpgrade {
    /// One step, called on every supervision tick: starts an upgrade that
    /// was asked for, or replaces its next node, or reports it done. A
    /// node that does not come back fails the upgrade (and says so in the
    /// result) but not the run: the supervisor restarts it as any other.
    pub async fn step(&mut self, cluster: &mut Cluster, log_dir: &Path) -> anyhow::Result<()> {
        let Some(active) = &mut self.active else {
            let request_path = log_dir.join(REQUEST_FILE);
            let Ok(text) = std::fs::read_to_string(&request_path) else {
                return Ok(());
            };
            let _ = std::fs::remove_file(&request_path);
            let request = Request::parse(&text)?;
            let ids = cluster.nodes().iter().map(|n| n.spec.id.clone()).collect();
            let order = drawn_order(ids, request.seed);
            say(
                log_dir,
                &format!(
                    "Rolling upgrade to {} (seed {}): {}",
                    request.exe.display(),
                    request.seed,
                    order.join(", ")
                ),
            );
            self.active = Some(Active {
                exe: request.exe,
                remaining: order.into(),
                replaced: 0,
            });
            return Ok(());
        };
        let Some(id) = active.remaining.pop_front() else {
            finish(log_dir, &format!("done {}", active.replaced));
            self.active = None;
            return Ok(());
        };
        match cluster.replace(&id, &active.exe).await {
            Ok(pid) => {
                active.replaced += 1;
                say(log_dir, &format!("upgraded {id} (pid {pid})"));
            }
            Err(e) => {
                finish(log_dir, &format!("failed: {e:#}"));
                self.active = None;
            }
        }
        Ok(())
    }
}

/// A line on stdout and in the upgrade log.
fn say(log_dir: &Path, line: &str) {
    println!("{line}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_dir.join(LOG_FILE));
    if let Ok(mut log) = log {
        let _ = writeln!(log, "{line}");
    }
}

fn finish(log_dir: &Path, result: &str) {
    say(log_dir, &format!("upgrade {result}"));
    let _ = std::fs::write(log_dir.join(RESULT_FILE), result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_one_order_of_every_node() {
        let ids: Vec<String> = (0..36).map(|i| format!("n{i:02}")).collect();
        let a = drawn_order(ids.clone(), 7);
        assert_eq!(
            a,
            drawn_order(ids.clone(), 7),
            "the same seed, the same order"
        );
        assert_ne!(a, drawn_order(ids.clone(), 8));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, ids, "every node once");
    }

    #[test]
    fn a_request_reads_back_what_was_written() {
        let request = Request {
            exe: PathBuf::from("/opt/new/pairctl"),
            seed: 42,
        };
        assert_eq!(Request::parse(&request.encode()).unwrap(), request);
        assert!(Request::parse("exe=/x\n").is_err(), "no seed");
    }
}
