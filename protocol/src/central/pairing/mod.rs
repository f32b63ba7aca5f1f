//! Who helps whom: pairing accepted cases with donor provinces (PROTOCOL.md
//! step 6, and the replacement of step 15). Pure functions, deterministic.
//!
//! - this file: the types both modes share, and the replacement of a
//!   released donor.
//! - `shares`: [`split_targets`], a case's targets split among its donors in
//!   proportion to their pools.
//! - [`historical`]: replays the scenario's pinned pairings (the 2020 table).
//! - [`optimized`]: computes the pairing from capacity and need, round by
//!   round, each round an exact min-cost assignment.
//! - [`assignment`]: the rectangular min-cost assignment solver.

pub mod assignment;
#[cfg(test)]
pub(crate) mod fixtures;
mod historical;
mod optimized;
mod shares;

use counterpart_domain::quantities::Quantities;

use counterpart_domain::scenario::Rules;

pub use assignment::{min_cost_assignment, min_cost_assignment_flat};
pub use historical::historical;
pub use optimized::{optimized, MAX_ROUNDS};
pub use shares::split_targets;

/// What a donor province can still give, as it last reported.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorCapacity {
    pub province_id: String,
    pub pool: Quantities,
    pub outbreak_level: i32,
}

/// An accepted case waiting for donors.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseNeed {
    pub case_id: String,
    pub city_id: String,
    /// What the donors together must deliver (already under the intensity cap).
    pub targets: Quantities,
    /// How much an uncovered target of this case counts: its severity weight.
    pub weight: f64,
}

/// One donor chosen for a case, with the explanation sent to the city.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenDonor {
    pub province_id: String,
    /// In [0, 1]; higher is a better match.
    pub score: f64,
    /// A sentence with the numbers behind the choice.
    pub reason: String,
    /// This donor's part of the case's targets.
    pub share: Quantities,
}

/// The donors of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct PairingDecision {
    pub case_id: String,
    pub city_id: String,
    pub donors: Vec<ChosenDonor>,
}

/// The best single replacement for a released donor (PROTOCOL.md step 15):
/// among eligible donors (not `rules.must_release` at their outbreak level) not in
/// `exclude`, the one whose pool covers the largest part of
/// `remaining_targets`, counting each type as a fraction of its target; ties
/// go to the smaller province id. Its share is the whole of
/// `remaining_targets` (the released donor's undelivered targets); its score
/// is the fraction of them its pool covers. `None` when nothing remains to
/// deliver or no eligible donor has any of it.
pub fn replacement(
    remaining_targets: &Quantities,
    donors: &[DonorCapacity],
    exclude: &[String],
    rules: &Rules,
) -> Option<ChosenDonor> {
    let share = positive(remaining_targets);
    if share.is_empty() {
        return None;
    }
    let (coverage, donor) = donors
        .iter()
        .filter(|d| !rules.must_release(d.outbreak_level) && !exclude.contains(&d.province_id))
        .map(|d| (covered_fraction(&share, &d.pool), d))
        .filter(|(coverage, _)| *coverage > 0.0)
        .max_by(|(ca, a), (cb, b)| {
            ca.total_cmp(cb)
                .then_with(|| b.province_id.cmp(&a.province_id))
        })?;
    Some(ChosenDonor {
        province_id: donor.province_id.clone(),
        score: coverage,
        reason: format!(
            "replacement: pool covers {:.0}% of the released donor's remaining targets ({} types)",
            coverage * 100.0,
            share.len()
        ),
        share,
    })
}

/// Mean over the types of `targets` of min(1, pool / target), in [0, 1];
/// 1 when there is no target.
pub(crate) fn covered_fraction(targets: &Quantities, pool: &Quantities) -> f64 {
    let targets = positive(targets);
    if targets.is_empty() {
        return 1.0;
    }
    let sum: f64 = targets
        .iter()
        .map(|(t, &q)| pool.get(t).copied().unwrap_or(0).clamp(0, q) as f64 / q as f64)
        .sum();
    sum / targets.len() as f64
}

/// The entries above zero: zero and negative quantities carry no target.
pub(crate) fn positive(quantities: &Quantities) -> Quantities {
    quantities
        .iter()
        .filter(|(_, &q)| q > 0)
        .map(|(&t, &q)| (t, q))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::pairing::fixtures::rules;
    use pairing_proto::resource::ResourceType;
    use ResourceType::{Doctor, MaskN95, Nurse};

    fn donor(id: &str, pool: &[(ResourceType, i64)], outbreak_level: i32) -> DonorCapacity {
        DonorCapacity {
            province_id: id.into(),
            pool: pool.iter().copied().collect(),
            outbreak_level,
        }
    }

    #[test]
    fn replacement_takes_the_largest_coverage_among_eligible_donors() {
        let remaining = Quantities::from([(Doctor, 100), (Nurse, 200)]);
        let donors = [
            donor("anhui", &[(Doctor, 50)], 0),                  // covers 25%
            donor("beijing", &[(Doctor, 500), (Nurse, 500)], 2), // hit by its own outbreak
            donor("chongqing", &[(Doctor, 100), (Nurse, 100)], 0), // covers 75%
            donor("dalian", &[(Doctor, 100), (Nurse, 200)], 0),  // covers all, but excluded
        ];
        let chosen =
            replacement(&remaining, &donors, &["dalian".into()], &rules()).expect("a replacement");
        assert_eq!(chosen.province_id, "chongqing");
        assert!((chosen.score - 0.75).abs() < 1e-12);
        assert_eq!(chosen.share, remaining);
        assert!(chosen.reason.contains("75%"), "{}", chosen.reason);
    }

    #[test]
    fn replacement_ties_go_to_the_smaller_province_id() {
        let remaining = Quantities::from([(MaskN95, 1000)]);
        let donors = [
            donor("zhejiang", &[(MaskN95, 5000)], 0),
            donor("hebei", &[(MaskN95, 1000)], 0),
        ];
        assert_eq!(
            replacement(&remaining, &donors, &[], &rules())
                .unwrap()
                .province_id,
            "hebei"
        );
    }

    #[test]
    fn no_replacement_when_nothing_remains_or_nobody_has_it() {
        let donors = [donor("hebei", &[(MaskN95, 1000)], 0)];
        assert_eq!(
            replacement(&Quantities::new(), &donors, &[], &rules()),
            None
        );
        assert_eq!(
            replacement(&Quantities::from([(Doctor, 0)]), &donors, &[], &rules()),
            None
        );
        assert_eq!(
            replacement(&Quantities::from([(Doctor, 10)]), &donors, &[], &rules()),
            None
        );
    }
}
