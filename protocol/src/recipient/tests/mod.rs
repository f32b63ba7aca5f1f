//! Unit tests of the recipient machine: times and messages in, messages out.

mod demobilisation;
mod malformed;
mod reporting;
mod requests;
mod shipments;

use std::sync::Arc;

use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::scenario::Scenario;
use node_kit::header::HeaderFactory;
use pairing_proto::v1::{
    Assessment, AssistanceRequestAck, CaseDecision, ClockStart, Contribution, Donor, ManifestLine,
    MessageHeader, ScenarioClock, Shipment,
};

use super::{Outbound, Recipient, Sent};
use crate::testing::{outbreak, CITY};

pub const CASE: &str = "case-huangshi-1";
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
    let headers = Arc::new(node_kit::header::this_life(city_id));
    let mut m = Recipient::new(Arc::new(scenario), city_id, headers).unwrap();
    let start = ClockStart {
        header: header("clock-1", "central"),
        clock: Some(ScenarioClock {
            epoch_unix_ms: 1_700_000_000_000,
            day_ms: 1_000,
            start_date: "2020-02-07".into(),
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

/// A tick that says it changed nothing left the saved state as it was, so
/// the driver may skip saving it (`Changing::release_unchanged`).
#[test]
fn a_tick_that_reports_no_change_changed_nothing_durable() {
    let state = |m: &Recipient| {
        serde_json::from_slice::<serde_json::Value>(&m.state_bytes().unwrap()).unwrap()
    };
    let mut m = started();
    open_case(&mut m);
    let (mut quiet, mut busy) = (0, 0);
    for h in 0..24 * 40 {
        let before = state(&m);
        let out = m.on_tick(hours(h));
        if m.last_tick_changed() {
            busy += 1;
        } else {
            assert!(out.is_empty());
            assert!(
                state(&m) == before,
                "tick at hour {h} changed the state unannounced"
            );
            quiet += 1;
        }
    }
    assert!(quiet > 0 && busy > 0, "quiet {quiet}, busy {busy}");
}
