//! What care does for patients: a city's course of illness, treatment and
//! death, day by day, under the care it has each day.
//!
//! The case curve stays the scenario's (sourced); what a policy changes is
//! the care that meets it. Each day the city's active cases split into
//! mild, severe and critical by the scenario's fractions. Care goes to the
//! sickest first: critical patients need a treatment place (a bed with its
//! doctors and nurses, [`needs::capacity_cases`]) and a ventilator, severe
//! ones a treatment place, mild ones what is left. A patient without care
//! that day is an untreated patient-day. Critical patients die at one daily
//! rate with care and a higher one without; severe patients die only
//! without care. Deaths are drawn per patient from the run's seed
//! ([`draw::unit`]), so a seed gives the same course and seeds give its
//! spread. Every rate is an estimate: docs/POLICY.md says how each was made
//! and calibrated.
//!
//! Pure: the city, its aid and the seed in; its days out.

use serde::Serialize;

use crate::clock::ScenarioTime;
use crate::draw;
use crate::needs::{self, TreatmentResources};
use crate::quantities::Quantities;
use crate::scenario::{City, Scenario};
use pairing_proto::resource::ResourceType;

/// The model's rates. All estimates (docs/POLICY.md, "Estimates").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutcomeRates {
    /// Daily death probability of a critical patient with care.
    pub treated_critical_death_per_day: f64,
    /// Daily death probability of a critical patient without care.
    pub untreated_critical_death_per_day: f64,
    /// Daily death probability of a severe patient without care.
    pub untreated_severe_death_per_day: f64,
    /// Ventilators a city has of its own, per million people.
    pub local_ventilators_per_million: f64,
}

/// The calibrated rates (docs/POLICY.md, "Calibration"):
/// - treated critical: the national crude fatality, 2.3 % (China CDC, 44,672
///   cases, every death a critical case), spread over the critical
///   patient-days one case brings in this model, `critical_fraction x
///   recovery_days` = 0.024 x 21: 0.023 / 0.504 = 0.0456 a day;
/// - untreated critical: fitted so that the historical policy's expected
///   deaths over the 16 cities equal the sourced 643 (`pairctl sweep`
///   prints the fit, [`fit_untreated_rate`]: 0.273 on hubei-2020 seed 1
///   with 0.2 in use, where the model gave 586 deaths);
/// - untreated severe: a fifth of the untreated critical rate (an
///   assumption with no source; the fit keeps the fifth);
/// - local ventilators: 4 per million, an assumption with no source, of the
///   order of a prefecture's intensive care before the outbreak.
pub const CALIBRATED: OutcomeRates = OutcomeRates {
    treated_critical_death_per_day: 0.0456,
    untreated_critical_death_per_day: 0.273,
    untreated_severe_death_per_day: 0.0546,
    local_ventilators_per_million: 4.0,
};

/// What arrived at the city in one receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub at: ScenarioTime,
    pub received: Quantities,
}

/// The care the city got from outside: what arrived, and when the teams
/// went home (the case's demobilisation; materials stay).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aid {
    pub arrivals: Vec<Arrival>,
    pub teams_left_at: Option<ScenarioTime>,
}

/// One day of one city.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CityDay {
    /// Days since the scenario's start (negative before it).
    pub day: i64,
    pub active: i64,
    pub severe: i64,
    pub critical: i64,
    /// Patients the city could treat that day (beds and staff).
    pub capacity: i64,
    pub ventilators: i64,
    /// Patients with care that day, and without; critical and severe
    /// patients without care, who die at the untreated rates.
    pub treated: i64,
    pub untreated: i64,
    pub critical_untreated: i64,
    pub severe_untreated: i64,
    /// Of the treated, those only aid made room for, and how many of them
    /// were critical.
    pub treated_by_aid: i64,
    pub critical_treated_by_aid: i64,
    pub deaths: i64,
    /// Confirmed cases whose stay ended by the day's end, less every death
    /// so far.
    pub recovered_to_date: i64,
}

