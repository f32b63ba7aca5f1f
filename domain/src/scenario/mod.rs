//! The scenario: every node of a run, its starting data, and the rules the
//! centre applies. Loaded from a TOML file (`deploy/scenarios/*.toml`) by
//! [`load`]; every figure that is not sourced is listed in the node's
//! `estimated` field so the file itself says what is an estimate.
//!
//! - `model` (this file): the validated, typed scenario every node reads.
//! - [`load`]: TOML parsing and validation, with errors that name the file,
//!   the line and the field.

mod load;

use crate::quantities::Quantities;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use pairing_proto::resource::ResourceType;

use crate::clock::ScenarioTime;

pub use load::{load, parse, ScenarioError, MAX_DECLARED_TYPES};

/// How central decides the pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PairingMode {
    /// Replay the pairings pinned in the scenario (`historical_donors`).
    Historical,
    /// Compute the pairing from capacity and need.
    Optimized,
    /// Pair no city: central turns every request down (the policy `none`,
    /// [`crate::policy`]); never read from a scenario file.
    NoPairing,
}

impl PairingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PairingMode::Historical => "historical",
            PairingMode::Optimized => "optimized",
            PairingMode::NoPairing => "none",
        }
    }
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Calendar date of scenario time 0.
    pub start_date: NaiveDate,
    /// The run stops at 00:00 of this date whatever the state of the cases.
    pub end_date: NaiveDate,
    pub rules: Rules,
    /// Resources one active case calls for, per type (estimates).
    pub needs_per_active_case: BTreeMap<ResourceType, f64>,
    /// What one unit costs its donor, per type; personnel per person-day.
    pub unit_cost_cny: BTreeMap<ResourceType, i64>,
    pub cities: Vec<City>,
    pub provinces: Vec<Province>,
}

/// The rules central (and the nodes) apply; all durations in scenario days.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub pairing_mode: PairingMode,
    /// How long central collects requests before deciding the pairing
    /// jointly (2020: 3 days). Requests after the window are decided at once.
    pub decision_window_days: f64,
    pub report_interval_days: f64,
    pub evaluation_interval_days: f64,
    /// A city asks to demobilise after this many days without new cases,
    /// once its own capacity covers its active cases
    /// ([`crate::demobilisation::may_demobilise`]).
    pub quiet_days_to_demobilise: u32,
    /// The release threshold: donors whose own outbreak level is above
    /// this are not paired, and are released if already paired (see
    /// [`Rules::must_release`]). Not the top of the scale, which is
    /// [`OUTBREAK_LEVELS`].
    pub max_outbreak_level: i32,
    /// Cap on aid intensity: targets never exceed this multiple of the
    /// assessed need (the "Dutch disease" after Wenchuan).
    pub intensity_cap: f64,
    /// Whether central evaluates donors (always, from a scenario file; the
    /// policy `no-supervision` turns it off).
    pub supervision: bool,
    /// Days a confirmed case stays active (in hospital).
    pub recovery_days: f64,
    pub severe_fraction: f64,
    pub critical_fraction: f64,
    /// A city requests help when active cases exceed this fraction of its
    /// local treatment capacity; central accepts only above 1.0.
    pub request_threshold: f64,
    /// Days between a shipment's departure and its arrival.
    pub transit_days: f64,
    /// Fraction of material lost in transit (reported as a discrepancy).
    pub transit_loss_rate: f64,
    /// Days between a donor's acknowledgement and its first departure.
    pub mobilisation_days: f64,
    /// Days between two shipments of the same donor to the same case.
    pub shipment_interval_days: f64,
}

/// The outbreak scale: 0 (none) to 4 (overwhelmed). A level outside it is
/// bad input; where a donor must be released is the scenario's rule.
pub const OUTBREAK_LEVELS: std::ops::RangeInclusive<i32> = 0..=4;

/// `level` if it is on the outbreak scale; otherwise an error naming `field`.
pub fn checked_outbreak_level(field: &str, level: i32) -> Result<i32, String> {
    crate::bounds::within(field, level, &OUTBREAK_LEVELS, "")
}

impl Rules {
    /// Whether a donor at `outbreak_level` must look after itself: it is
    /// not paired, and released from every case it serves. The one place
    /// the release threshold is compared.
    pub fn must_release(&self, outbreak_level: i32) -> bool {
        outbreak_level > self.max_outbreak_level
    }
}

/// One point of a city's cumulative confirmed-case curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    pub date: NaiveDate,
    pub confirmed: i64,
    /// Where the figure comes from; `None` for an estimate.
    pub source: Option<String>,
}

