//! pairctl: the operator's command line for Counterpart.
//!
//! `pairctl up` runs a whole scenario on one machine, one process per node,
//! and reports the outcome; `status`, `pairings`, `ledger` and `report`
//! query a running central; `compose`, `k8s` and `probe` serve the
//! container deployments (deploy/). The modules:
//!
//! - [`cli`]: the command line (clap derive) and its defaults.
//! - [`commands`]: one module per subcommand, and the dispatch.
//! - [`compose`]: the docker compose file of a scenario, rendered.
//! - [`k8s`]: the Kubernetes manifests of a scenario, and the offline
//!   kustomize renderer that checks them.
//! - [`certs`]: the development CA and the nodes' certificates (mutual TLS).
//! - [`plan`]: which nodes `up` starts, with which arguments, for how long.
//! - [`cluster`]: the node processes: spawn, learn their address, watch,
//!   stop.
//! - [`announce`]: finding a child's `LISTENING` line in its stdout.
//! - [`central_client`]: central's operator queries, with deadlines and
//!   one-line errors.
//! - [`report`]: the run report with the launch facts merged in, and the
//!   run summary.
//! - [`digest`]: the report's digest, a sha256 of the run's story with the
//!   processes and wall times left out.
//! - [`reconcile`]: central's ledger beside every node's own books.
//! - [`checks`]: the properties every finished run must have, checked on
//!   its report (the suites and the simulator share them).
//! - [`sim`]: `pairctl sim`, the whole cluster in a deterministic
//!   simulator, many seeds, each replayable.
//! - [`sweep`]: `pairctl sweep`, policies against each other for patients
//!   (deaths, untreated patient-days, cost), with plots.
//! - [`dashboard`]: the live web page of the operation, fed by central's
//!   `WatchOperation` stream.
//! - [`render`]: status, pairings and ledger as terminal text.
//! - [`table`]: aligned text columns.
//! - [`traces`]: a run's spans (OTLP, Jaeger JSON) and the protocol checker
//!   over them (`check-traces`).
//! - [`upgrade`]: rolling upgrades: `pairctl upgrade` asks, `up` replaces
//!   its nodes one at a time.

pub mod announce;
pub mod central_client;
pub mod certs;
pub mod checks;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod compose;
pub mod dashboard;
pub mod digest;
pub mod k8s;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod report;
pub mod sim;
pub mod sweep;
pub mod table;
pub mod traces;
pub mod upgrade;

/// The whole `pairctl` program: parse the command line, run it, turn an
/// error into one line on stderr and exit code 1. The integration tests
/// build the same program under another name (see tests/src/bin).
pub fn main_entry() -> std::process::ExitCode {
    use clap::Parser;
    match commands::run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pairctl: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
