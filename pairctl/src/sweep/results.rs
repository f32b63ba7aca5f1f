//! What a sweep found, as files: `results.csv`, a row per policy, seed and
//! city, read off each run's report (its `outcomes`, its `ledger`); and
//! `summary.md`, per policy the mean of each measure over the seeds with
//! a 95 % interval, and its difference from `historical` paired by seed
//! (the same seed gives every policy the same chance draws).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use counterpart_domain::clock::DAY_MS;
use counterpart_domain::scenario::Scenario;

use super::Run;

/// One city in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub policy: String,
    pub seed: u64,
    pub city: String,
    pub deaths: i64,
    pub untreated_patient_days: i64,
    pub treated_patient_days: i64,
    /// Days from the scenario's start; `None`: nothing arrived.
    pub first_arrival_day: Option<f64>,
    /// Personnel the donors shipped to the city's cases (the ledger's).
    pub personnel_sent: i64,
    pub cost_cny: i64,
    /// Patients only aid made room for, and the share of them cured.
    pub treated_by_aid_patients: f64,
    pub treated_by_aid_cure_rate: Option<f64>,
    /// The donors' mean effort on the city's cases; `None`: no donor.
    pub mean_donor_effort: Option<f64>,
}

/// The CSV header, in the column order of [`Row::csv`].
pub const CSV_HEADER: &str = "policy,seed,city,deaths,untreated_patient_days,\
treated_patient_days,first_arrival_day,personnel_sent,cost_cny,\
treated_by_aid_patients,treated_by_aid_cure_rate,mean_donor_effort";

impl Row {
    pub fn csv(&self) -> String {
        let opt =
            |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
        format!(
            "{},{},{},{},{},{},{},{},{},{:.1},{},{}",
            self.policy,
            self.seed,
            self.city,
            self.deaths,
            self.untreated_patient_days,
            self.treated_patient_days,
            opt(self.first_arrival_day, 2),
            self.personnel_sent,
            self.cost_cny,
            self.treated_by_aid_patients,
            opt(self.treated_by_aid_cure_rate, 4),
            opt(self.mean_donor_effort, 4),
        )
    }
}

/// Every city's row of `run`, in the report's order.
pub fn rows_of(run: &Run) -> Result<Vec<Row>, String> {
    let outcomes = run.report["outcomes"]
        .as_array()
        .ok_or("the report has no `outcomes`: central predates the outcome model")?;
    let mut personnel: BTreeMap<&str, i64> = BTreeMap::new();
    for line in run.report["ledger"].as_array().into_iter().flatten() {
        let is_personnel = line["resource_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("personnel/"));
        if let (true, Some(city)) = (is_personnel, line["city"].as_str()) {
            *personnel.entry(city).or_insert(0) += line["shipped"].as_i64().unwrap_or(0);
        }
    }
    outcomes
        .iter()
        .map(|o| {
            let city = o["city"].as_str().ok_or("an outcome without `city`")?;
            let int = |k: &str| {
                o[k].as_i64()
                    .ok_or_else(|| format!("outcome of {city}: no `{k}`"))
            };
            Ok(Row {
                policy: run.policy.clone(),
                seed: run.seed,
                city: city.to_string(),
                deaths: int("deaths")?,
                untreated_patient_days: int("untreated_patient_days")?,
                treated_patient_days: int("treated_patient_days")?,
                first_arrival_day: o["first_arrival_ms"]
                    .as_i64()
                    .map(|ms| ms as f64 / DAY_MS as f64),
                personnel_sent: personnel.get(city).copied().unwrap_or(0),
                cost_cny: int("cost_cny")?,
                treated_by_aid_patients: o["treated_by_aid_patients"].as_f64().unwrap_or(0.0),
                treated_by_aid_cure_rate: o["treated_by_aid_cure_rate"].as_f64(),
                mean_donor_effort: o["mean_donor_effort"].as_f64(),
            })
        })
        .collect()
}

/// `results.csv`'s text.
pub fn csv(rows: &[Row]) -> String {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for row in rows {
        text.push_str(&row.csv());
        text.push('\n');
    }
    text
}

/// A mean and the half-width of its 95 % interval (Student's t; 0 for a
/// single value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

impl Estimate {
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                half_width: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate {
                mean,
                half_width: 0.0,
                n,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Estimate {
            mean,
            half_width: t_975(n - 1) * (var / n as f64).sqrt(),
            n,
        }
    }

    fn show(&self, digits: usize) -> String {
        if self.n == 0 {
            return "–".into();
        }
        format!("{:.digits$} ± {:.digits$}", self.mean, self.half_width)
    }
}

/// Student's t at 97.5 % for `df` degrees of freedom (1.96 beyond 30).
fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

/// A run's totals over its cities: the unit a policy is judged by.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub deaths: f64,
    pub untreated_patient_days: f64,
    pub cost_cny: f64,
    pub personnel_sent: f64,
    /// Mean over the cities aid reached.
    pub first_arrival_day: Option<f64>,
    /// Mean over the cities that had donors.
    pub mean_donor_effort: Option<f64>,
}

