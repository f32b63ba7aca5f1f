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
        policy: args.policy.clone().unwrap_or_default(),
        threads: threads.min(seeds as usize),
        data_root: data_root.clone(),
        on_thread: None,
    };
    let one = seeds == 1;
    let report = move |o: &SeedOutcome| {
        if one {
            eprintln!("seed {}: digest {}", o.seed, o.verdict.digest);
        }
        if !o.verdict.passed() {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from([&["pairctl", "sim"], args].concat())
    }

    #[test]
    fn one_seed_is_a_replay_and_cannot_be_mixed_with_a_range() {
        let Command::Sim(args) = parse(&["--seed", "46"]).unwrap().command else {
            panic!("not sim");
        };
        assert_eq!(
            (args.seed, args.step_minutes),
            (Some(46), crate::sim::DEFAULT_STEP_MINUTES)
        );
        assert!(parse(&["--seed", "46", "--seeds", "5"]).is_err());
        assert!(parse(&["--seeds", "0"]).is_err());
        assert!(parse(&["--step-minutes", "0"]).is_err());
    }

    #[test]
    fn an_unknown_fault_is_refused_with_the_known_ones() {
        let Command::Sim(args) = parse(&["--faults", "crash,meteor"]).unwrap().command else {
            panic!("not sim");
        };
        let error = super::run(args).unwrap_err().to_string();
        assert!(
            error.contains("meteor") && error.contains("partition"),
            "{error}"
        );
    }

    #[test]
    fn the_summary_names_each_failed_seed_and_its_replay() {
        let summary = crate::sim::Summary {
            scenario: "small".into(),
            seeds: 2,
            failed: vec![crate::sim::Failed {
                seed: 7,
                reason: "liveness: case-north-1: implementing".into(),
                replay: "pairctl sim --scenario s.toml --seed 7".into(),
            }],
            faults: [("crash".to_string(), 3)].into(),
            requests_faulted: Default::default(),
            nodes_restarted: 0,
            units_lost: 0,
            units_double_counted: 0,
            cases_accepted: 4,
            cases_closed: 3,
            wall_ms: 1_000,
            seeds_per_minute: 120.0,
            fault_free_simulated_ms: 1_003,
        };
        let text = super::render(&summary);
        assert!(text.contains("1 failed"), "{text}");
        assert!(text.contains("FAILED seed 7: liveness"), "{text}");
        assert!(
            text.contains("replay: pairctl sim --scenario s.toml --seed 7"),
            "{text}"
        );
    }
}
