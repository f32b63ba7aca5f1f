//! Step 16 with the long-stay scenario (deploy/scenarios/long-stay.toml,
//! constructed for this): patients stay in care 30 days, a city is quiet
//! after 14. The city keeps its donors while its active cases exceed its own
//! capacity, asks once they fit it, and once its case is closed does not
//! ask for help again.

use std::path::Path;

use counterpart_domain::needs::{self, TreatmentResources};
use counterpart_domain::scenario::{self, Scenario};
use pairing_proto::v1::Situation;

use super::reporting::{close, is_demobilisation, run_answered, times_of};
use super::*;

/// Ticks run to here: the scenario's end date, 15 Apr 2020.
const END_HOUR: i64 = 24 * 68;

fn long_stay() -> Scenario {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/long-stay.toml"
    );
    scenario::load(Path::new(path)).expect("the long-stay scenario loads")
}

/// The cases the city can treat with its own beds, doctors and nurses,
/// worked out here from the scenario rather than by the rule under test.
fn own_capacity(m: &Recipient) -> i64 {
    let city = m.city();
    let own = TreatmentResources {
        beds: city.beds,
        doctors: city.local_doctors,
        nurses: city.local_nurses,
    };
    needs::capacity_cases(own, &m.scenario.needs_per_active_case)
}

/// The first hour from `from` on at which `holds`.
fn first_hour(from: i64, holds: impl Fn(i64) -> bool) -> i64 {
    (from..END_HOUR)
        .find(|&h| holds(h))
        .expect("it happens before the scenario ends")
}

/// The hours at which the city turns quiet, and at which its active cases
/// then come within the share of its own capacity at which it would not
/// ask for help again.
fn quiet_and_fit_hours(m: &Recipient) -> (i64, i64) {
    let at = |h| m.situation(hours(h));
    let rules = &m.scenario.rules;
    let quiet_days = i64::from(rules.quiet_days_to_demobilise);
    let quiet = first_hour(0, |h| at(h).days_without_new_cases >= quiet_days);
    let limit = rules.request_threshold.min(1.0) * own_capacity(m) as f64;
    let fit = first_hour(quiet, |h| at(h).active_cases as f64 <= limit);
    (quiet, fit)
}

/// The situation each demobilisation request carried.
fn requested_situations(sent: &[(ScenarioTime, Outbound)]) -> Vec<Situation> {
    sent.iter()
        .filter_map(|(_, o)| match o {
            Outbound::DemobilisationRequest(r) => r.situation,
            _ => None,
        })
        .collect()
}

#[test]
fn a_quiet_city_keeps_its_donors_until_its_active_cases_fit_its_own_capacity() {
    for city in ["north", "south"] {
        let mut m = started_as(long_stay(), city);
        let accepted = open_case(&mut m);
        let sent = run_answered(&mut m, accepted, END_HOUR);
        let (quiet, fit) = quiet_and_fit_hours(&m);
        let own = own_capacity(&m);
        // What the scenario is for: days of quiet with active cases still
        // above the city's own capacity.
        assert!(
            fit - quiet >= 24 * 7,
            "{city}: quiet at {quiet} h, fit at {fit} h"
        );
        let active_when_quiet = m.situation(hours(quiet)).active_cases;
        assert!(
            active_when_quiet > 2 * own,
            "{city}: {active_when_quiet} of {own}"
        );
        assert_eq!(
            times_of(&sent, is_demobilisation),
            [hours(fit + 1)],
            "{city}: once, the tick after the report that follows the need met"
        );
        for s in requested_situations(&sent) {
            assert!(s.active_cases <= own, "{city}: asked with {s:?}");
        }
    }
}

#[test]
fn once_its_case_is_closed_a_city_whose_need_is_met_does_not_ask_again() {
    for city in ["north", "south"] {
        let mut m = started_as(long_stay(), city);
        let accepted = open_case(&mut m);
        let mut h = accepted;
        while !run_answered(&mut m, h, h + 1)
            .iter()
            .any(|(_, o)| is_demobilisation(o))
        {
            h += 1;
            assert!(h < END_HOUR, "{city} never asked to demobilise");
        }
        // Central closes the case a day after the request.
        close(&mut m, hours(h + 24));
        let after = run_answered(&mut m, h + 24, END_HOUR);
        let requests: Vec<_> = after
            .iter()
            .filter(|(_, o)| matches!(o, Outbound::AssistanceRequest(_)))
            .collect();
        assert!(requests.is_empty(), "{city} asked again: {requests:?}");
        assert_eq!(m.requests_made(), 1, "{city}");
    }
}
