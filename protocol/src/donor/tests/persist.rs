//! The donor's durable form: what a restarted province resumes with.

use std::sync::Arc;

use pairing_proto::resource::ResourceType::*;

use super::*;
use crate::header::HeaderFactory;
use crate::inbox::Inbox;
use crate::persist::Persistent;

fn restored(d: &Donor) -> Donor {
    Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("jiangsu", BOOT + 1)),
        &d.records().unwrap(),
    )
    .unwrap()
}

#[test]
fn a_restored_donor_has_the_same_assignments_pool_and_outbox() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 3000)]);
    let sent = run(&mut d, 0.25, 4.0);
    receipt_all(&mut d, &sent[..1]);
    let r = restored(&d);
    assert_eq!(
        format!("{:?}", r.assignments),
        format!("{:?}", d.assignments)
    );
    assert_eq!(r.pool, d.pool);
    assert_eq!(r.clock, d.clock);
    // Every record, the applied message ids one by one among them.
    assert!(
        r.records().unwrap() == d.records().unwrap(),
        "the restored state differs"
    );
}

#[test]
fn a_shipment_in_flight_when_the_node_died_is_sent_again_with_its_message_id() {
    let mut d = assigned(&[(Doctor, 10)]);
    run(&mut d, 0.25, 1.25);
    let first = shipments(
        &d.on_tick(day(1.5))
            .into_iter()
            .map(|o| (day(1.5), o))
            .collect::<Vec<_>>(),
    );
    assert_eq!(first.len(), 1, "the shipment is handed to the courier");
    // The process dies before the outcome: the saved state has it in flight.
    let mut r = restored(&d);
    let again = shipments(&run(&mut r, 1.5, 1.5));
    assert_eq!(again.len(), 1, "sent again after the restart");
    assert_eq!(again[0].shipment_id, first[0].shipment_id);
    assert_eq!(
        again[0].header, first[0].header,
        "same message id: the city counts it once"
    );
}

#[test]
fn a_state_of_another_province_or_scenario_is_refused() {
    let records = started().records().unwrap();
    let other = Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("zhejiang", BOOT)),
        &records,
    );
    assert!(other.unwrap_err().contains("\"jiangsu\""));
    let mut garbage = counterpart_domain::journal::Records::new();
    counterpart_domain::journal::apply(
        &mut garbage,
        [counterpart_domain::journal::Change::put(
            "donor",
            "",
            b"{not json".to_vec(),
        )],
    );
    let garbage = Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("jiangsu", BOOT)),
        &garbage,
    );
    assert!(garbage.unwrap_err().starts_with("donor state:"));
    let empty = Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("jiangsu", BOOT)),
        &Default::default(),
    );
    assert!(
        empty.unwrap_err().contains("no donor record"),
        "a city's store, say"
    );
}

/// A tick that says it changed nothing left the saved state as it was, so
/// the driver may skip saving it (`Changing::release_unchanged`).
#[test]
fn a_tick_that_reports_no_change_changed_nothing_durable() {
    let state =
        |d: &Donor| serde_json::from_slice::<serde_json::Value>(&d.state_bytes().unwrap()).unwrap();
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 3000)]);
    let (mut quiet, mut busy) = (0, 0);
    for step in 0..(40 * 24) {
        let now = day(f64::from(step) / 24.0);
        let before = state(&d);
        let out = d.on_tick(now);
        if d.last_tick_changed() {
            busy += 1;
        } else {
            assert!(out.is_empty());
            assert!(
                state(&d) == before,
                "tick at {now:?} changed the state unannounced"
            );
            quiet += 1;
        }
        for o in out {
            d.on_sent(&o.key(), RoundOutcome::Accepted, now);
        }
    }
    assert!(quiet > 0 && busy > 0, "quiet {quiet}, busy {busy}");
}

/// A store of the previous release (0.1.0) held the whole donor as one
/// document, its applied ids inside: it loads as one record of
/// [`LEGACY_KIND`](crate::donor::LEGACY_KIND), and the donor reads it
/// with every assignment and every applied id.
#[test]
fn a_previous_release_whole_state_document_is_read() {
    let mut d = assigned(&[(Doctor, 10), (MaskN95, 3000)]);
    let sent = run(&mut d, 0.25, 4.0);
    receipt_all(&mut d, &sent[..1]);
    let mut whole: serde_json::Value = serde_json::from_slice(&d.state_bytes().unwrap()).unwrap();
    whole["applied"] = serde_json::to_value(&d.applied).unwrap();
    let mut legacy = counterpart_domain::journal::Records::new();
    counterpart_domain::journal::apply(
        &mut legacy,
        [counterpart_domain::journal::Change::put(
            crate::donor::LEGACY_KIND,
            "",
            serde_json::to_vec(&whole).unwrap(),
        )],
    );
    let r = Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("jiangsu", BOOT + 1)),
        &legacy,
    )
    .unwrap();
    assert_eq!(
        format!("{:?}", r.assignments),
        format!("{:?}", d.assignments)
    );
    assert_eq!(r.pool, d.pool);
    // The applied ids came along: the clock's message is a resend now.
    let again = r.applied.answered(clock_start().header.as_ref().unwrap());
    assert!(again.is_some(), "applied ids read from the old document");
}
