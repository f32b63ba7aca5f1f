//! The cities' daily tallies ([`counterpart_domain::tally`]), from their
//! supervisory reports. A report carries every whole day so far; central
//! keeps a record per city and day, so a report writes only the days that
//! are new or changed, and a resent older report changes nothing it has
//! not seen differently.

use counterpart_domain::tally::{self, Tally};

use super::persist::kind;
use super::Authority;

/// The record key of `city_id`'s tally of `day`. City ids are scenario ids
/// (`[a-z][a-z0-9-]*`, no '/'), so a city's records are the keys after
/// "city/".
fn key(city_id: &str, day: i64) -> String {
    format!("{city_id}/{day}")
}

fn prefix(city_id: &str) -> String {
    format!("{city_id}/")
}

impl Authority {
    /// Takes in `city_id`'s tallies as reported; a city keeps at most
    /// [`tally::MAX_DAYS`] days, its latest.
    pub(super) fn record_tallies(&mut self, city_id: &str, tallies: Vec<Tally>) {
        let mut new_days = false;
        for t in tallies {
            let key = key(city_id, t.day);
            if self.tallies.get(&key) != Some(&t) {
                self.unsaved.mark(kind::TALLY, &key);
                new_days |= self.tallies.insert(key, t).is_none();
            }
        }
        // Only a new day can take the city past the bound; most reports
        // bring none, and this runs under the lock on every one.
        if !new_days {
            return;
        }
        let mut days: Vec<i64> = self.tallies_of(city_id).iter().map(|t| t.day).collect();
        if days.len() > tally::MAX_DAYS {
            days.truncate(days.len() - tally::MAX_DAYS);
            for day in days {
                let key = key(city_id, day);
                self.tallies.remove(&key);
                self.unsaved.mark(kind::TALLY, &key);
            }
        }
    }

    /// `city_id`'s tallies as it reported them, by day.
    pub fn tallies_of(&self, city_id: &str) -> Vec<&Tally> {
        let prefix = prefix(city_id);
        let mut days: Vec<&Tally> = self
            .tallies
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, t)| t)
            .collect();
        days.sort_by_key(|t| t.day);
        days
    }
}
