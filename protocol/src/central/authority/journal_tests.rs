//! Central's journal against the machine itself: after every step of a
//! case's whole life, the records the journal was handed, replayed, equal
//! every record the authority holds. A change a handler forgot to mark
//! would be missing from the replay and fail here.

use crate::persist::Persistent;
use counterpart_domain::journal::{self, Records};
use pairing_proto::v1::{DemobilisationRequest, Situation};

use super::tests::{acknowledge, at, header, paired, receipt_report, shipment_report, small, BOOT};
use super::{Authority, Now};
use crate::resend::RoundOutcome;

/// The journal as the writer would have it: every change taken so far.
struct Replica(Records);

impl Replica {
    fn of(a: &mut Authority) -> Replica {
        let mut replica = Replica(Records::new());
        replica.follow(a, "start");
        replica
    }

    /// Takes the authority's changes and checks the replica is the machine.
    fn follow(&mut self, a: &mut Authority, step: &str) -> usize {
        let changes = a.take_changes().unwrap();
        let count = changes.len();
        journal::apply(&mut self.0, changes);
        let live = a.records().unwrap();
        for (key, body) in &live {
            assert!(
                self.0.get(key) == Some(body),
                "after {step}: record {key:?} differs or is missing in the journal"
            );
        }
        assert_eq!(
            self.0.len(),
            live.len(),
            "after {step}: extra records in the journal"
        );
        count
    }
}

fn tick(a: &mut Authority, now: Now) {
    for outbound in a.on_tick(now) {
        a.on_sent(outbound, RoundOutcome::Accepted, now.scenario);
    }
}

#[test]
fn the_journal_replayed_is_the_authority_at_every_step_of_a_case() {
    let (mut a, _) = paired();
    let mut replica = Replica::of(&mut a);
    acknowledge(&mut a, "alpha", "asg-case-south-1-alpha", at(3.3)).unwrap();
    replica.follow(&mut a, "acknowledgement");
    let shipped = shipment_report("alpha", "case-south-1", "shp-1", 5, at(5.0), false);
    a.submit_report(&shipped, at(5.0)).unwrap();
    assert!(replica.follow(&mut a, "shipment report") > 0);
    // The same report again: applied once, nothing to save.
    a.submit_report(&shipped, at(5.1)).unwrap();
    assert_eq!(
        replica.follow(&mut a, "resent report"),
        0,
        "a resend saves nothing"
    );
    for day in 6..20 {
        tick(&mut a, at(f64::from(day)));
        replica.follow(&mut a, &format!("tick of day {day}"));
    }
    let demobilise = DemobilisationRequest {
        header: header("south", at(20.0)),
        case_id: "case-south-1".into(),
        situation: Some(Situation::default()),
    };
    a.request_demobilisation(&demobilise, at(20.0)).unwrap();
    replica.follow(&mut a, "demobilisation request");
    tick(&mut a, at(20.0));
    replica.follow(&mut a, "demobilisation order");
    let last = shipment_report("alpha", "case-south-1", "shp-1", 5, at(21.0), true);
    a.submit_report(&last, at(21.0)).unwrap();
    replica.follow(&mut a, "final report");
    let receipt = receipt_report("south", "case-south-1", "shp-1", 5, at(21.5));
    a.submit_report(&receipt, at(21.5)).unwrap();
    replica.follow(&mut a, "receipt");
    tick(&mut a, at(22.0));
    replica.follow(&mut a, "closure");
    // A message whose send failed waits for its next round: a record too.
    let pending = a.on_tick(at(40.0));
    for outbound in pending {
        a.on_sent(outbound, RoundOutcome::Transient, at(40.0).scenario);
    }
    replica.follow(&mut a, "failed sends");

    let restored = Authority::restore(small(), &replica.0, BOOT + 1).unwrap();
    assert!(
        restored.records().unwrap() == a.records().unwrap(),
        "the authority restored from the journal differs"
    );
    assert_eq!(restored.ledger(), a.ledger());
}

/// The check above fails when a change is not marked: here a case changed
/// behind the journal's back, as a handler missing its mark would.
#[test]
fn a_change_left_unmarked_is_caught() {
    let (mut a, _) = paired();
    let mut replica = Replica::of(&mut a);
    a.cases.get_mut("case-south-1").unwrap().revision += 7; // no mark
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        replica.follow(&mut a, "an unmarked change")
    }));
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("record Record"), "{message}");
    assert!(message.contains("case-south-1"), "{message}");
}

/// Bytes one city report hands the journal once `history` reports of the
/// same case came before it.
fn bytes_of_one_report_after(history: usize) -> usize {
    let (mut a, _) = paired();
    for n in 0..history {
        let report = receipt_report("south", "case-south-1", &format!("shp-{n}"), 0, at(5.0));
        a.submit_report(&report, at(5.0)).unwrap();
    }
    a.take_changes().unwrap();
    let report = receipt_report("south", "case-south-1", "shp-last", 0, at(6.0));
    a.submit_report(&report, at(6.0)).unwrap();
    a.take_changes()
        .unwrap()
        .iter()
        .map(|change| match change {
            journal::Change::Put { key, body } => key.id.len() + body.len(),
            journal::Change::Delete { key } => key.id.len(),
        })
        .sum()
}

/// What made central collapse, measured in bytes rather than time so no
/// machine's load can hide it: a save used to write the whole state, so a
/// report's save grew with every report before it. Now it writes what the
/// report changed, the same after 20 reports as after 2,000.
#[test]
fn a_report_saves_the_same_bytes_however_long_the_history() {
    let early = bytes_of_one_report_after(20);
    let late = bytes_of_one_report_after(2_000);
    // The case's own record holds its assignments, never its events, so
    // it does not grow with reports either; ids may gain a digit.
    println!("one report writes {early} bytes after 20 reports, {late} after 2,000");
    assert!(
        late <= early + 16,
        "after 2,000 reports a save writes {late} bytes, after 20 {early}"
    );
    assert!(late < 4_096, "one report writes {late} bytes");
}

/// A report adds an event to its case's history and changes nothing else
/// of the case: the save writes the event, not the case's record again
/// (encoded under the lock every handler needs, for every report).
#[test]
fn a_report_writes_its_event_not_its_case_again() {
    let (mut a, _) = paired();
    a.take_changes().unwrap();
    let report = receipt_report("south", "case-south-1", "shp-1", 0, at(5.0));
    a.submit_report(&report, at(5.0)).unwrap();
    let puts = |changes: &[journal::Change], kind: &str| {
        (changes.iter())
            .filter(|c| matches!(c, journal::Change::Put { key, .. } if key.kind == kind))
            .count()
    };
    let changes = a.take_changes().unwrap();
    assert_eq!(puts(&changes, super::persist::kind::CASE_EVENT), 1);
    assert_eq!(puts(&changes, super::persist::kind::CASE), 0);
}
