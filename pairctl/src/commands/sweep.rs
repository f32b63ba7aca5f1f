//! `pairctl sweep`: runs the policies ([`crate::sweep`]) and writes
//! results.csv, summary.md and the plots into `--out`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::outcomes::{self, Aid, Arrival, CityCourse};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::Scenario;
use serde_json::Value;

use crate::cli::{scenario_path, SweepArgs};
use crate::sweep::plots::{self, CityCurve, PolicyCostDeaths, PolicyDeaths};
use crate::sweep::results::{self, Row};
use crate::sweep::{Options, Run};

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario);
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let data_root = std::env::temp_dir().join(format!("pairctl-sweep-{}", std::process::id()));
    let scenario = Arc::new(scenario);
    let options = Options {
        scenario: scenario.clone(),
        policies: args.policies,
        seeds: args.seeds,
        step_minutes: args.step_minutes,
        threads,
        data_root: data_root.clone(),
        progress: true,
    };
    let began = std::time::Instant::now();
    let runs = crate::sweep::run(&options);
    let _ = std::fs::remove_dir_all(&data_root);
    let runs = runs.map_err(|e| anyhow!(e))?;
    let mut rows: Vec<Row> = Vec::new();
    for run in &runs {
        rows.extend(
            results::rows_of(run).map_err(|e| anyhow!("{} seed {}: {e}", run.policy, run.seed))?,
        );
    }
    let write = |name: &str, text: String| -> anyhow::Result<()> {
        let file = args.out.join(name);
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))
    };
    write("results.csv", results::csv(&rows))?;
    let mut summary = results::summary(&scenario, &rows, args.seeds);
    summary.push_str(&fitted(&scenario, &runs).map_err(|e| anyhow!(e))?);
    write("summary.md", summary.clone())?;
    let plotted = draw(&args.out, &scenario, &runs, &rows).map_err(|e| anyhow!(e))?;
    print!("{summary}");
    println!(
        "{} runs in {:.1} s; wrote results.csv, summary.md and {} plots to {}",
        runs.len(),
        began.elapsed().as_secs_f64(),
        plotted,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The plots: deaths by policy, cost against deaths, and per policy each
/// city's active patients against its capacity in seed 1.
fn draw(
    dir: &std::path::Path,
    scenario: &Scenario,
    runs: &[Run],
    rows: &[Row],
) -> Result<usize, String> {
    let totals = results::totals(rows);
    let deaths: Vec<PolicyDeaths> = totals
        .iter()
        .map(|(policy, seeds)| PolicyDeaths {
            policy: policy.clone(),
            deaths: seeds.values().map(|t| t.deaths).collect(),
        })
        .collect();
    let cost: Vec<PolicyCostDeaths> = totals
        .iter()
        .map(|(policy, seeds)| PolicyCostDeaths {
            policy: policy.clone(),
            cost_cny: seeds.values().map(|t| t.cost_cny).collect(),
            deaths: seeds.values().map(|t| t.deaths).collect(),
        })
        .collect();
    let mut cities = Vec::new();
    for run in runs.iter().filter(|r| r.seed == 1) {
        cities.push((run.policy.clone(), curves(scenario, &run.report)?));
    }
    Ok(plots::draw_all(dir, &deaths, &cost, &cities)?.len())
}

/// What the historical runs say the untreated rate should be: the rate at
/// which their expected deaths equal the sourced total (docs/POLICY.md,
/// "Calibration").
fn fitted(scenario: &Scenario, runs: &[Run]) -> Result<String, String> {
    let Some(sourced) = scenario
        .cities
        .iter()
        .map(|c| c.final_deaths)
        .sum::<Option<i64>>()
    else {
        return Ok(String::new());
    };
    let mut rates = Vec::new();
    for run in runs.iter().filter(|r| r.policy == "historical") {
        let courses = courses(scenario, &run.report)?;
        let all: Vec<_> = courses.into_iter().map(|(_, c)| c).collect();
        rates.push(outcomes::fit_untreated_rate(
            &all,
            &outcomes::CALIBRATED,
            sourced as f64,
        ));
    }
    if rates.is_empty() {
        return Ok(String::new());
    }
    let fitted: Vec<f64> = rates.iter().flatten().copied().collect();
    let mean = fitted.iter().sum::<f64>() / fitted.len().max(1) as f64;
    Ok(format!(
        "Fitted on these runs: the untreated critical death rate at which `historical`'s \
         expected deaths equal the sourced {sourced} is {} a day ({} of {} runs have one in \
         0..=1); the model uses {}.\n",
        if fitted.is_empty() {
            "none".to_string()
        } else {
            format!("{mean:.4}")
        },
        fitted.len(),
        rates.len(),
        outcomes::CALIBRATED.untreated_critical_death_per_day
    ))
}

/// Each city's course in `report`, recomputed from the aid the report says
/// arrived (the outcome model is pure: the same aid and seed give the
/// same course central reported).
fn curves(scenario: &Scenario, report: &Value) -> Result<Vec<CityCurve>, String> {
    let courses = courses(scenario, report)?;
    Ok(scenario
        .cities
        .iter()
        .zip(courses)
        .map(|(city, (aid, course))| CityCurve {
            city: city.name.clone(),
            days: course.days.iter().map(|d| d.day).collect(),
            active: course.days.iter().map(|d| d.active).collect(),
            capacity: course.days.iter().map(|d| d.capacity).collect(),
            arrivals: aid
                .arrivals
                .iter()
                .map(|a| a.at.0 as f64 / DAY_MS as f64)
                .collect(),
        })
        .collect())
}

/// Every city's aid and course in `report`, in scenario order.
fn courses(scenario: &Scenario, report: &Value) -> Result<Vec<(Aid, CityCourse)>, String> {
    let seed = report["seed"].as_u64().ok_or("the report has no seed")?;
    let outcomes = report["outcomes"]
        .as_array()
        .ok_or("the report has no outcomes")?;
    scenario
        .cities
        .iter()
        .map(|city| {
            let o = outcomes
                .iter()
                .find(|o| o["city"] == city.id.as_str())
                .ok_or_else(|| format!("no outcome for {}", city.id))?;
            let aid = aid_of(o)?;
            let course = outcomes::course(scenario, city, &aid, &outcomes::CALIBRATED, seed);
            Ok((aid, course))
        })
        .collect()
}

/// The aid of one city's outcome in a report (`arrivals`, `teams_left_ms`).
fn aid_of(outcome: &Value) -> Result<Aid, String> {
    let mut arrivals = Vec::new();
    for a in outcome["arrivals"].as_array().into_iter().flatten() {
        let at = a["at_ms"].as_i64().ok_or("an arrival without at_ms")?;
        let mut received = Quantities::new();
        for (t, q) in a["received"].as_object().into_iter().flatten() {
            let kind = t.parse().map_err(|e| format!("arrival type {t:?}: {e}"))?;
            received.add(kind, q.as_i64().unwrap_or(0));
        }
        arrivals.push(Arrival {
            at: ScenarioTime(at),
            received,
        });
    }
    Ok(Aid {
        arrivals,
        teams_left_at: outcome["teams_left_ms"].as_i64().map(ScenarioTime),
    })
}
