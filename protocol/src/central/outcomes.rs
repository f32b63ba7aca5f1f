//! The run report's outcomes for patients: each city's course
//! ([`counterpart_domain::outcomes`]) under the aid central's ledger shows
//! arrived, with what it cost. The ledger is cross-checked against both
//! sides' reports, and `pairctl ledger --reconcile` checks it against the
//! nodes' own books, so the outcome rests on receipts, not on plans. Each
//! city's own tally, from its reports, stands beside it (`reported`), with
//! every day where the two differ.

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::effort;
use counterpart_domain::outcomes::{self, Aid, Arrival, CityDay, OutcomeRates};
use counterpart_domain::scenario::City;
use counterpart_domain::tally;
use pairing_proto::resource::Category;
use pairing_proto::v1::DailyItem;
use serde::Serialize;

use crate::central::authority::Authority;
use crate::central::case::{Case, Step};

/// One city's outcome, in the run report's `outcomes`.
#[derive(Debug, Clone, Serialize)]
pub struct CityOutcome {
    pub city: String,
    pub deaths: i64,
    pub untreated_patient_days: i64,
    pub treated_patient_days: i64,
    pub recovered: i64,
    /// Patients only aid made room for, and the share of them who survive
    /// at the treated rates (Jiangsu's team in Huangshi: 880, over 96 %).
    pub treated_by_aid_patients: f64,
    pub treated_by_aid_cure_rate: Option<f64>,
    /// Scenario ms of the first receipt; `None`: nothing arrived.
    pub first_arrival_ms: Option<i64>,
    pub personnel_received: i64,
    /// What the city's cases cost their donors, as they last reported.
    pub cost_cny: i64,
    /// Every receipt, in time order: what the course was computed from.
    pub arrivals: Vec<ArrivalRow>,
    /// Scenario ms at which the teams went home (the case demobilised).
    pub teams_left_ms: Option<i64>,
    /// The donors' mean effort over their assignments to the city
    /// ([`counterpart_domain::effort`]), as central reckons it from the
    /// evaluations it sent, the donors' outbreaks and the cost they last
    /// reported; `None`: no donor acknowledged.
    pub mean_donor_effort: Option<f64>,
    /// The city's own daily tally as it reported it, beside this course;
    /// `None`: it reported none (it had no case, or speaks an older
    /// version).
    pub reported: Option<ReportedTally>,
}

/// Lines of disagreement a report shows at most.
const MAX_DISAGREEMENT_LINES: usize = 20;

/// What a city's own tally says ([`counterpart_domain::tally`]), summed
/// over the days it reported, and where it differs from the course
/// computed from central's ledger.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedTally {
    pub first_day: i64,
    pub last_day: i64,
    pub deaths: i64,
    pub treated_patient_days: i64,
    pub untreated_patient_days: i64,
    pub recovered_to_date: i64,
    /// Day, item and both figures where they differ, the first
    /// [`MAX_DISAGREEMENT_LINES`]; empty: the two books agree.
    pub disagreements: Vec<String>,
    pub disagreements_total: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ArrivalRow {
    pub at_ms: i64,
    pub received: BTreeMap<String, i64>,
}

/// The aid a city received over all its `cases`, from the ledger.
pub fn aid_of(authority: &Authority, cases: &[&Case]) -> Aid {
    let ledger = authority.ledger();
    let mut arrivals: Vec<Arrival> = cases
        .iter()
        .flat_map(|c| ledger.case_receipts(&c.case_id))
        .map(|r| Arrival {
            at: ScenarioTime(r.received_at_ms),
            received: r.received.clone(),
        })
        .collect();
    arrivals.sort_by_key(|a| a.at);
    // Teams go home when the latest case that brought any demobilises.
    let teams_left_at = cases
        .iter()
        .filter(|c| ledger.case_receipts(&c.case_id).next().is_some())
        .max_by_key(|c| c.requested_at)
        .and_then(|c| demobilised_at(c));
    Aid {
        arrivals,
        teams_left_at,
    }
}

