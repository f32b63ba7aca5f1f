//! A city's daily tally on the wire, in the manner of the WHO Emergency
//! Medical Team Minimum Data Set's daily report: each day of the city's
//! course ([`CityDay`]) as numbered items ([`DailyItem`]).
//!
//! The numbers are declared once, in the proto's `DailyItem` enum, where
//! the compat gate keeps a number from ever being reused for another
//! meaning. [`ITEMS`] is the one place a number meets the model's figure.
//! A reader keeps the items it knows and skips the others (a newer city's),
//! so adding an item needs no new protocol version.
//!
//! The city computes its tally from its own books (its curve, its beds and
//! staff, what it recorded receiving); central computes the same course
//! from its ledger ([`disagreements`] compares them), so the run report's
//! outcomes rest on two independent books, as its shipments do.

use std::collections::BTreeMap;

use pairing_proto::v1::{DailyCount, DailyItem, DailyTally};
use serde::{Deserialize, Serialize};

use crate::outcomes::CityDay;

/// How an item's figure is read off a day of the course.
pub type Figure = fn(&CityDay) -> i64;

/// Every item a tally carries, and the figure of the day it is.
pub const ITEMS: [(DailyItem, Figure); 12] = [
    (DailyItem::Active, |d| d.active),
    (DailyItem::Severe, |d| d.severe),
    (DailyItem::Critical, |d| d.critical),
    (DailyItem::TreatmentPlaces, |d| d.capacity),
    (DailyItem::Ventilators, |d| d.ventilators),
    (DailyItem::Treated, |d| d.treated),
    (DailyItem::Untreated, |d| d.untreated),
    (DailyItem::CriticalUntreated, |d| d.critical_untreated),
    (DailyItem::SevereUntreated, |d| d.severe_untreated),
    (DailyItem::TreatedByAid, |d| d.treated_by_aid),
    (DailyItem::Deaths, |d| d.deaths),
    (DailyItem::RecoveredToDate, |d| d.recovered_to_date),
];

/// Days one report carries at most: a year, the latest.
pub const MAX_DAYS: usize = 366;
/// Items one day may carry: room for new ones, a bound on central's memory.
pub const MAX_ITEMS: usize = 64;
/// The largest figure an item may have (more people than live in China).
pub const MAX_VALUE: i64 = 2_000_000_000;
/// The earliest and latest day a tally may name (days from the start).
pub const DAY_RANGE: std::ops::RangeInclusive<i32> = -3_660..=3_660;

/// One day's tally as central keeps it: item number to figure, for the
/// items this build knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub day: i64,
    pub counts: BTreeMap<i32, i64>,
}

impl Tally {
    /// The figure of `item`, if the tally carried it.
    pub fn get(&self, item: DailyItem) -> Option<i64> {
        self.counts.get(&(item as i32)).copied()
    }
}

/// `day` as the city sends it.
pub fn to_wire(day: &CityDay) -> DailyTally {
    DailyTally {
        day: i32::try_from(day.day).expect("a course's days fit an i32"),
        counts: ITEMS
            .iter()
            .map(|(item, figure)| DailyCount {
                item: *item as i32,
                value: figure(day),
            })
            .collect(),
    }
}

/// The tallies of a report, checked: at most [`MAX_DAYS`], days in
/// increasing order, every item named once with a figure in range. Items
/// this build does not know are skipped. The error names the field; its
/// name is only built for an error, since central reads every city's
/// whole tally on each of its reports.
pub fn from_wire(tallies: &[DailyTally]) -> Result<Vec<Tally>, String> {
    if tallies.len() > MAX_DAYS {
        return Err(format!(
            "daily_tallies: {} days, at most {MAX_DAYS}",
            tallies.len()
        ));
    }
    let mut read: Vec<Tally> = Vec::with_capacity(tallies.len());
    for (i, t) in tallies.iter().enumerate() {
        if !DAY_RANGE.contains(&t.day) {
            return Err(format!(
                "daily_tallies[{i}].day: {} is outside {DAY_RANGE:?}",
                t.day
            ));
        }
        if let Some(before) = read.last().filter(|b| b.day >= i64::from(t.day)) {
            return Err(format!(
                "daily_tallies[{i}].day: {} does not follow day {}",
                t.day, before.day
            ));
        }
        let counts = counts(&t.counts).map_err(|e| format!("daily_tallies[{i}].{e}"))?;
        read.push(Tally {
            day: i64::from(t.day),
            counts,
        });
    }
    Ok(read)
}

/// One day's counts, checked; an error names the field from `counts` on.
fn counts(counts: &[DailyCount]) -> Result<BTreeMap<i32, i64>, String> {
    if counts.len() > MAX_ITEMS {
        return Err(format!(
            "counts: {} items, at most {MAX_ITEMS}",
            counts.len()
        ));
    }
    let mut known = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (j, c) in counts.iter().enumerate() {
        if c.item == DailyItem::Unspecified as i32 {
            return Err(format!("counts[{j}].item: unspecified"));
        }
        if !seen.insert(c.item) {
            return Err(format!("counts[{j}].item: {} is counted twice", c.item));
        }
        if !(0..=MAX_VALUE).contains(&c.value) {
            return Err(format!(
                "counts[{j}].value: {} is outside 0..={MAX_VALUE}",
                c.value
            ));
        }
        if DailyItem::try_from(c.item).is_ok() {
            known.insert(c.item, c.value);
        }
    }
    Ok(known)
}

/// Where the city's tallies and the course computed from central's ledger
/// differ, one line each (day, item, both figures); a day the course does
/// not have is a line too. Empty: the two books agree on every day the
/// city reported.
pub fn disagreements(reported: &[&Tally], course: &[CityDay]) -> Vec<String> {
    let by_day: BTreeMap<i64, &CityDay> = course.iter().map(|d| (d.day, d)).collect();
    let mut lines = Vec::new();
    for tally in reported {
        let Some(day) = by_day.get(&tally.day) else {
            lines.push(format!("day {}: not in the ledger's course", tally.day));
            continue;
        };
        for (item, figure) in ITEMS {
            let ledger = figure(day);
            match tally.get(item) {
                Some(city) if city == ledger => {}
                city => lines.push(format!(
                    "day {} {}: city {}, ledger {ledger}",
                    tally.day,
                    item.as_str_name(),
                    city.map_or("none".to_string(), |v| v.to_string()),
                )),
            }
        }
    }
    lines
}

#[cfg(test)]
#[path = "tally_tests.rs"]
mod tests;
