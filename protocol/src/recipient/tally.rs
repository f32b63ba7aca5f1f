//! The city's daily tally ([`counterpart_domain::tally`]) for its
//! supervisory reports: its course under the care its own books say it had
//! (its beds and staff, and what it recorded receiving, when), a day at a
//! time as each day ends. Central computes the same course from its ledger;
//! the run report shows where the two differ.

use std::sync::Arc;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::outcomes::{self, Aid, Arrival, CALIBRATED};
use counterpart_domain::tally;
use pairing_proto::v1::DailyTally;

use super::{Demobilisation, Recipient};

impl Recipient {
    /// Whether the city tallies its days now: while its case is open and
    /// it has not asked to demobilise. Once it asks, central may send the
    /// teams home at any moment, and the city would not know from when to
    /// count them gone; its tally ends with the days before, which both
    /// books agree on.
    pub(super) fn tallying(&self) -> bool {
        self.open_case_id().is_some()
            && self
                .case
                .as_ref()
                .is_some_and(|c| c.demobilisation == Demobilisation::NotYet)
    }

    /// Extends the city's course through the last whole day before `now`.
    /// A day is tallied once: arrivals come in time order, so what was on
    /// hand at a past day's noon no longer changes.
    pub(super) fn tally_whole_days(&mut self, now: ScenarioTime) {
        let until = now.days().floor() as i64;
        if self.course.last().is_some_and(|d| d.day + 1 >= until) {
            return;
        }
        let aid = self.aid();
        let seed = self.clock.map_or(0, |c| c.seed);
        let scenario = Arc::clone(&self.scenario);
        let city = &scenario.cities[self.city_index];
        outcomes::extend(
            &scenario,
            city,
            &aid,
            &CALIBRATED,
            seed,
            &mut self.course,
            until,
        );
    }

    /// What arrived, from the city's books. Teams stay while the city
    /// tallies ([`Recipient::tallying`]).
    fn aid(&self) -> Aid {
        let mut arrivals: Vec<Arrival> = self
            .shipments
            .values()
            .map(|s| Arrival {
                at: ScenarioTime(s.receipt.message().received_at_ms),
                received: s.received.clone(),
            })
            .collect();
        arrivals.sort_by_key(|a| a.at);
        Aid {
            arrivals,
            teams_left_at: None,
        }
    }

    /// The tallies a report carries: every whole day so far, the latest
    /// [`tally::MAX_DAYS`].
    pub(super) fn daily_tallies(&self) -> Vec<DailyTally> {
        let skip = self.course.len().saturating_sub(tally::MAX_DAYS);
        self.course[skip..]
            .iter()
            .map(|day| {
                #[allow(unused_mut)]
                let mut t = tally::to_wire(day);
                #[cfg(feature = "planted-bugs")]
                planted_deaths_twice(&mut t);
                t
            })
            .collect()
    }
}

/// Planted bug, test builds only: the city counts each day's deaths twice.
#[cfg(feature = "planted-bugs")]
fn planted_deaths_twice(t: &mut DailyTally) {
    use crate::planted::{planted, Bug};
    use pairing_proto::v1::DailyItem;
    if planted(Bug::CityTalliesDeathsTwice) {
        for c in &mut t.counts {
            if c.item == DailyItem::Deaths as i32 {
                c.value *= 2;
            }
        }
    }
}
