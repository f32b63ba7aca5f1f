//! `pairctl sim`: runs the seeds ([`crate::sim`]) and prints the summary,
//! as text or one JSON object, with each failed seed's schedule and replay
//! command on stderr.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};

use crate::cli::{scenario_path, SimArgs};
use crate::sim::schedule::FaultKind;
use crate::sim::{Options, SeedOutcome, Summary};

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    let faults = FaultKind::parse_list(&args.faults).map_err(|e| anyhow!(e))?;
    let (seed_base, seeds) = match args.seed {
        Some(seed) => (seed, 1),
        None => (args.seed_base, args.seeds),
    };
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let data_root = std::env::temp_dir().join(format!("pairctl-sim-{}", std::process::id()));
    let options = Options {
        scenario_path: path,
        scenario: Arc::new(scenario),
        seed_base,
        seeds,
        faults,
        step_minutes: args.step_minutes,
        threads: threads.min(seeds as usize),
        data_root: data_root.clone(),
        on_thread: None,
    };
    let print_failures = args.print_failures;
    let one = seeds == 1;
    let report = move |o: &SeedOutcome| {
        if one {
            eprintln!("seed {}: digest {}", o.seed, o.verdict.digest);
        }
        if print_failures && !o.verdict.passed() {
            eprint!("FAILED {}", o.schedule);
            for reason in &o.verdict.reasons {
                eprintln!("  - {reason}");
            }
        }
    };
    let summary = crate::sim::run(&options, &report);
    let _ = std::fs::remove_dir_all(&data_root);
    let summary = summary.map_err(|e| anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render(s: &Summary) -> String {
    let faults: Vec<String> = s.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let mut out = format!(
        "Simulated {} seeds of {} in {:.1} s ({:.0} seeds/min): {} failed.\n\
         Faults drawn: {}.\n\
         Cases: {} accepted, {} closed. Units lost: {}; counted twice: {}.\n",
        s.seeds,
        s.scenario,
        s.wall_ms as f64 / 1000.0,
        s.seeds_per_minute,
        s.failed.len(),
        faults.join(", "),
        s.cases_accepted,
        s.cases_closed,
        s.units_lost,
        s.units_double_counted,
    );
    for f in &s.failed {
        out.push_str(&format!(
            "FAILED seed {}: {}\n  replay: {}\n",
            f.seed, f.reason, f.replay
        ));
    }
    out
}
