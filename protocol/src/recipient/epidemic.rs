//! The city's situation at a moment of scenario time, read off the scenario's
//! confirmed-case curve (protocol step 4). Pure arithmetic: no clock, no I/O.

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::{City, Scenario};
use pairing_proto::v1::Situation;

/// How far back `days_without_new_cases` looks. A year is far beyond any
/// quiet period a scenario asks for, and bounds the loop.
pub const MAX_QUIET_LOOKBACK_DAYS: i64 = 366;

/// The situation of `city` at `now`: confirmed cases follow the curve, a case
/// stays active for `recovery_days`, severe and critical are fixed fractions
/// of the active cases.
pub fn situation(scenario: &Scenario, city: &City, now: ScenarioTime) -> Situation {
    let rules = &scenario.rules;
    let confirmed = |t: ScenarioTime| city.confirmed_at(scenario.start_date, t);
    let confirmed_now = confirmed(now);
    let active = (confirmed_now - confirmed(now.plus_days(-rules.recovery_days))).max(0);
    Situation {
        confirmed_total: confirmed_now,
        active_cases: active,
        severe: fraction_of(active, rules.severe_fraction),
        critical: fraction_of(active, rules.critical_fraction),
        beds: city.beds,
        local_doctors: city.local_doctors,
        local_nurses: city.local_nurses,
        new_cases_today: (confirmed_now - confirmed(now.plus_days(-1.0))).max(0),
        days_without_new_cases: days_without_new_cases(scenario, city, now),
    }
}

/// Whole days back from `now` during which the confirmed count did not move.
/// Days before the scenario start are not counted: the scenario knows
/// nothing of them.
pub fn days_without_new_cases(scenario: &Scenario, city: &City, now: ScenarioTime) -> i64 {
    let confirmed =
        |days_back: i64| city.confirmed_at(scenario.start_date, now.plus_days(-(days_back as f64)));
    let within_scenario = |days_back: i64| now.plus_days(-(days_back as f64)).0 >= 0;
    let mut quiet = 0;
    while quiet < MAX_QUIET_LOOKBACK_DAYS
        && within_scenario(quiet + 1)
        && confirmed(quiet) == confirmed(quiet + 1)
    {
        quiet += 1;
    }
    quiet
}

/// `fraction` of `count`, rounded to the nearest case.
fn fraction_of(count: i64, fraction: f64) -> i64 {
    (count as f64 * fraction).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipient::testing::{city_with_curve, scenario_with};

    /// 100 cases on day 0, +50 a day until day 10 (600), then flat.
    fn scenario() -> Scenario {
        scenario_with(city_with_curve(&[(0, 100), (10, 600)]))
    }

    #[test]
    fn active_cases_are_confirmed_within_the_recovery_period() {
        let s = scenario();
        let city = &s.cities[0];
        // recovery_days = 4: on day 8, 500 confirmed, 300 of them by day 4.
        let now = ScenarioTime::from_days(8.0);
        let sit = situation(&s, city, now);
        assert_eq!(sit.confirmed_total, 500);
        assert_eq!(sit.active_cases, 200);
        assert_eq!(sit.severe, 30); // 0.15
        assert_eq!(sit.critical, 10); // 0.05
        assert_eq!(sit.new_cases_today, 50);
        assert_eq!(sit.days_without_new_cases, 0);
        assert_eq!(sit.beds, city.beds);
        assert_eq!(sit.local_doctors, city.local_doctors);
    }

    #[test]
    fn quiet_days_count_whole_days_since_the_curve_went_flat() {
        let s = scenario();
        let city = &s.cities[0];
        let sit = situation(&s, city, ScenarioTime::from_days(13.5));
        assert_eq!(sit.new_cases_today, 0);
        assert_eq!(sit.days_without_new_cases, 3);
        // Long after the plateau every case has recovered.
        let late = situation(&s, city, ScenarioTime::from_days(30.0));
        assert_eq!(late.active_cases, 0);
        assert_eq!(late.days_without_new_cases, 20);
    }

    #[test]
    fn days_before_the_scenario_start_do_not_count_as_quiet() {
        let s = scenario_with(city_with_curve(&[(5, 100), (10, 600)]));
        let city = &s.cities[0];
        // Flat from day 0 to day 5, but only 2 whole days exist before 2.5.
        assert_eq!(
            days_without_new_cases(&s, city, ScenarioTime::from_days(2.5)),
            2
        );
    }
}