/// The mean effort of the donors assigned to a city's `cases`, each over
/// its days from acknowledgement to the case's demobilisation (or `now`).
fn mean_donor_effort(authority: &Authority, cases: &[&Case], now: ScenarioTime) -> Option<f64> {
    let scenario = authority.scenario();
    let mut efforts = Vec::new();
    for case in cases {
        let until = demobilised_at(case).unwrap_or(now);
        for a in &case.assignments {
            let Some(acknowledged_at) = a.acknowledged_at else {
                continue;
            };
            let evaluations: Vec<(ScenarioTime, effort::Verdict)> = case
                .evaluations
                .iter()
                .filter(|e| e.province_id == a.province_id)
                .filter_map(|e| Some((e.at, effort::Verdict::of(e.kind)?)))
                .collect();
            let outbreak_level = scenario
                .province(&a.province_id)
                .map_or(0, |p| p.outbreak_level_at(scenario.start_date, until));
            let history = effort::History {
                acknowledged_at,
                evaluations: &evaluations,
                outbreak_level,
                cost_cny: authority.ledger().cost_of(&case.case_id, &a.province_id),
            };
            efforts.push(effort::MODEL.mean_effort(&history, until));
        }
    }
    (!efforts.is_empty()).then(|| efforts.iter().sum::<f64>() / efforts.len() as f64)
}

/// When the case's teams went home: its demobilisation, else its closure.
fn demobilised_at(case: &Case) -> Option<ScenarioTime> {
    case.events
        .iter()
        .find(|e| e.step == Step::Demobilised)
        .map(|e| e.at)
        .or(case.closed_at)
}

/// The outcome of `city`, whose cases are `cases`, under its aid, in the
/// run seeded `seed`, as of scenario time `now`.
pub fn city_outcome(
    authority: &Authority,
    city: &City,
    cases: &[&Case],
    rates: &OutcomeRates,
    seed: u64,
    now: ScenarioTime,
) -> CityOutcome {
    let aid = aid_of(authority, cases);
    let course = outcomes::course(authority.scenario(), city, &aid, rates, seed);
    let cost_cny = cases
        .iter()
        .map(|c| authority.ledger().case_cost(&c.case_id))
        .fold(0, i64::saturating_add);
    let personnel_received = aid
        .arrivals
        .iter()
        .flat_map(|a| a.received.iter())
        .filter(|(t, _)| t.category() == Category::Personnel)
        .map(|(_, q)| q)
        .sum();
    let aid_patients = course.treated_by_aid_patients;
    CityOutcome {
        city: city.id.clone(),
        deaths: course.deaths,
        untreated_patient_days: course.untreated_patient_days,
        treated_patient_days: course.treated_patient_days,
        recovered: course.recovered,
        treated_by_aid_patients: aid_patients,
        treated_by_aid_cure_rate: (aid_patients > 0.0)
            .then(|| 1.0 - course.treated_by_aid_deaths / aid_patients),
        first_arrival_ms: aid.arrivals.first().map(|a| a.at.0),
        personnel_received,
        cost_cny,
        arrivals: aid
            .arrivals
            .iter()
            .map(|a| ArrivalRow {
                at_ms: a.at.0,
                received: a
                    .received
                    .iter()
                    .map(|(t, q)| (t.as_str().to_string(), *q))
                    .collect(),
            })
            .collect(),
        teams_left_ms: aid.teams_left_at.map(|t| t.0),
        mean_donor_effort: mean_donor_effort(authority, cases, now),
        reported: reported(authority, &city.id, &course.days),
    }
}

/// `city_id`'s own tally, summed, against `course` (central's).
fn reported(authority: &Authority, city_id: &str, course: &[CityDay]) -> Option<ReportedTally> {
    let tallies = authority.tallies_of(city_id);
    let (first, last) = (tallies.first()?, tallies.last()?);
    let sum = |item| tallies.iter().filter_map(|t| t.get(item)).sum::<i64>();
    let mut disagreements = tally::disagreements(&tallies, course);
    let disagreements_total = disagreements.len();
    disagreements.truncate(MAX_DISAGREEMENT_LINES);
    Some(ReportedTally {
        first_day: first.day,
        last_day: last.day,
        deaths: sum(DailyItem::Deaths),
        treated_patient_days: sum(DailyItem::Treated),
        untreated_patient_days: sum(DailyItem::Untreated),
        recovered_to_date: last.get(DailyItem::RecoveredToDate).unwrap_or(0),
        disagreements,
        disagreements_total,
    })
}

/// Every city's outcome, in scenario order.
pub fn all(authority: &Authority, seed: u64, now: ScenarioTime) -> Vec<CityOutcome> {
    // Each city's cases in one pass, in case-id order as `cases()` gives
    // them: a pass over every case for each city made the report
    // quadratic in cases (issue 17).
    let mut cases_of: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in authority.cases() {
        cases_of
            .entry(case.city_id.as_str())
            .or_default()
            .push(case);
    }
    authority
        .scenario()
        .cities
        .iter()
        .map(|city| {
            let cases = cases_of
                .get(city.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            city_outcome(authority, city, cases, &outcomes::CALIBRATED, seed, now)
        })
        .collect()
}