/// A city's whole course, and its sums.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CityCourse {
    pub city: String,
    pub days: Vec<CityDay>,
    pub deaths: i64,
    pub untreated_patient_days: i64,
    pub treated_patient_days: i64,
    /// Patients aid treated: its patient-days over the stay (`recovery_days`).
    pub treated_by_aid_patients: f64,
    /// Expected deaths among them, at the treated rates.
    pub treated_by_aid_deaths: f64,
    /// Recovered by the end: confirmed cases whose stay is over, less deaths.
    pub recovered: i64,
}

/// Patients with care, per class, from `capacity` places and `ventilators`:
/// critical first (a place and a ventilator each), then severe, then mild.
fn allocate(active: i64, severe: i64, critical: i64, capacity: i64, ventilators: i64) -> [i64; 3] {
    let critical_treated = critical.min(capacity).min(ventilators);
    let left = capacity - critical_treated;
    let severe_treated = severe.min(left);
    let mild_treated = (active - severe - critical).min(left - severe_treated);
    [mild_treated.max(0), severe_treated, critical_treated]
}

/// How many of `n` patients die at probability `p` each, drawn per patient
/// (patient `i`'s draw is keyed `{key}/{i}`).
fn deaths(seed: u64, key: &str, n: i64, p: f64) -> i64 {
    (0..n.max(0) as u64)
        .filter(|&i| draw::unit_numbered(seed, key, i) < p)
        .count() as i64
}

/// The care on hand at `t`: local staff and beds, received staff still
/// there, ventilators of its own and received.
fn care_at(
    city: &City,
    aid: &Aid,
    rates: &OutcomeRates,
    t: ScenarioTime,
) -> (TreatmentResources, i64) {
    let teams_here = aid.teams_left_at.is_none_or(|left| t < left);
    let mut received = Quantities::new();
    for a in aid.arrivals.iter().filter(|a| a.at <= t) {
        for (&kind, &q) in &a.received {
            received.add(kind, q);
        }
    }
    let get = |kind| received.get(&kind).copied().unwrap_or(0);
    let staff = |kind| if teams_here { get(kind) } else { 0 };
    let resources = TreatmentResources {
        beds: city.beds,
        doctors: city.local_doctors + staff(ResourceType::Doctor),
        nurses: city.local_nurses + staff(ResourceType::Nurse),
    };
    let own = (city.population_millions * rates.local_ventilators_per_million).round() as i64;
    (resources, own + get(ResourceType::Ventilator))
}

/// The course of `city` from its curve's first date to the scenario's end,
/// with `aid`, in the run seeded `seed`.
pub fn course(
    scenario: &Scenario,
    city: &City,
    aid: &Aid,
    rates: &OutcomeRates,
    seed: u64,
) -> CityCourse {
    let mut days = Vec::new();
    extend(
        scenario,
        city,
        aid,
        rates,
        seed,
        &mut days,
        end_day(scenario),
    );
    summarise(scenario, city, days, rates)
}

/// The first day of `city`'s course: its curve's first date (days since
/// the scenario's start, negative before it).
pub fn first_day(scenario: &Scenario, city: &City) -> i64 {
    let first = city.curve.first().expect("validated: curve is not empty");
    scenario.time_of(first.date).days().floor() as i64
}

/// The day after the scenario's last.
pub fn end_day(scenario: &Scenario) -> i64 {
    scenario.end_time().days().ceil() as i64
}

/// Extends `days`, `city`'s course so far (from [`first_day`], day after
/// day), through the day before `until`. A day depends only on the days
/// before it and on the aid on hand at its noon, so a day once computed
/// never changes while arrivals come in time order: the city tallies each
/// day once, as it ends.
pub fn extend(
    scenario: &Scenario,
    city: &City,
    aid: &Aid,
    rates: &OutcomeRates,
    seed: u64,
    days: &mut Vec<CityDay>,
    until: i64,
) {
    let from = days.last().map_or(first_day(scenario, city), |d| d.day + 1);
    let mut deaths_to_date: i64 = days.iter().map(|d| d.deaths).sum();
    for day in from..until.min(end_day(scenario)) {
        let today = city_day(scenario, city, aid, rates, seed, day, deaths_to_date);
        deaths_to_date += today.deaths;
        days.push(today);
    }
}

