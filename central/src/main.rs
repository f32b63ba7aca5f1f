//! `central`: the central authority of a Counterpart cluster.

use clap::Parser;

// Two workers: central is the hub every node calls (see pairctl node).
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    central::cli::run(central::cli::Args::parse()).await
}
