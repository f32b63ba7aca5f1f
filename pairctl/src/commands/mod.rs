//! One module per subcommand (as in mini-redis's `cmd`), and the dispatch.
//!
//! Every command runs on a current-thread runtime: `up` mostly waits, and
//! its children's `PR_SET_PDEATHSIG` is tied to the thread that spawned
//! them, which must then live as long as the launcher (the main thread).

pub mod catalog;
pub mod certs;
pub mod check_traces;
pub mod compose;
pub mod dashboard;
pub mod k8s;
pub mod ledger;
pub mod node;
pub mod otlp_sink;
pub mod pairings;
pub mod probe;
pub mod report;
pub mod sim;
pub mod status;
pub mod sweep;
pub mod up;
pub mod upgrade;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the command line; the error is printed by `main` as one line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        // The node builds its own runtime, after its telemetry.
        Command::Node(args) => node::run(args),
        Command::CheckTraces(args) => check_traces::run(args),
        Command::Compose(args) => compose::run(args),
        Command::K8s(args) => k8s::run(args),
        Command::Certs(args) => certs::run(args),
        Command::Catalog => catalog::run(),
        // Builds its own simulations, one per seed, in its own threads.
        Command::Sim(args) => sim::run(args),
        Command::Sweep(args) => sweep::run(args),
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                match command {
                    Command::Up(args) => up::run(args).await,
                    Command::Status(args) => status::run(args).await,
                    Command::Dashboard(args) => dashboard::run(args).await,
                    Command::Pairings(args) => pairings::run(args).await,
                    Command::Ledger(args) => ledger::run(args).await,
                    Command::Report(args) => report::run(args).await,
                    Command::Probe(args) => probe::run(args).await,
                    Command::Upgrade(args) => upgrade::run(args).await,
                    Command::OtlpSink(args) => otlp_sink::run(args).await,
                    Command::CheckTraces(_)
                    | Command::Node(_)
                    | Command::Compose(_)
                    | Command::K8s(_)
                    | Command::Certs(_)
                    | Command::Catalog
                    | Command::Sim(_)
                    | Command::Sweep(_) => {
                        unreachable!("dispatched above")
                    }
                }
            })
        }
    }
}
