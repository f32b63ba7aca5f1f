//! Integration harness for Counterpart clusters.
//!
//! - [`cluster`]: start a whole scenario in-process on loopback ports, or
//!   find the `pairctl` binary to start one as child processes.
//! - [`checks`]: the properties every run must have, checked on the run
//!   report: the pairing table, the legal order of each case's steps, the
//!   cases a suite expects (city, status, count), and the nodes' own books
//!   reconciled with central's ledger.
//! - [`secure`]: clusters over mutual TLS for the attack tests: certificates,
//!   clients presenting a given node's, central's view before and after.
//! - [`host`]: one node on a thread and runtime of its own, to crash and
//!   restart on its data directory.
//! - [`browser`]: a headless Chromium driven through WebDriver (the
//!   dashboard's test); required when `CI=true`.
//! - [`chaos`]: seeded fault schedules for the fault suite.
//! - [`resilient`]: a whole scenario of such nodes, with durable state.
//! - [`docker`]: for the container suites: whether a Docker engine answers
//!   (required when `CI=true`), the node image built from the current
//!   sources, per-run names, a guard that removes what a test created, and
//!   a scenario's cluster in containers with its faults.
//! - [`wire`]: arbitrary bytes decoded as requests and handed to the state
//!   machines (shared with the fuzz target in `fuzz/`).

pub mod browser;
pub mod chaos;
pub mod checks;
pub mod cluster;
pub mod docker;
pub mod host;
pub mod resilient;
pub mod secure;
pub mod wire;

/// The repository root, for scenario files.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A scenario file under deploy/scenarios.
pub fn scenario_path(name: &str) -> std::path::PathBuf {
    repo_root()
        .join("deploy/scenarios")
        .join(format!("{name}.toml"))
}
