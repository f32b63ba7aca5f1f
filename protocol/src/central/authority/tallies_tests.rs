//! The cities' daily tallies at central: kept a record per city and day,
//! written only where a report brings something new, restored from the
//! journal; a malformed tally, or one in a donor's report, refused by
//! field with nothing changed.

use counterpart_domain::journal::{self, Change, Records};
use pairing_proto::v1::{DailyCount, DailyItem, DailyTally, SupervisoryReport};

use super::persist::kind;
use super::tests::{at, header, paired, receipt_report, shipment_report, small, BOOT};
use super::Authority;
use crate::persist::Persistent;
use crate::refusal::RefusalCode;

fn tallies(days: std::ops::Range<i32>) -> Vec<DailyTally> {
    days.map(|day| DailyTally {
        day,
        counts: vec![
            DailyCount {
                item: DailyItem::Active as i32,
                value: 100 + i64::from(day),
            },
            DailyCount {
                item: DailyItem::Deaths as i32,
                value: 1,
            },
        ],
    })
    .collect()
}

/// South's report at `now` of its one receipt (at day 4.5) and `days`.
fn city_report(days: std::ops::Range<i32>, now: f64) -> SupervisoryReport {
    let mut report = receipt_report("south", "case-south-1", "shp-1", 5, at(4.5));
    report.header = header("south", at(now));
    report.daily_tallies = tallies(days);
    report
}

fn tally_writes(changes: &[Change]) -> usize {
    changes
        .iter()
        .filter(|c| matches!(c, Change::Put { key, .. } if key.kind == kind::TALLY))
        .count()
}

#[test]
fn a_citys_tallies_are_kept_a_record_per_day_and_survive_a_restart() {
    let (mut a, _) = paired();
    let mut records = Records::new();
    journal::apply(&mut records, a.take_changes().unwrap());
    let shipped = shipment_report("alpha", "case-south-1", "shp-1", 5, at(4.0), false);
    a.submit_report(&shipped, at(4.0)).unwrap();
    a.submit_report(&city_report(-2..4, 4.5), at(4.5)).unwrap();
    let first = a.take_changes().unwrap();
    assert_eq!(tally_writes(&first), 6, "one record per day");
    journal::apply(&mut records, first);
    a.submit_report(&city_report(-2..5, 5.5), at(5.5)).unwrap();
    let second = a.take_changes().unwrap();
    assert_eq!(tally_writes(&second), 1, "only the new day is written");
    journal::apply(&mut records, second);
    let days: Vec<i64> = a.tallies_of("south").iter().map(|t| t.day).collect();
    assert_eq!(days, (-2..5).collect::<Vec<_>>());
    assert_eq!(a.tallies_of("south")[3].get(DailyItem::Active), Some(101));
    assert!(a.tallies_of("north").is_empty());
    let restored = Authority::restore(small(), &records, BOOT + 1).unwrap();
    assert_eq!(restored.tallies_of("south"), a.tallies_of("south"));
}

#[test]
fn a_malformed_tally_or_a_donors_tally_is_refused_by_field() {
    let (mut a, _) = paired();
    let mut report = city_report(0..2, 4.5);
    report.daily_tallies[1].counts.push(DailyCount {
        item: DailyItem::Deaths as i32,
        value: 2,
    });
    let refusal = a.submit_report(&report, at(4.5)).unwrap_err();
    assert_eq!(refusal.code(), RefusalCode::InvalidArgument);
    assert!(
        refusal
            .message()
            .starts_with("daily_tallies[1].counts[2].item"),
        "{refusal:?}"
    );
    assert!(a.tallies_of("south").is_empty(), "nothing kept");
    let mut donor = shipment_report("alpha", "case-south-1", "shp-1", 5, at(4.0), false);
    donor.daily_tallies = tallies(0..1);
    let refusal = a.submit_report(&donor, at(4.0)).unwrap_err();
    assert_eq!(refusal.code(), RefusalCode::InvalidArgument);
    assert!(
        refusal.message().starts_with("daily_tallies"),
        "{refusal:?}"
    );
}

/// A city keeps its latest [`tally::MAX_DAYS`] days at central: a report
/// that takes it past them drops (and deletes from the journal) the
/// oldest; a report that brings no new day leaves them as they are.
#[test]
fn a_city_keeps_its_latest_days_and_no_more() {
    use counterpart_domain::tally;
    let (mut a, _) = paired();
    let max = tally::MAX_DAYS as i32;
    a.submit_report(&city_report(0..max, 4.5), at(4.5)).unwrap();
    a.take_changes().unwrap();
    a.submit_report(&city_report(10..max + 10, 5.5), at(5.5))
        .unwrap();
    let changes = a.take_changes().unwrap();
    let deleted = changes
        .iter()
        .filter(|c| matches!(c, Change::Delete { key } if key.kind == kind::TALLY))
        .count();
    assert_eq!((tally_writes(&changes), deleted), (10, 10));
    let days =
        |a: &Authority| -> Vec<i64> { a.tallies_of("south").iter().map(|t| t.day).collect() };
    assert_eq!(days(&a), (10..i64::from(max) + 10).collect::<Vec<_>>());
    // The same days again, one of them corrected: nothing is dropped.
    let mut again = city_report(10..max + 10, 6.5);
    again.daily_tallies[0].counts[1].value = 2;
    a.submit_report(&again, at(6.5)).unwrap();
    assert_eq!(days(&a), (10..i64::from(max) + 10).collect::<Vec<_>>());
}
