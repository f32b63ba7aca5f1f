//! `pairctl sweep`'s flags.

use std::path::PathBuf;

use clap::Args;
use counterpart_domain::policy::Policy;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// The policies, comma-separated, each as `--policy` takes it
    /// (docs/POLICY.md); put `historical` first to compare with it.
    #[arg(long, value_delimiter = ',', required = true)]
    pub policies: Vec<Policy>,
    /// Seeds per policy, 1..=N, the same for every policy.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub seeds: u64,
    /// Where results.csv, summary.md and the plots go (created).
    #[arg(long)]
    pub out: PathBuf,
    /// The lockstep clock's step, in scenario minutes.
    #[arg(long, default_value_t = crate::sim::DEFAULT_STEP_MINUTES,
          value_parser = clap::value_parser!(u32).range(1..=1_440))]
    pub step_minutes: u32,
    /// Worker threads, each running whole runs [default: the cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}
