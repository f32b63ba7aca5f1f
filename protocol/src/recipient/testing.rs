//! Fixtures for the recipient machine's tests, here and in city-node's
//! (feature `testing`): a small scenario built in code, so no test depends
//! on a scenario file, and helpers that drive the machine through the steps
//! of a case (clock, request, decision, shipments).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::scenario::{City, CurvePoint, PairingMode, Rules, Scenario};
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{
    Assessment, AssistanceRequestAck, CaseDecision, ClockStart, Contribution, Donor, ManifestLine,
    MessageHeader, ScenarioClock, Shipment,
};

use super::{Outbound, Recipient, Sent};
use crate::header::HeaderFactory;

pub const CITY: &str = "huangshi";
pub const CASE: &str = "case-huangshi-1";
/// The boot stamp of the machines the helpers make.
pub const BOOT: i64 = 1_700_000_000_000;

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
        final_deaths: None,
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
            supervision: true,
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

pub const JIANGSU: &str = "http://jiangsu:50051";

pub fn hours(h: i64) -> ScenarioTime {
    ScenarioTime(h * DAY_MS / 24)
}

pub fn header(message_id: &str, sender: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: message_id.into(),
        sender_id: sender.into(),
        scenario_time_ms: 0,
    })
}

/// A machine for `scenario` whose clock has started.
pub fn started_with(scenario: Scenario) -> Recipient {
    started_as(scenario, CITY)
}

/// The machine of city `city_id` of `scenario`, its clock started.
pub fn started_as(scenario: Scenario, city_id: &str) -> Recipient {
    let headers = Arc::new(HeaderFactory::new(city_id, BOOT));
    let mut m = Recipient::new(Arc::new(scenario), city_id, headers).unwrap();
    let start = ClockStart {
        header: header("clock-1", "central"),
        clock: Some(ScenarioClock {
            epoch_unix_ms: 1_700_000_000_000,
            day_ms: 1_000,
            start_date: "2020-02-07".into(),
            ..Default::default()
        }),
    };
    assert!(!m.on_clock_start(&start).unwrap().duplicate);
    m
}

pub fn started() -> Recipient {
    started_with(outbreak())
}

/// Ticks every scenario hour in `from..to` (hours), returning what was sent
/// and when.
pub fn run(m: &mut Recipient, from: i64, to: i64) -> Vec<(ScenarioTime, Outbound)> {
    (from..to)
        .flat_map(|h| m.on_tick(hours(h)).into_iter().map(move |o| (hours(h), o)))
        .collect()
}

pub fn decision(message_id: &str, revision: u32, donors: &[(&str, &str)]) -> CaseDecision {
    CaseDecision {
        header: header(message_id, "central"),
        case_id: CASE.into(),
        revision,
        assessment: Some(Assessment {
            accepted: !donors.is_empty(),
            reason: "test".into(),
            ..Default::default()
        }),
        donors: donors
            .iter()
            .map(|&(id, endpoint)| Donor {
                province_id: id.into(),
                endpoint: endpoint.into(),
                ..Default::default()
            })
            .collect(),
    }
}

/// Ticks until the request goes out and answers it as central would
/// (case-huangshi-<n> for the n-th request); returns the hour of the request.
pub fn request_case(m: &mut Recipient, from: i64) -> i64 {
    for h in from..from + 24 * 30 {
        for out in m.on_tick(hours(h)) {
            if let Outbound::AssistanceRequest(r) = out {
                let message_id = r.header.unwrap().message_id;
                let case_id = format!("case-{CITY}-{}", m.requests_made());
                let ack = AssistanceRequestAck {
                    case_id,
                    duplicate: false,
                };
                m.on_sent(
                    Sent::AssistanceRequest {
                        message_id,
                        outcome: Ok(ack),
                    },
                    hours(h),
                );
                return h;
            }
        }
    }
    panic!("no request within 30 days");
}

/// Requests, and has central accept with Jiangsu as the donor; returns the
/// hour of acceptance.
pub fn open_case(m: &mut Recipient) -> i64 {
    let h = request_case(m, 0);
    m.on_decision(
        &decision("decision-1", 1, &[("jiangsu", JIANGSU)]),
        hours(h),
    )
    .unwrap();
    assert_eq!(m.open_case_id(), Some(CASE));
    h
}

/// A manifest line contributed by one prefecture.
pub fn line(resource_type: &str, quantity: i64) -> ManifestLine {
    ManifestLine {
        resource_type: resource_type.into(),
        quantity,
        contributed_by: vec![Contribution {
            prefecture: "nanjing".into(),
            quantity,
        }],
    }
}

/// What the test city loses of `quantity` masks in `shipment` at the
/// scenario's 1 % loss rate: the seeded draw of a clock with seed 0.
pub fn masks_lost(shipment: &Shipment, quantity: i64) -> i64 {
    use crate::recipient::receipt::{arrived, transit_draw};
    use pairing_proto::resource::ResourceType;
    let draw = transit_draw(0, &shipment.shipment_id, ResourceType::MaskN95);
    arrived(ResourceType::MaskN95, quantity, 0.01, draw).1
}

pub fn shipment(message_id: &str, sender: &str, k: u32, lines: Vec<ManifestLine>) -> Shipment {
    Shipment {
        header: header(message_id, sender),
        shipment_id: format!("shp-{sender}-{CASE}-{k}"),
        case_id: CASE.into(),
        assignment_id: format!("asg-{CASE}-{sender}"),
        departed_at_ms: 0,
        lines,
    }
}
