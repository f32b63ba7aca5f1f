//! A report's records are checked before the lock (`ReportRecords::of`),
//! but refused where the checks that need central's state reach them: a
//! resend still gets its first answer, and a report with several faults
//! the refusal of the first check it fails, as when every check ran under
//! the lock in one order. And a case's history stops growing with reports
//! at its bound, while the reports still count.

use pairing_proto::v1::{DailyCount, DailyItem, DailyTally, SupervisoryReport};

use super::tests::{acknowledge, at, header, overwhelmed, paired, receipt_report, shipment_report};
use super::{Authority, ReportRecords};
use crate::central::case::{Step, MAX_EVENTS_WITH_REPORTS};
use crate::refusal::{Refusal, RefusalCode};

/// South's report of one receipt, made malformed: a blank shipment id.
fn bad_receipts(now: f64) -> SupervisoryReport {
    let mut report = receipt_report("south", "case-south-1", "shp-1", 5, at(now));
    report.receipts[0].shipment_id.clear();
    report
}

/// A tally of a day with an item no release knows.
fn bad_tallies() -> Vec<DailyTally> {
    vec![DailyTally {
        day: 1,
        counts: vec![DailyCount {
            item: DailyItem::Unspecified as i32,
            value: 1,
        }],
    }]
}

/// Alpha paired with south, its first shipment reported.
fn shipped() -> Authority {
    let (mut a, _) = paired();
    acknowledge(&mut a, "alpha", "asg-case-south-1-alpha", at(3.3)).unwrap();
    let report = shipment_report("alpha", "case-south-1", "shp-1", 5, at(4.0), false);
    a.submit_report(&report, at(4.0)).unwrap();
    a
}

fn refused(a: &mut Authority, report: &SupervisoryReport) -> Refusal {
    let now = at(5.0);
    let refusal = a
        .submit_checked_report(report, ReportRecords::of(report), now)
        .expect_err("a report with a fault is refused");
    // The service's path and the one-call path are one path.
    assert_eq!(a.submit_report(report, now).unwrap_err(), refusal);
    refusal
}

fn assert_names(refusal: &Refusal, code: RefusalCode, field: &str) {
    assert_eq!(refusal.code(), code, "{refusal:?}");
    assert!(refusal.message().starts_with(field), "{refusal:?}");
}

#[test]
fn a_resend_is_answered_before_its_records_are_read() {
    let mut a = shipped();
    let report = receipt_report("south", "case-south-1", "shp-1", 5, at(4.5));
    assert!(!a.submit_report(&report, at(4.5)).unwrap().duplicate);
    // The same message id again, its records now malformed: a resend is
    // answered as the first was, whatever it carries.
    let mut resent = bad_receipts(4.5);
    resent.header = report.header.clone();
    let ack = a
        .submit_checked_report(&resent, ReportRecords::of(&resent), at(5.0))
        .unwrap();
    assert!(ack.duplicate);
}

#[test]
fn the_case_is_checked_before_the_records() {
    let mut a = shipped();
    let mut report = bad_receipts(5.0);
    report.case_id = "case-nowhere".into();
    assert_names(&refused(&mut a, &report), RefusalCode::NotFound, "case_id");
    // Another city's case: the sender is checked before its records too.
    report.case_id = "case-south-1".into();
    report.header = header("north", at(5.0));
    let refusal = refused(&mut a, &report);
    assert_names(&refusal, RefusalCode::PermissionDenied, "case_id");
}

#[test]
fn a_citys_situation_then_receipts_then_tallies() {
    let mut a = shipped();
    let mut report = bad_receipts(5.0);
    report.daily_tallies = bad_tallies();
    report.situation = None;
    let refusal = refused(&mut a, &report);
    assert_names(&refusal, RefusalCode::InvalidArgument, "situation");
    report.situation = receipt_report("south", "case-south-1", "shp-1", 5, at(5.0)).situation;
    let refusal = refused(&mut a, &report);
    assert_names(
        &refusal,
        RefusalCode::InvalidArgument,
        "receipts[0].shipment_id",
    );
    report.receipts = receipt_report("south", "case-south-1", "shp-1", 5, at(5.0)).receipts;
    let refusal = refused(&mut a, &report);
    assert_names(&refusal, RefusalCode::InvalidArgument, "daily_tallies");
}

#[test]
fn a_donors_tallies_are_refused_before_its_shipments_are_read() {
    let mut a = shipped();
    let mut report = shipment_report("alpha", "case-south-1", "", 5, at(5.0), false);
    report.daily_tallies = bad_tallies();
    let refusal = refused(&mut a, &report);
    assert_names(&refusal, RefusalCode::InvalidArgument, "daily_tallies");
    report.daily_tallies.clear();
    let refusal = refused(&mut a, &report);
    assert_names(
        &refusal,
        RefusalCode::InvalidArgument,
        "shipments[0].shipment_id",
    );
}

#[test]
fn a_full_history_records_no_more_reports_but_they_still_count() {
    let mut a = shipped();
    let case = "case-south-1";
    let events = |a: &Authority| a.cases[case].events.len();
    let mut reports = 0;
    while events(&a) < MAX_EVENTS_WITH_REPORTS + 10 && reports < MAX_EVENTS_WITH_REPORTS + 10 {
        let report = receipt_report("south", case, "shp-1", 5, at(4.5));
        a.submit_report(&report, at(4.5)).unwrap();
        reports += 1;
    }
    assert_eq!(
        events(&a),
        MAX_EVENTS_WITH_REPORTS,
        "after {reports} reports"
    );
    let last = a.cases[case].events.last().unwrap();
    assert_eq!(last.step, Step::Reported);
    assert!(
        last.detail.ends_with("later reports are not recorded"),
        "{last:?}"
    );
    // A report past the bound still counts: the need it shows outgrew the
    // targets, which are raised, and that step is recorded.
    let mut report = receipt_report("south", case, "shp-1", 5, at(4.5));
    report.header = header("south", at(5.0));
    let mut worse = overwhelmed();
    worse.confirmed_total = 20_000;
    worse.active_cases = 18_000;
    report.situation = Some(worse);
    a.submit_report(&report, at(5.0)).unwrap();
    assert_eq!(a.cases[case].target_changes, 1, "the report counted");
    let last = a.cases[case].events.last().unwrap();
    assert_eq!(last.step, Step::Adjusted, "{last:?}");
    assert_eq!(events(&a), MAX_EVENTS_WITH_REPORTS + 1);
}
