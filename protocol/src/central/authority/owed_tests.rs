//! What central owes, across rounds and restarts: the protocol's outbox
//! under the journal record central has always written for an owed
//! message, `(Option<ScenarioTime>, Outbound)` with the rounds in
//! `Outbound::rounds`, and under the resend queue of the 0.1.0 document.

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::journal::{self, Records};
use serde_json::json;

use super::outbound::Outbound;
use super::persist::kind;
use super::tests::{at, paired, small, BOOT};
use super::Authority;
use crate::persist::Persistent;
use crate::resend::{RoundOutcome, RESEND};

/// Every owed record, decoded as releases before this one read it.
fn owed(records: &Records) -> Vec<(Option<ScenarioTime>, Outbound)> {
    journal::of_kind(records, kind::OWED)
        .map(|(id, body)| {
            let record: (Option<ScenarioTime>, Outbound) =
                serde_json::from_slice(body).expect("the old shape");
            assert_eq!(record.1.message_id(), id, "keyed by message id");
            record
        })
        .collect()
}

fn owed_record(a: &Authority, message_id: &str) -> Option<(Option<ScenarioTime>, Outbound)> {
    owed(&a.records().unwrap())
        .into_iter()
        .find(|(_, o)| o.message_id() == message_id)
}

/// The messages of `paired()` still in flight: clock starts, assignments
/// and decisions, none answered yet.
fn in_flight() -> (Authority, Vec<Outbound>) {
    let (a, _) = paired();
    let out: Vec<Outbound> = owed(&a.records().unwrap())
        .into_iter()
        .map(|(at, o)| {
            assert_eq!(at, None, "in flight: owed from now");
            o
        })
        .collect();
    assert!(out.len() > 3, "{} owed", out.len());
    (a, out)
}

#[test]
fn a_failed_round_is_journaled_as_before_and_resent_after_its_pause() {
    let (mut a, out) = in_flight();
    let failed = out[0].clone();
    let id = failed.message_id().to_string();
    let now = at(3.3).scenario;
    a.on_sent(failed.clone(), RoundOutcome::Transient, now);
    let next = ScenarioTime(now.0 + RESEND.pause_ms(1, &crate::header::jitter_key(&id)));
    let expected = Outbound {
        rounds: 1,
        ..failed.clone()
    };
    // Byte for byte what the resend queue's record was.
    let body = a.records().unwrap()[&journal::RecordKey::new(kind::OWED, id.as_str())].clone();
    assert_eq!(body, serde_json::to_vec(&(Some(next), &expected)).unwrap());

    let mut r = Authority::restore(small(), &a.records().unwrap(), BOOT + 1).unwrap();
    let before = r.on_tick(at(3.3));
    assert!(
        before.iter().all(|o| o.message_id() != id),
        "not before its pause"
    );
    let mut due = r.on_tick(super::Now {
        scenario: next,
        unix_ms: 0,
    });
    due.retain(|o| o.message_id() == id);
    assert_eq!(due, vec![expected], "sent again with its round counted");
    assert_eq!(owed_record(&r, &id).map(|(at, _)| at), Some(None));
}

#[test]
fn a_refused_order_is_sent_again_until_the_rounds_run_out() {
    let (mut a, out) = in_flight();
    let mut sent = out[0].clone();
    let id = sent.message_id().to_string();
    let mut now = at(3.3).scenario;
    for round in 1..RESEND.max_rounds {
        a.on_sent(sent, RoundOutcome::Refused, now);
        let (next, _) = owed_record(&a, &id).expect("still owed after a refusal");
        now = next.expect("waiting for its next round");
        let mut due = a.on_tick(super::Now {
            scenario: now,
            unix_ms: 0,
        });
        due.retain(|o| o.message_id() == id);
        assert_eq!(due.len(), 1, "round {} sent", round + 1);
        sent = due.pop().unwrap();
        assert_eq!(sent.rounds, round);
    }
    a.on_sent(sent.clone(), RoundOutcome::Refused, now);
    assert_eq!(owed_record(&a, &id), None, "given up after the last round");
    // A late outcome of a message no longer owed changes nothing.
    let before = a.records().unwrap();
    a.on_sent(sent, RoundOutcome::Transient, now);
    assert!(a.records().unwrap() == before);
}

#[test]
fn an_accepted_message_is_no_longer_owed() {
    let (mut a, out) = in_flight();
    let id = out[1].message_id().to_string();
    a.on_sent(out[1].clone(), RoundOutcome::Accepted, at(3.3).scenario);
    assert_eq!(owed_record(&a, &id), None);
    assert_eq!(owed(&a.records().unwrap()).len(), out.len() - 1);
}

/// The 0.1.0 document of an authority whose owed messages are `queued`,
/// `in_flight` and `waiting` (its resend queue).
fn legacy_document(
    a: &Authority,
    queued: &[Outbound],
    in_flight: &[Outbound],
    waiting: &[(ScenarioTime, Outbound)],
) -> Vec<u8> {
    let cases: serde_json::Map<String, serde_json::Value> = (a.cases.iter())
        .map(|(id, case)| {
            let mut value = serde_json::to_value(case).unwrap();
            value["events"] = serde_json::to_value(&case.events).unwrap();
            (id.clone(), value)
        })
        .collect();
    let document = json!({
        "scenario": a.scenario.name,
        "mode": a.mode,
        "day_ms": a.day_ms,
        "clock": a.clock,
        "nodes": a.nodes,
        "donors": a.donors,
        "cases": cases,
        "requests_per_city": a.requests_per_city,
        "request_ids": a.request_ids,
        "assignment_cases": a.assignment_cases,
        "first_request_at": a.first_request_at,
        "last_activity_at": a.last_activity_at,
        "finished_at": a.finished_at,
        "ledger": a.ledger,
        "applied": a.applied,
        "node_messages": a.node_messages,
        "outbox": queued,
        "in_flight": in_flight,
        "resends": { "waiting": waiting },
    });
    serde_json::to_vec(&document).unwrap()
}

#[test]
fn the_previous_release_queue_in_flight_and_resends_load() {
    let (a, out) = in_flight();
    let at_later = at(5.0).scenario;
    let waiting = Outbound {
        rounds: 2,
        ..out[2].clone()
    };
    let bytes = legacy_document(&a, &out[..1], &out[1..2], &[(at_later, waiting.clone())]);
    let mut r = Authority::from_legacy(small(), &bytes, BOOT + 1).unwrap();
    let mut loaded = owed(&r.records().unwrap());
    loaded.sort_by(|x, y| x.1.message_id().cmp(y.1.message_id()));
    let mut expected = vec![
        (None, out[0].clone()),
        (None, out[1].clone()),
        (Some(at_later), waiting.clone()),
    ];
    expected.sort_by(|x, y| x.1.message_id().cmp(y.1.message_id()));
    assert_eq!(loaded, expected);
    assert_eq!(r.cases().count(), a.cases().count());
    // Queued and in flight go out at once; the resend waits for its time.
    let first = r.on_tick(at(3.3));
    assert_eq!(first, out[..2].to_vec());
    let mut later = r.on_tick(super::Now {
        scenario: at_later,
        unix_ms: 0,
    });
    later.retain(|o| o.message_id() == waiting.message_id());
    assert_eq!(later, vec![waiting]);
}