/// One day of `city`: its patients are those active at the day's start,
/// its care what is on hand at its noon; `deaths_before` died on the days
/// before it.
fn city_day(
    scenario: &Scenario,
    city: &City,
    aid: &Aid,
    rates: &OutcomeRates,
    seed: u64,
    day: i64,
    deaths_before: i64,
) -> CityDay {
    let r = &scenario.rules;
    let confirmed = |day: f64| city.confirmed_at(scenario.start_date, ScenarioTime::from_days(day));
    let start = day as f64;
    let active = (confirmed(start) - confirmed(start - r.recovery_days)).max(0);
    let severe = (active as f64 * r.severe_fraction).round() as i64;
    let critical = (active as f64 * r.critical_fraction).round() as i64;
    let noon = ScenarioTime::from_days(start + 0.5);
    let (resources, ventilators) = care_at(city, aid, rates, noon);
    let capacity = needs::capacity_cases(resources, &scenario.needs_per_active_case);
    let [mild_t, severe_t, critical_t] = allocate(active, severe, critical, capacity, ventilators);
    let (local, local_vents) = care_at(city, &Aid::default(), rates, noon);
    let local_capacity = needs::capacity_cases(local, &scenario.needs_per_active_case);
    let local = allocate(active, severe, critical, local_capacity, local_vents);
    let treated = mild_t + severe_t + critical_t;
    let key = format!("outcome/{}/{day}", city.id);
    let died = deaths(
        seed,
        &format!("{key}/ct"),
        critical_t,
        rates.treated_critical_death_per_day,
    ) + deaths(
        seed,
        &format!("{key}/cu"),
        critical - critical_t,
        rates.untreated_critical_death_per_day,
    ) + deaths(
        seed,
        &format!("{key}/su"),
        severe - severe_t,
        rates.untreated_severe_death_per_day,
    );
    let stays_over = confirmed(start + 1.0 - r.recovery_days);
    CityDay {
        day,
        active,
        severe,
        critical,
        capacity,
        ventilators,
        treated,
        untreated: active - treated,
        critical_untreated: critical - critical_t,
        severe_untreated: severe - severe_t,
        treated_by_aid: (treated - local.iter().sum::<i64>()).max(0),
        critical_treated_by_aid: (critical_t - local[2]).max(0),
        deaths: died,
        recovered_to_date: (stays_over - deaths_before - died).max(0),
    }
}

fn summarise(
    scenario: &Scenario,
    city: &City,
    days: Vec<CityDay>,
    rates: &OutcomeRates,
) -> CityCourse {
    let r = &scenario.rules;
    let deaths: i64 = days.iter().map(|d| d.deaths).sum();
    let sum = |f: fn(&CityDay) -> i64| days.iter().map(f).sum::<i64>();
    let end = scenario.end_time().days();
    let stays_over = city.confirmed_at(
        scenario.start_date,
        ScenarioTime::from_days(end - r.recovery_days),
    );
    CityCourse {
        city: city.id.clone(),
        deaths,
        untreated_patient_days: sum(|d| d.untreated),
        treated_patient_days: sum(|d| d.treated),
        treated_by_aid_patients: sum(|d| d.treated_by_aid) as f64 / r.recovery_days,
        // Aid's places are the last filled (sickest first): its patients
        // are critical only where local care had no place for them.
        treated_by_aid_deaths: sum(|d| d.critical_treated_by_aid) as f64
            * rates.treated_critical_death_per_day,
        recovered: (stays_over - deaths).max(0),
        days,
    }
}