/// Each policy's totals per seed, in the order policies were given.
pub fn totals(rows: &[Row]) -> Vec<(String, BTreeMap<u64, Totals>)> {
    // Per policy and seed: the sums, and the cities' first arrivals.
    type Seeds = BTreeMap<u64, (Totals, Vec<f64>, Vec<f64>)>;
    let mut by_policy: Vec<(String, Seeds)> = Vec::new();
    for row in rows {
        if by_policy.last().is_none_or(|(p, _)| *p != row.policy) {
            by_policy.push((row.policy.clone(), BTreeMap::new()));
        }
        let seeds = &mut by_policy.last_mut().expect("pushed above").1;
        let (t, arrivals, efforts) = seeds.entry(row.seed).or_default();
        t.deaths += row.deaths as f64;
        t.untreated_patient_days += row.untreated_patient_days as f64;
        t.cost_cny += row.cost_cny as f64;
        t.personnel_sent += row.personnel_sent as f64;
        arrivals.extend(row.first_arrival_day);
        efforts.extend(row.mean_donor_effort);
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    by_policy
        .into_iter()
        .map(|(p, seeds)| {
            let seeds = seeds
                .into_iter()
                .map(|(seed, (mut t, arrivals, efforts))| {
                    t.first_arrival_day = mean(&arrivals);
                    t.mean_donor_effort = mean(&efforts);
                    (seed, t)
                })
                .collect();
            (p, seeds)
        })
        .collect()
}

type Measure = (&'static str, fn(&Totals) -> Option<f64>, usize);

const MEASURES: [Measure; 6] = [
    ("deaths", |t| Some(t.deaths), 1),
    (
        "untreated patient-days",
        |t| Some(t.untreated_patient_days),
        0,
    ),
    ("cost (million CNY)", |t| Some(t.cost_cny / 1e6), 1),
    ("personnel sent", |t| Some(t.personnel_sent), 0),
    ("first arrival (day)", |t| t.first_arrival_day, 2),
    ("mean donor effort", |t| t.mean_donor_effort, 3),
];

/// `summary.md`'s text.
pub fn summary(scenario: &Scenario, rows: &[Row], seeds: u64) -> String {
    let totals = totals(rows);
    let baseline = totals
        .iter()
        .find(|(p, _)| p == "historical")
        .map(|(_, s)| s);
    let mut md = format!(
        "# Policy sweep: {}\n\n{} policies x {seeds} seeds, every run the whole cluster in the \
         simulator, fault-free. Each figure: the mean over the seeds of the run's total over \
         all cities, ± the half-width of its 95 % interval (Student's t). \"vs historical\": \
         the mean difference from `historical` in the same seed, with its interval; an \
         interval that excludes 0 is a difference the seeds show.\n\n",
        scenario.name,
        totals.len()
    );
    for (name, measure, digits) in MEASURES {
        let _ = writeln!(
            md,
            "## {name}\n\n| policy | mean ± 95 % | vs historical |\n|---|---|---|"
        );
        for (policy, seeds) in &totals {
            let values: Vec<f64> = seeds.values().filter_map(measure).collect();
            let diff = baseline.filter(|_| policy != "historical").map(|base| {
                let d: Vec<f64> = seeds
                    .iter()
                    .filter_map(|(s, t)| Some(measure(t)? - measure(base.get(s)?)?))
                    .collect();
                Estimate::of(&d).show(digits)
            });
            let _ = writeln!(
                md,
                "| {policy} | {} | {} |",
                Estimate::of(&values).show(digits),
                diff.unwrap_or_else(|| "–".into())
            );
        }
        md.push('\n');
    }
    md.push_str(&calibration(scenario, rows));
    md
}

/// The calibration table: the historical policy's deaths per city beside
/// the sourced ones, and Huangshi's aid-treated patients beside the paper's.
pub fn calibration(scenario: &Scenario, rows: &[Row]) -> String {
    let historical: Vec<&Row> = rows.iter().filter(|r| r.policy == "historical").collect();
    if historical.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "## Calibration: `historical` against the sources\n\n\
         | city | model deaths (mean ± 95 %) | sourced final deaths | error |\n|---|---|---|---|\n",
    );
    let (mut model_sum, mut sourced_sum) = (0.0, 0);
    for city in &scenario.cities {
        let deaths: Vec<f64> = historical
            .iter()
            .filter(|r| r.city == city.id)
            .map(|r| r.deaths as f64)
            .collect();
        let e = Estimate::of(&deaths);
        let (sourced, error) = match city.final_deaths {
            Some(d) => {
                model_sum += e.mean;
                sourced_sum += d;
                (d.to_string(), format!("{:+.1}", e.mean - d as f64))
            }
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {sourced} | {error} |",
            city.name,
            e.show(1)
        );
    }
    let _ = writeln!(
        md,
        "| **all** | {model_sum:.1} | {sourced_sum} | {:+.1} ({:+.0} %) |\n",
        model_sum - sourced_sum as f64,
        100.0 * (model_sum - sourced_sum as f64) / (sourced_sum.max(1) as f64)
    );
    let huangshi: Vec<&&Row> = historical.iter().filter(|r| r.city == "huangshi").collect();
    if !huangshi.is_empty() {
        let treated: Vec<f64> = huangshi.iter().map(|r| r.treated_by_aid_patients).collect();
        let cure: Vec<f64> = huangshi
            .iter()
            .filter_map(|r| r.treated_by_aid_cure_rate)
            .collect();
        let _ = writeln!(
            md,
            "Huangshi, the patients aid treated: model {} (paper: Jiangsu's team treated 880); \
             cured {} % at the treated rates (paper: over 96 %).\n",
            Estimate::of(&treated).show(0),
            Estimate::of(&cure.iter().map(|c| c * 100.0).collect::<Vec<_>>()).show(1)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_uses_students_t_and_a_single_value_has_none() {
        let e = Estimate::of(&[1.0, 2.0, 3.0]);
        assert_eq!(e.mean, 2.0);
        // sd 1, n 3: t(2) = 4.303, / sqrt 3.
        assert!((e.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(Estimate::of(&[5.0]).half_width, 0.0);
        assert!(Estimate::of(&[]).mean.is_nan());
    }

    fn row(policy: &str, seed: u64, city: &str, deaths: i64) -> Row {
        Row {
            policy: policy.into(),
            seed,
            city: city.into(),
            deaths,
            untreated_patient_days: deaths * 10,
            treated_patient_days: 0,
            first_arrival_day: Some(seed as f64),
            personnel_sent: 1,
            cost_cny: 1_000_000,
            treated_by_aid_patients: 0.0,
            treated_by_aid_cure_rate: None,
            mean_donor_effort: Some(0.9),
        }
    }

    #[test]
    fn totals_sum_cities_per_seed_and_keep_the_policies_order() {
        let rows = [
            row("none", 1, "a", 5),
            row("none", 1, "b", 7),
            row("none", 2, "a", 1),
            row("historical", 1, "a", 2),
        ];
        let t = totals(&rows);
        assert_eq!(t[0].0, "none");
        assert_eq!(t[0].1[&1].deaths, 12.0);
        assert_eq!(t[0].1[&2].deaths, 1.0);
        assert_eq!(t[1].0, "historical");
        assert_eq!(t[0].1[&1].first_arrival_day, Some(1.0));
    }

    #[test]
    fn a_csv_row_has_a_value_per_header_column() {
        let line = row("delay:3", 4, "huangshi", 39).csv();
        assert_eq!(
            line.split(',').count(),
            CSV_HEADER.split(',').count(),
            "{line}"
        );
        assert!(line.starts_with("delay:3,4,huangshi,39,390,"));
    }
}
