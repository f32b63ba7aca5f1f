//! `pairctl sweep` (pairctl/src/sweep, docs/POLICY.md): policies run as
//! whole clusters in the simulator, with what each does for patients. On
//! the small scenario: the files it promises, a policy that pairs nobody
//! leaving patients without care, a delay that moves the first arrival by
//! its days, donors working less without supervision, and the same seed
//! giving the same rows.

use std::path::Path;

use counterpart_tests::scenario_path;
use pairctl::cli::SweepArgs;
use pairctl::sweep::results::{self, Row};

fn sweep(out: &Path, policies: &str, seeds: u64) -> Vec<Row> {
    let args = SweepArgs {
        scenario: Some(scenario_path("small")),
        policies: policies.split(',').map(|p| p.parse().unwrap()).collect(),
        seeds,
        out: out.to_path_buf(),
        step_minutes: pairctl::sim::DEFAULT_STEP_MINUTES,
        threads: Some(2),
    };
    pairctl::commands::sweep::run(args).unwrap_or_else(|e| panic!("sweep failed: {e:#}"));
    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(results::CSV_HEADER));
    lines.map(parse).collect()
}

fn parse(line: &str) -> Row {
    let f: Vec<&str> = line.split(',').collect();
    let opt = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
    Row {
        policy: f[0].into(),
        seed: f[1].parse().unwrap(),
        city: f[2].into(),
        deaths: f[3].parse().unwrap(),
        untreated_patient_days: f[4].parse().unwrap(),
        treated_patient_days: f[5].parse().unwrap(),
        first_arrival_day: opt(f[6]),
        personnel_sent: f[7].parse().unwrap(),
        cost_cny: f[8].parse().unwrap(),
        treated_by_aid_patients: f[9].parse().unwrap(),
        treated_by_aid_cure_rate: opt(f[10]),
        mean_donor_effort: opt(f[11]),
    }
}

fn total(rows: &[Row], policy: &str, measure: fn(&Row) -> i64) -> i64 {
    rows.iter()
        .filter(|r| r.policy == policy)
        .map(measure)
        .sum()
}

#[test]
fn policies_differ_for_patients_and_every_promised_file_is_written() {
    let out = std::env::temp_dir().join(format!("counterpart-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let scenario = counterpart_domain::scenario::load(&scenario_path("small")).unwrap();
    let rows = sweep(&out, "historical,none,delay:3,no-supervision", 2);
    assert_eq!(
        rows.len(),
        4 * 2 * scenario.cities.len(),
        "a row per policy, seed and city"
    );

    let untreated = |p| total(&rows, p, |r| r.untreated_patient_days);
    assert!(
        untreated("none") > untreated("historical"),
        "alone, more patients go without care"
    );
    assert_eq!(
        total(&rows, "none", |r| r.personnel_sent),
        0,
        "nobody is paired under none"
    );
    assert!(total(&rows, "historical", |r| r.personnel_sent) > 0);
    let first = |p: &str| {
        rows.iter()
            .filter(|r| r.policy == p && r.seed == 1)
            .filter_map(|r| r.first_arrival_day)
            .fold(f64::INFINITY, f64::min)
    };
    let effort = |p: &str| {
        rows.iter()
            .filter(|r| r.policy == p)
            .filter_map(|r| r.mean_donor_effort)
            .count()
    };
    assert!(effort("historical") > 0, "donors' effort is reported");
    assert_eq!(effort("none"), 0, "no donor, no effort");
    let moved = first("delay:3") - first("historical");
    assert!(
        (moved - 3.0).abs() < 0.25,
        "delay:3 moved the first arrival by {moved} days"
    );

    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    for p in ["historical", "none", "delay:3", "no-supervision"] {
        assert!(
            summary.contains(&format!("| {p} |")),
            "summary lacks {p}:\n{summary}"
        );
    }
    assert!(summary.contains("vs historical"));
    for plot in [
        "deaths_by_policy",
        "cost_vs_deaths",
        "cities_historical",
        "cities_none",
        "cities_delay-3",
    ] {
        for ext in ["png", "svg"] {
            let file = out.join(format!("{plot}.{ext}"));
            let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(bytes > 0, "{} missing or empty", file.display());
        }
    }

    // The same seed tells the same story: historical seed 1 again.
    let again_dir = out.join("again");
    let again = sweep(&again_dir, "historical", 1);
    let first_run: Vec<&Row> = rows
        .iter()
        .filter(|r| r.policy == "historical" && r.seed == 1)
        .collect();
    assert_eq!(again.iter().collect::<Vec<_>>(), first_run);
    let _ = std::fs::remove_dir_all(&out);
}
