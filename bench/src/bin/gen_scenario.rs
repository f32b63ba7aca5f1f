//! Writes a generated scenario (every figure invented, the file says so) for
//! `pairctl up --scenario`, e.g. a national one of 300 cities and 34
//! provinces:
//!
//! target/release/gen_scenario --cities 300 --provinces 34 --out /tmp/national-300.toml

use std::path::PathBuf;

use clap::Parser;
use counterpart_bench::scenario_gen::{self, GenOptions};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 300)]
    cities: usize,
    #[arg(long, default_value_t = 34)]
    provinces: usize,
    #[arg(long, default_value_t = 2020)]
    seed: u64,
    /// Scenario days central collects requests before pairing.
    #[arg(long, default_value_t = 3.0)]
    decision_window_days: f64,
    /// "historical" or "optimized".
    #[arg(long, default_value = "historical")]
    pairing_mode: String,
    #[arg(long, default_value = "/tmp/generated-scenario.toml")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.cities > 0 && args.provinces > 0,
        "need a city and a province at least"
    );
    let mut options = GenOptions::new(args.cities, args.provinces);
    options.seed = args.seed;
    options.decision_window_days = args.decision_window_days;
    options.pairing_mode = match args.pairing_mode.as_str() {
        "historical" => "historical",
        "optimized" => "optimized",
        other => anyhow::bail!("--pairing-mode {other:?}: historical or optimized"),
    };
    let text = scenario_gen::generate(&options);
    // Only a scenario that loads is written.
    counterpart_domain::scenario::parse(&text, &args.out.display().to_string())?;
    std::fs::write(&args.out, text)?;
    println!(
        "wrote {} (GENERATED: {} cities, {} provinces)",
        args.out.display(),
        args.cities,
        args.provinces
    );
    Ok(())
}