/// The untreated critical rate at which the expected deaths of `courses`
/// (one per city, from one run) sum to `deaths`, the other rates as in
/// `rates` and the untreated severe rate kept at the same fifth of it.
/// `None` when no rate in 0..=1 does: the care the courses had leaves too
/// few (or too many) untreated patients to explain the deaths.
pub fn fit_untreated_rate(
    courses: &[CityCourse],
    rates: &OutcomeRates,
    deaths: f64,
) -> Option<f64> {
    let days = courses.iter().flat_map(|c| c.days.iter());
    let (mut treated_critical, mut untreated_weighted) = (0.0, 0.0);
    let severe_share =
        rates.untreated_severe_death_per_day / rates.untreated_critical_death_per_day;
    for d in days {
        treated_critical += (d.critical - d.critical_untreated) as f64;
        untreated_weighted +=
            d.critical_untreated as f64 + severe_share * d.severe_untreated as f64;
    }
    let rate =
        (deaths - rates.treated_critical_death_per_day * treated_critical) / untreated_weighted;
    (rate.is_finite() && (0.0..=1.0).contains(&rate)).then_some(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hubei() -> Scenario {
        let text = include_str!("../../deploy/scenarios/hubei-2020.toml");
        crate::scenario::parse(text, "hubei-2020.toml").expect("hubei-2020 loads")
    }

    /// Jiangsu's team of 303 doctors and nurses and 40 ventilators, in
    /// Huangshi from day 4.8 (11 Feb 20:00) to `left` days.
    fn team(left: f64) -> Aid {
        let received = Quantities::from([
            (ResourceType::Doctor, 103),
            (ResourceType::Nurse, 200),
            (ResourceType::Ventilator, 40),
        ]);
        Aid {
            arrivals: vec![Arrival {
                at: ScenarioTime::from_days(4.8),
                received,
            }],
            teams_left_at: Some(ScenarioTime::from_days(left)),
        }
    }

    #[test]
    fn care_goes_to_the_sickest_first() {
        // 100 active, 10 severe, 5 critical; 12 places, 3 ventilators.
        assert_eq!(allocate(100, 10, 5, 12, 3), [0, 9, 3]);
        assert_eq!(allocate(100, 10, 5, 1000, 1000), [85, 10, 5]);
    }

    #[test]
    fn aid_that_arrives_leaves_fewer_untreated_and_fewer_dead() {
        let s = hubei();
        let huangshi = s.city("huangshi").unwrap();
        let alone = course(&s, huangshi, &Aid::default(), &CALIBRATED, 1);
        let helped = course(&s, huangshi, &team(60.0), &CALIBRATED, 1);
        assert!(helped.untreated_patient_days < alone.untreated_patient_days);
        assert!(
            helped.deaths < alone.deaths,
            "{} vs {}",
            helped.deaths,
            alone.deaths
        );
        assert!(helped.treated_by_aid_patients > 0.0);
        assert_eq!(alone.treated_by_aid_patients, 0.0);
        // Sent home at once, the team changes nothing after it leaves.
        let early = course(&s, huangshi, &team(4.9), &CALIBRATED, 1);
        assert!(early.untreated_patient_days > helped.untreated_patient_days);
    }

    #[test]
    fn a_seed_gives_the_same_course_and_seeds_spread_it() {
        let s = hubei();
        let city = s.city("xiaogan").unwrap();
        let a = course(&s, city, &Aid::default(), &CALIBRATED, 7);
        assert_eq!(a, course(&s, city, &Aid::default(), &CALIBRATED, 7));
        let deaths: std::collections::BTreeSet<i64> = (1..=5)
            .map(|seed| course(&s, city, &Aid::default(), &CALIBRATED, seed).deaths)
            .collect();
        assert!(deaths.len() > 1, "five seeds, one death count: {deaths:?}");
    }

    #[test]
    fn the_fit_recovers_the_rate_its_deaths_came_from() {
        let s = hubei();
        let courses: Vec<CityCourse> = s
            .cities
            .iter()
            .map(|c| course(&s, c, &Aid::default(), &CALIBRATED, 3))
            .collect();
        // Expected deaths at the calibrated rates: the fit must give them back.
        let expected: f64 = courses
            .iter()
            .flat_map(|c| c.days.iter())
            .map(|d| {
                (d.critical - d.critical_untreated) as f64
                    * CALIBRATED.treated_critical_death_per_day
                    + d.critical_untreated as f64 * CALIBRATED.untreated_critical_death_per_day
                    + d.severe_untreated as f64 * CALIBRATED.untreated_severe_death_per_day
            })
            .sum();
        let rate = fit_untreated_rate(&courses, &CALIBRATED, expected).unwrap();
        assert!(
            (rate - CALIBRATED.untreated_critical_death_per_day).abs() < 1e-9,
            "{rate}"
        );
        assert_eq!(fit_untreated_rate(&courses, &CALIBRATED, 1e9), None);
    }
}
