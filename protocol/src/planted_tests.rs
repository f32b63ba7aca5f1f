//! The planted bugs' switch: named, parsed, planted per thread and removed.
//! Each bug's effect on its machine is shown beside that machine's tests:
//! `recipient/tests/planted.rs`, `donor/tests/planted.rs` and
//! `central/authority/planted_tests.rs`.

use crate::planted::{plant, planted, Bug};

/// Plants `bug` in this thread until dropped. The test harness may run
/// tests one after another on one thread (`--test-threads=1`), so a test
/// must not leave its bug behind for the next.
#[must_use = "the bug is removed when this is dropped"]
pub(crate) struct Planting;

pub(crate) fn planting(bug: Option<Bug>) -> Planting {
    plant(bug);
    Planting
}

impl Drop for Planting {
    fn drop(&mut self) {
        plant(None);
    }
}

#[test]
fn each_bug_parses_from_its_kebab_case_name() {
    for bug in Bug::ALL {
        assert_eq!(Bug::parse(bug.name()), Some(bug));
        assert_eq!(bug.to_string(), bug.name());
    }
    assert_eq!(
        Bug::ALL.map(Bug::name),
        [
            "city-counts-resent-shipment-twice",
            "donor-forgets-outbox-on-restart",
            "central-closes-before-last-receipt",
            "city-tallies-deaths-twice",
        ]
    );
    assert_eq!(Bug::parse("CityCountsResentShipmentTwice"), None);
    assert_eq!(Bug::parse(""), None);
}

#[test]
fn one_bug_is_planted_at_a_time_and_none_removes_it() {
    let _planting = planting(None);
    assert!(Bug::ALL.iter().all(|&bug| !planted(bug)), "off by default");
    for bug in Bug::ALL {
        plant(Some(bug));
        for other in Bug::ALL {
            assert_eq!(planted(other), other == bug, "{bug} planted, {other}?");
        }
    }
    plant(None);
    assert!(Bug::ALL.iter().all(|&bug| !planted(bug)));
}

#[test]
fn a_bug_planted_in_one_thread_is_not_planted_in_another() {
    let _planting = planting(Some(Bug::DonorForgetsOutboxOnRestart));
    let elsewhere = std::thread::spawn(|| {
        let before = planted(Bug::DonorForgetsOutboxOnRestart);
        plant(Some(Bug::CentralClosesBeforeLastReceipt));
        before
    })
    .join()
    .unwrap();
    assert!(!elsewhere, "a new thread starts with no bug planted");
    assert!(
        planted(Bug::DonorForgetsOutboxOnRestart) && !planted(Bug::CentralClosesBeforeLastReceipt),
        "the other thread's planting did not reach this one"
    );
}
