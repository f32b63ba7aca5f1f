use super::*;
use crate::outcomes::{self, Aid, CALIBRATED};
use crate::scenario::Scenario;

fn hubei() -> Scenario {
    let text = include_str!("../../deploy/scenarios/hubei-2020.toml");
    crate::scenario::parse(text, "hubei-2020.toml").expect("hubei-2020 loads")
}

fn course() -> Vec<CityDay> {
    let s = hubei();
    let city = s.city("xiaogan").unwrap();
    outcomes::course(&s, city, &Aid::default(), &CALIBRATED, 3).days
}

#[test]
fn a_tally_read_back_agrees_with_the_course_it_came_from() {
    let days = course();
    let wire: Vec<DailyTally> = days.iter().map(to_wire).collect();
    let read = from_wire(&wire).unwrap();
    assert_eq!(read.len(), days.len());
    let read_days: Vec<&Tally> = read.iter().collect();
    assert_eq!(disagreements(&read_days, &days), Vec::<String>::new());
    assert_eq!(read[3].get(DailyItem::Active), Some(days[3].active));
}

#[test]
fn a_wrong_figure_is_named_by_day_and_item() {
    let days = course();
    let mut read = from_wire(&days.iter().map(to_wire).collect::<Vec<_>>()).unwrap();
    let day = days
        .iter()
        .position(|d| d.deaths > 0)
        .expect("a day with deaths");
    read[day]
        .counts
        .insert(DailyItem::Deaths as i32, days[day].deaths * 2);
    let lines = disagreements(&read.iter().collect::<Vec<_>>(), &days);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("DAILY_ITEM_DEATHS"), "{lines:?}");
    assert!(lines[0].starts_with(&format!("day {} ", days[day].day)));
}

#[test]
fn every_item_has_its_own_number_and_the_table_names_each_once() {
    let numbers: std::collections::BTreeSet<i32> = ITEMS.iter().map(|(i, _)| *i as i32).collect();
    assert_eq!(numbers.len(), ITEMS.len());
    assert!(!numbers.contains(&0), "0 is unspecified");
}

#[test]
fn unknown_items_are_skipped_and_bad_ones_refused_by_field() {
    let count = |item, value| DailyCount { item, value };
    let day = |day, counts| DailyTally { day, counts };
    let read = from_wire(&[day(1, vec![count(1, 5), count(999, 7)])]).unwrap();
    assert_eq!(read[0].counts, BTreeMap::from([(1, 5)]));
    let cases = [
        (
            vec![day(1, vec![count(0, 1)])],
            "daily_tallies[0].counts[0].item",
        ),
        (
            vec![day(1, vec![count(1, -1)])],
            "daily_tallies[0].counts[0].value",
        ),
        (
            vec![day(1, vec![count(1, 1), count(1, 2)])],
            "daily_tallies[0].counts[1].item",
        ),
        (vec![day(2, vec![]), day(2, vec![])], "daily_tallies[1].day"),
        (vec![day(i32::MAX, vec![])], "daily_tallies[0].day"),
        (vec![day(0, vec![]); MAX_DAYS + 1], "daily_tallies:"),
    ];
    for (tallies, field) in cases {
        let error = from_wire(&tallies).unwrap_err();
        assert!(error.starts_with(field), "{field}: {error}");
    }
}
