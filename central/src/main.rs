//! `central`: the central authority of a Counterpart cluster.

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    central::cli::run(central::cli::Args::parse()).await
}
