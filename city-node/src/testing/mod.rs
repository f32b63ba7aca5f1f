//! Test fixtures: a small scenario built in code, so the unit tests do not
//! depend on a scenario file.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use counterpart_domain::scenario::{City, CurvePoint, PairingMode, Rules, Scenario};
use pairing_proto::resource::ResourceType;

pub const CITY: &str = "huangshi";

pub fn start_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 2, 7).expect("valid date")
}

/// Huangshi with beds 1000, 100 doctors and 200 nurses: with the rates of
/// [`scenario_with`] it treats 400 active cases.
pub fn city_with_curve(points: &[(u64, i64)]) -> City {
    City {
        id: CITY.into(),
        name: "Huangshi".into(),
        name_zh: "黄石".into(),
        population_millions: 2.5,
        beds: 1000,
        local_doctors: 100,
        local_nurses: 200,
        historical_donors: vec!["jiangsu".into()],
        curve: points
            .iter()
            .map(|&(day, confirmed)| CurvePoint {
                date: start_date() + Days::new(day),
                confirmed,
                source: None,
            })
            .collect(),
        location: None,
        estimated: vec![],
    }
}

/// A scenario holding only `city`. Rates: 0.25 doctor, 0.5 nurse, 10 N95 masks
/// per active case; recovery in 4 days; request above 0.9 of capacity;
/// reports daily; 3 quiet days to demobilise; 1% of material lost in transit.
pub fn scenario_with(city: City) -> Scenario {
    Scenario {
        name: "test".into(),
        description: "fixture".into(),
        start_date: start_date(),
        end_date: start_date() + Days::new(60),
        rules: Rules {
            pairing_mode: PairingMode::Historical,
            decision_window_days: 3.0,
            report_interval_days: 1.0,
            evaluation_interval_days: 7.0,
            quiet_days_to_demobilise: 3,
            max_outbreak_level: 2,
            intensity_cap: 1.5,
            recovery_days: 4.0,
            severe_fraction: 0.15,
            critical_fraction: 0.05,
            request_threshold: 0.9,
            transit_days: 1.0,
            transit_loss_rate: 0.01,
            mobilisation_days: 1.0,
            shipment_interval_days: 2.0,
        },
        needs_per_active_case: BTreeMap::from([
            (ResourceType::Doctor, 0.25),
            (ResourceType::Nurse, 0.5),
            (ResourceType::MaskN95, 10.0),
        ]),
        unit_cost_cny: BTreeMap::new(),
        cities: vec![city],
        provinces: vec![],
    }
}

/// The outbreak the recipient tests use: +100 confirmed a day from day 0 to
/// day 10, then flat. Active cases pass 360 (0.9 x 400) just after day 3.6,
/// stay at 400 until day 10 and fall to 0 by day 14.
pub fn outbreak() -> Scenario {
    scenario_with(city_with_curve(&[(0, 0), (10, 1000)]))
}

pub mod otel;
pub mod peers;