/// A recipient city.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub population_millions: f64,
    pub beds: i64,
    pub local_doctors: i64,
    pub local_nurses: i64,
    /// Deaths by the end of the outbreak, where a source gives them: what
    /// the outcome model is calibrated on ([`crate::outcomes`]).
    pub final_deaths: Option<i64>,
    /// The donors the historical table pairs with this city.
    pub historical_donors: Vec<String>,
    /// Cumulative confirmed cases, strictly increasing dates, non-decreasing
    /// counts. Flat after the last point.
    pub curve: Vec<CurvePoint>,
    /// Where the city is, for the dashboard's map; `None` when the scenario
    /// file gives no coordinates.
    pub location: Option<Location>,
    /// Names of the fields above that are estimates, not sourced figures.
    pub estimated: Vec<String>,
}

/// A point on the map in degrees (WGS 84): a city's seat, a province's
/// capital. The scenario files give `lat` and `lon` together or not at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

/// A change of a province's own outbreak level at a date.
#[derive(Debug, Clone, PartialEq)]
pub struct OutbreakEvent {
    pub date: NaiveDate,
    pub level: i32,
}

/// A prefecture-level city of a donor province and what it contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefecture {
    pub name: String,
    pub pool: Quantities,
}

/// A donor province.
#[derive(Debug, Clone, PartialEq)]
pub struct Province {
    pub id: String,
    pub name: String,
    pub outbreak_level: i32,
    pub outbreak_events: Vec<OutbreakEvent>,
    pub prefectures: Vec<Prefecture>,
    /// Where the province's capital is, for the dashboard's map.
    pub location: Option<Location>,
    pub estimated: Vec<String>,
}

impl Scenario {
    pub fn city(&self, id: &str) -> Option<&City> {
        self.cities.iter().find(|c| c.id == id)
    }

    pub fn province(&self, id: &str) -> Option<&Province> {
        self.provinces.iter().find(|p| p.id == id)
    }

    /// Scenario time at which the run ends.
    pub fn end_time(&self) -> ScenarioTime {
        ScenarioTime::of_date(self.start_date, self.end_date)
    }

    /// Scenario time of 00:00 on `date`.
    pub fn time_of(&self, date: NaiveDate) -> ScenarioTime {
        ScenarioTime::of_date(self.start_date, date)
    }
}

impl City {
    /// Cumulative confirmed cases at scenario time `t`, interpolated linearly
    /// between curve points (rounded down), flat before the first point and
    /// after the last.
    pub fn confirmed_at(&self, start_date: NaiveDate, t: ScenarioTime) -> i64 {
        let day = t.days();
        let at = |p: &CurvePoint| ScenarioTime::of_date(start_date, p.date).days();
        let first = self.curve.first().expect("validated: curve is not empty");
        if day <= at(first) {
            return first.confirmed;
        }
        for pair in self.curve.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if day <= at(b) {
                let f = (day - at(a)) / (at(b) - at(a));
                return a.confirmed + (f * (b.confirmed - a.confirmed) as f64).floor() as i64;
            }
        }
        self.curve.last().expect("not empty").confirmed
    }
}

impl Province {
    /// The province's total pool per type, summed over its prefectures.
    pub fn total_pool(&self) -> Quantities {
        let mut total = Quantities::new();
        for prefecture in &self.prefectures {
            for (&t, &q) in &prefecture.pool {
                total.add(t, q);
            }
        }
        total
    }

    /// The outbreak level in force at scenario time `t`.
    pub fn outbreak_level_at(&self, start_date: NaiveDate, t: ScenarioTime) -> i32 {
        self.outbreak_events
            .iter()
            .rfind(|e| ScenarioTime::of_date(start_date, e.date) <= t)
            .map(|e| e.level)
            .unwrap_or(self.outbreak_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The release threshold is the scenario's; the scale's top is not a
    /// threshold (hubei-2020 releases above 2 on a scale up to 4).
    #[test]
    fn a_donor_is_released_above_the_threshold_not_at_it() {
        let text = include_str!("../../../deploy/scenarios/small.toml");
        let rules = parse(text, "small.toml").expect("small loads").rules;
        let threshold = rules.max_outbreak_level;
        assert!(threshold < *OUTBREAK_LEVELS.end());
        assert!(!rules.must_release(threshold));
        assert!(rules.must_release(threshold + 1));
        assert!(!rules.must_release(0));
    }

    #[test]
    fn an_outbreak_level_off_the_scale_is_named() {
        assert_eq!(checked_outbreak_level("outbreak_level", 4), Ok(4));
        let why = checked_outbreak_level("outbreak_level", 5).unwrap_err();
        assert_eq!(why, "outbreak_level: 5 is outside 0..=4");
        assert!(checked_outbreak_level("outbreak_level", -1).is_err());
    }
}
