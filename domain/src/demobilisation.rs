//! When a city may ask to demobilise (protocol step 16): a case ends when
//! the need is met, not merely when new cases stop.
//!
//! The city applies [`may_demobilise`] to its own situation at every tick;
//! central applies it to the situation a `RequestDemobilisation` carries, to
//! record whether the request met the rule (it does not refuse one that does
//! not: cities of the previous release still ask on the quiet days alone).

use std::collections::BTreeMap;

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::Situation;

use crate::needs::{self, TreatmentResources};
use crate::scenario::Rules;

/// The active cases the city can treat with its own beds, doctors and
/// nurses: what is left when the donors' teams go home at demobilisation.
pub fn own_capacity_cases(situation: &Situation, rates: &BTreeMap<ResourceType, f64>) -> i64 {
    let own = TreatmentResources {
        beds: situation.beds,
        doctors: situation.local_doctors,
        nurses: situation.local_nurses,
    };
    needs::capacity_cases(own, rates)
}

/// Whether a city in `situation` may ask to demobilise. Both must hold:
///
/// - **quiet**: `quiet_days_to_demobilise` days without a new case;
/// - **need met**: its active cases within its own capacity
///   ([`own_capacity_cases`]) and no more than `request_threshold` times it,
///   so that once the donors' teams are home the city would not ask for
///   help again at once.
///
/// Both are read at the moment of the check, and that is enough: while the
/// city is quiet its confirmed count is flat and active cases (confirmed now
/// minus confirmed `recovery_days` ago, a cumulative curve) can only fall,
/// so once both hold they keep holding until a new case arrives, which
/// resets the quiet days anyway. Asking that the need be met for a further
/// period would only keep the donors' teams idle for it.
pub fn may_demobilise(
    situation: &Situation,
    rules: &Rules,
    rates: &BTreeMap<ResourceType, f64>,
) -> bool {
    let quiet = situation.days_without_new_cases >= i64::from(rules.quiet_days_to_demobilise);
    // A threshold above 1 asks for help only beyond the capacity; the need
    // is met only within it.
    let share = rules.request_threshold.min(1.0);
    let limit = share * own_capacity_cases(situation, rates) as f64;
    let need_met = situation.active_cases as f64 <= limit;
    quiet && need_met
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PairingMode;

    /// Rates of the scenarios (0.25 doctor, 0.5 nurse per active case).
    fn rates() -> BTreeMap<ResourceType, f64> {
        BTreeMap::from([(ResourceType::Doctor, 0.25), (ResourceType::Nurse, 0.5)])
    }

    /// 14 quiet days to demobilise, help asked above 0.9 of capacity.
    fn rules(request_threshold: f64) -> Rules {
        Rules {
            pairing_mode: PairingMode::Historical,
            decision_window_days: 3.0,
            report_interval_days: 2.0,
            evaluation_interval_days: 7.0,
            quiet_days_to_demobilise: 14,
            max_outbreak_level: 2,
            intensity_cap: 1.2,
            supervision: true,
            recovery_days: 30.0,
            severe_fraction: 0.0,
            critical_fraction: 0.0,
            request_threshold,
            transit_days: 0.3,
            transit_loss_rate: 0.0,
            mobilisation_days: 1.6,
            shipment_interval_days: 4.0,
        }
    }

    /// A city of 1500 beds, 100 doctors and 200 nurses: its own capacity
    /// is min(1500, 100 / 0.25, 200 / 0.5) = 400 cases.
    fn situation(active_cases: i64, days_without_new_cases: i64) -> Situation {
        Situation {
            active_cases,
            days_without_new_cases,
            beds: 1500,
            local_doctors: 100,
            local_nurses: 200,
            ..Default::default()
        }
    }

    fn may(active: i64, quiet_days: i64) -> bool {
        may_demobilise(&situation(active, quiet_days), &rules(0.9), &rates())
    }

    #[test]
    fn own_capacity_counts_only_the_city_s_own_beds_and_staff() {
        assert_eq!(own_capacity_cases(&situation(0, 0), &rates()), 400);
    }

    #[test]
    fn a_quiet_city_within_its_own_capacity_may_demobilise() {
        assert!(may(360, 14)); // 0.9 x 400
        assert!(may(0, 40));
    }

    #[test]
    fn a_quiet_city_above_its_own_capacity_may_not() {
        // The long-stay scenario's north on its 14th quiet day.
        assert!(!may(1024, 14));
        assert!(!may(1024, 60));
        // Within capacity but where it would ask for help again at once.
        assert!(!may(361, 14));
        assert!(!may(400, 14));
    }

    #[test]
    fn a_city_within_its_capacity_still_waits_for_the_quiet_days() {
        assert!(!may(0, 13));
        assert!(may(0, 14));
    }

    #[test]
    fn a_threshold_above_one_still_requires_the_cases_within_capacity() {
        let at = |active| may_demobilise(&situation(active, 14), &rules(1.5), &rates());
        assert!(at(400));
        assert!(!at(401));
    }
}
