//! Step 4: when the city asks for help, what it asks for, and asking again.

use std::collections::BTreeMap;

use crate::RefusalCode as Code;
use pairing_proto::v1::{AssistanceRequest, AssistanceRequestAck};

use super::*;
use crate::recipient::{Notice, Stage, MAX_REQUESTS};

/// +200 confirmed a day until day 10: 800 active from day 4.
fn steep() -> Scenario {
    scenario_with(city_with_curve(&[(0, 0), (10, 2_000)]))
}

fn requests(sent: &[(ScenarioTime, Outbound)]) -> Vec<(ScenarioTime, &AssistanceRequest)> {
    sent.iter()
        .filter_map(|(t, o)| match o {
            Outbound::AssistanceRequest(r) => Some((*t, r)),
            _ => None,
        })
        .collect()
}

fn needs_of(r: &AssistanceRequest) -> BTreeMap<String, i64> {
    r.needs
        .iter()
        .map(|n| (n.resource_type.to_string(), n.quantity))
        .collect()
}

fn reject(m: &mut Recipient, message_id: &str, case_id: &str, h: i64) {
    let mut d = decision(message_id, 1, &[]);
    d.case_id = case_id.into();
    m.on_decision(&d, hours(h)).unwrap();
}

#[test]
fn no_request_until_active_cases_pass_the_threshold() {
    let mut m = started_with(steep());
    assert_eq!(m.capacity_cases(), 400); // nurses: 200 / 0.5
                                         // Active = 200 per day; 0.9 x 400 = 360 is passed at day 1.8.
    let sent = run(&mut m, 0, 24 * 3);
    let reqs = requests(&sent);
    assert_eq!(reqs.len(), 1, "one request while it is pending");
    let (at, r) = reqs[0];
    assert_eq!(at, hours(44)); // day 1.833: 366 active; day 1.792 had 358
    let situation = r.situation.unwrap();
    assert_eq!(situation.active_cases, 366);
    // 92 doctors and 183 nurses are within local staff: only masks.
    assert_eq!(
        needs_of(r),
        BTreeMap::from([("material/mask_n95".into(), 3_660)])
    );
    assert_eq!(r.header.as_ref().unwrap().sender_id, CITY);
}

#[test]
fn needs_are_what_active_cases_call_for_beyond_local_staff() {
    let mut m = started_with(steep());
    let sent = run(&mut m, 24 * 5, 24 * 5 + 1);
    let (_, r) = requests(&sent)[0];
    assert_eq!(r.situation.unwrap().active_cases, 800);
    let expected = BTreeMap::from([
        ("personnel/doctor".into(), 200 - 100),
        ("personnel/nurse".into(), 400 - 200),
        ("material/mask_n95".into(), 8_000),
    ]);
    assert_eq!(needs_of(r), expected);
}

#[test]
fn after_a_rejection_asks_again_three_days_later_at_most_three_times() {
    let mut m = started_with(steep());
    let first = request_case(&mut m, 0);
    reject(&mut m, "d1", CASE, first);
    assert!(matches!(m.case().unwrap().stage, Stage::Rejected { .. }));
    // Nothing for 3 days, then the second request.
    assert!(requests(&run(&mut m, first, first + 72)).is_empty());
    let second = request_case(&mut m, first + 72);
    assert_eq!(second, first + 72);
    reject(&mut m, "d2", "case-huangshi-2", second);
    let third = request_case(&mut m, second);
    assert_eq!(third, second + 72);
    reject(&mut m, "d3", "case-huangshi-3", third);
    assert_eq!(m.requests_made(), MAX_REQUESTS);
    // Still over the threshold, but three requests were made.
    assert!(requests(&run(&mut m, third, third + 24 * 10)).is_empty());
}

#[test]
fn a_decision_for_an_earlier_case_is_not_taken_for_the_pending_one() {
    let mut m = started_with(steep());
    let first = request_case(&mut m, 0);
    reject(&mut m, "d1", CASE, first);
    // The second request is pending, its id not yet known.
    let sent = run(&mut m, first + 72, first + 73);
    assert_eq!(requests(&sent).len(), 1);
    let mut late = decision("d1-again", 2, &[]);
    late.case_id = CASE.into();
    assert_eq!(
        m.on_decision(&late, hours(first + 73)).unwrap_err().code(),
        Code::NotFound
    );
    // The decision on case-2 may overtake central's reply: it names the case.
    let mut d2 = decision("d2", 1, &[("jiangsu", JIANGSU)]);
    d2.case_id = "case-huangshi-2".into();
    m.on_decision(&d2, hours(first + 73)).unwrap();
    assert_eq!(m.open_case_id(), Some("case-huangshi-2"));
}

#[test]
fn a_refused_request_counts_as_a_rejection() {
    let mut m = started_with(steep());
    let sent = run(&mut m, 0, 48);
    let (at, r) = requests(&sent)[0];
    let message_id = r.header.clone().unwrap().message_id;
    let refusal = Err(Failure::refused("a case is open"));
    let notice = m.on_sent(
        Sent::AssistanceRequest {
            message_id,
            outcome: refusal,
        },
        at,
    );
    let reason = "a case is open".to_string();
    assert_eq!(notice, Some(Notice::RequestNotAccepted { reason }));
    assert_eq!(m.case().unwrap().stage, Stage::Rejected { at });
    let again = request_case(&mut m, 48);
    assert_eq!(hours(again), at.plus_days(3.0));
}

#[test]
fn an_unreachable_central_gets_the_same_request_again() {
    let mut m = started_with(steep());
    let sent = run(&mut m, 0, 48);
    let (at, r) = requests(&sent)[0];
    let message_id = r.header.clone().unwrap().message_id;
    let down = Err(Failure::transient("central down"));
    m.on_sent(
        Sent::AssistanceRequest {
            message_id: message_id.clone(),
            outcome: down,
        },
        at,
    );
    let resent = m.on_tick(hours(48));
    let [Outbound::AssistanceRequest(again)] = resent.as_slice() else {
        panic!("the request again: {resent:?}");
    };
    assert_eq!(
        again.header.as_ref().unwrap().message_id,
        message_id,
        "same id: central dedups"
    );
    assert_eq!(m.requests_made(), 1);
    let ack = AssistanceRequestAck {
        case_id: CASE.into(),
        duplicate: true,
    };
    m.on_sent(
        Sent::AssistanceRequest {
            message_id,
            outcome: Ok(ack),
        },
        hours(48),
    );
    assert_eq!(m.case().unwrap().id.as_deref(), Some(CASE));
    assert!(m.on_tick(hours(49)).is_empty());
}
