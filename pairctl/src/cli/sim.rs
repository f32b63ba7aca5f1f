//! `pairctl sim`'s flags.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Scenario file [default: deploy/scenarios/hubei-2020.toml]
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// How many seeds to run, from --seed-base.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub seed_base: u64,
    /// Run this one seed only (a replay): the same as --seed-base S --seeds 1.
    #[arg(long, conflicts_with_all = ["seeds", "seed_base"])]
    pub seed: Option<u64>,
    /// The faults a seed may draw, comma-separated: crash, partition,
    /// one-way, latency, hold, drop, duplicate, reorder; or all, or none.
    #[arg(long, default_value = "all")]
    pub faults: String,
    /// The lockstep clock's step, in scenario minutes.
    #[arg(long, default_value_t = crate::sim::DEFAULT_STEP_MINUTES,
          value_parser = clap::value_parser!(u32).range(1..=1_440))]
    pub step_minutes: u32,
    /// How central acts (docs/POLICY.md) [default: as the scenario says].
    #[arg(long)]
    pub policy: Option<counterpart_domain::policy::Policy>,
    /// Worker threads, each running whole seeds [default: the cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Print one JSON object (the summary) on stdout instead of text. A
    /// failed seed's schedule and broken rules go to stderr either way.
    #[arg(long)]
    pub json: bool,
}
