use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::ResourceType;
use std::collections::BTreeMap;

use proptest::prelude::*;
use ResourceType::{Doctor, MaskN95, Nurse};

use super::*;
use crate::central::pairing::fixtures::rules;

fn case(id: &str, weight: f64, targets: &[(ResourceType, i64)]) -> CaseNeed {
    CaseNeed {
        case_id: id.into(),
        city_id: id.replace("case-", ""),
        targets: targets.iter().copied().collect(),
        weight,
    }
}

fn donor(id: &str, outbreak_level: i32, pool: &[(ResourceType, i64)]) -> DonorCapacity {
    DonorCapacity {
        province_id: id.into(),
        pool: pool.iter().copied().collect(),
        outbreak_level,
    }
}

fn ids(decision: &PairingDecision) -> Vec<&str> {
    decision
        .donors
        .iter()
        .map(|d| d.province_id.as_str())
        .collect()
}

#[test]
fn each_city_gets_the_donor_that_fits_it() {
    let cases = [
        case("case-a", 1.0, &[(Doctor, 100)]),
        case("case-b", 1.0, &[(MaskN95, 1000)]),
    ];
    let donors = [
        donor("masks", 0, &[(MaskN95, 5000)]),
        donor("staff", 0, &[(Doctor, 300)]),
    ];
    let decisions = optimized(&cases, &donors, &rules());
    assert_eq!(ids(&decisions[0]), ["staff"]);
    assert_eq!(ids(&decisions[1]), ["masks"]);
    let chosen = &decisions[0].donors[0];
    assert_eq!(chosen.share, Quantities::from([(Doctor, 100)]));
    assert_eq!(chosen.score, 1.0);
    assert_eq!(
        chosen.reason,
        "optimized round 1: covers 100% of targets, cost 0.00"
    );
}

#[test]
fn the_heavier_case_wins_the_scarce_donor() {
    let cases = [
        case("case-mild", 1.0, &[(Doctor, 100)]),
        case("case-worst", 3.0, &[(Doctor, 100)]),
    ];
    let donors = [
        donor("big", 0, &[(Doctor, 100)]),
        donor("small", 0, &[(Doctor, 20)]),
    ];
    let decisions = optimized(&cases, &donors, &rules());
    assert_eq!(ids(&decisions[1]), ["big"]);
    // The mild case takes the small donor in round 1; the big one is spent.
    assert_eq!(ids(&decisions[0]), ["small"]);
    let small = &decisions[0].donors[0];
    assert!((small.score - 0.2).abs() < 1e-12);
    assert_eq!(
        small.reason,
        "optimized round 1: covers 20% of targets, cost 0.80"
    );
}

#[test]
fn a_donor_hit_by_its_own_outbreak_is_not_paired() {
    let cases = [case("case-a", 1.0, &[(Doctor, 100)])];
    let donors = [
        donor("hit", 2, &[(Doctor, 1000)]),
        donor("spare", 1, &[(Doctor, 10)]),
    ];
    let decisions = optimized(&cases, &donors, &rules());
    assert_eq!(ids(&decisions[0])[0], "spare");
    assert!(!ids(&decisions[0]).contains(&"hit"));
}

#[test]
fn the_hardest_hit_city_gets_a_second_donor() {
    let cases = [case("case-big", 2.0, &[(Doctor, 100), (Nurse, 200)])];
    let donors = [
        donor("first", 0, &[(Doctor, 60), (Nurse, 150)]),
        donor("second", 0, &[(Doctor, 60), (Nurse, 60)]),
    ];
    let decisions = optimized(&cases, &donors, &rules());
    assert_eq!(ids(&decisions[0]), ["first", "second"]);
    let second = &decisions[0].donors[1];
    assert_eq!(second.share, Quantities::from([(Doctor, 40), (Nurse, 50)]));
    assert!(
        second
            .reason
            .starts_with("optimized round 2: covers 100% of the remaining targets"),
        "{}",
        second.reason
    );
}

#[test]
fn one_donor_may_serve_several_small_cities() {
    let cases = [
        case("case-qianjiang", 1.0, &[(Doctor, 5)]),
        case("case-tianmen", 1.0, &[(Doctor, 10)]),
        case("case-xiantao", 1.0, &[(Doctor, 20)]),
    ];
    let decisions = optimized(&cases, &[donor("shanxi", 0, &[(Doctor, 100)])], &rules());
    for d in &decisions {
        assert_eq!(ids(d), ["shanxi"], "{}", d.case_id);
        assert_eq!(d.donors[0].score, 1.0);
    }
    // A donor takes one new case per round, so three cases take three rounds.
    let mut rounds: Vec<&str> = decisions
        .iter()
        .map(|d| &d.donors[0].reason[..17])
        .collect();
    rounds.sort();
    assert_eq!(
        rounds,
        [
            "optimized round 1",
            "optimized round 2",
            "optimized round 3"
        ]
    );
}

#[test]
fn nobody_useful_means_no_donor_and_empty_targets_need_none() {
    let cases = [
        case("case-a", 1.0, &[(Nurse, 10)]),
        case("case-b", 1.0, &[(Doctor, 0)]),
    ];
    let decisions = optimized(&cases, &[donor("staff", 0, &[(Doctor, 300)])], &rules());
    assert!(decisions.iter().all(|d| d.donors.is_empty()));
    assert!(optimized(&[], &[], &rules()).is_empty());
}

fn small_instance() -> impl Strategy<Value = (Vec<CaseNeed>, Vec<DonorCapacity>)> {
    let types = prop::sample::select(vec![Doctor, Nurse, MaskN95]);
    let targets =
        prop::collection::btree_map(types.clone(), 1i64..50, 1..3).prop_map(Quantities::from);
    let pool = prop::collection::btree_map(types, 0i64..60, 0..3).prop_map(Quantities::from);
    let cases = prop::collection::vec((targets, 1u8..=3), 0..5).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(k, (targets, w))| CaseNeed {
                case_id: format!("case-{k}"),
                city_id: format!("c{k}"),
                targets,
                weight: w as f64,
            })
            .collect()
    });
    let donors = prop::collection::vec((pool, 0i32..3), 0..5).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(k, (pool, outbreak_level))| DonorCapacity {
                province_id: format!("p{k}"),
                pool,
                outbreak_level,
            })
            .collect()
    });
    (cases, donors)
}

/// The round-1 cost written out again, independently of the engine.
fn round_one_cost(case: &CaseNeed, pool: Option<&Quantities>) -> f64 {
    let left: f64 = case
        .targets
        .iter()
        .map(|(t, &target)| {
            let have = pool.and_then(|p| p.get(t)).copied().unwrap_or(0);
            (target - have.min(target)) as f64 / target as f64
        })
        .sum();
    case.weight * left
}

/// The least round-1 total over every one-to-one partial assignment.
fn brute_force(cases: &[CaseNeed], donors: &[&DonorCapacity]) -> f64 {
    fn go(cases: &[CaseNeed], donors: &[&DonorCapacity], used: &mut Vec<bool>, sum: f64) -> f64 {
        let Some((first, rest)) = cases.split_first() else {
            return sum;
        };
        let mut best = go(rest, donors, used, sum + round_one_cost(first, None));
        for j in 0..donors.len() {
            if !used[j] {
                used[j] = true;
                best = best.min(go(
                    rest,
                    donors,
                    used,
                    sum + round_one_cost(first, Some(&donors[j].pool)),
                ));
                used[j] = false;
            }
        }
        best
    }
    go(cases, donors, &mut vec![false; donors.len()], 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn round_one_is_optimal((cases, donors) in small_instance()) {
        let decisions = optimized(&cases, &donors, &rules());
        let engine: f64 = cases
            .iter()
            .zip(&decisions)
            .map(|(case, decision)| {
                let unassigned = round_one_cost(case, None);
                match decision.donors.iter().find(|d| d.reason.starts_with("optimized round 1:")) {
                    Some(d) => unassigned * (1.0 - d.score),
                    None => unassigned,
                }
            })
            .sum();
        let eligible: Vec<&DonorCapacity> = donors.iter().filter(|d| d.outbreak_level <= 1).collect();
        let best = brute_force(&cases, &eligible);
        prop_assert!((engine - best).abs() < 1e-9, "engine {} vs brute force {}", engine, best);
    }

    #[test]
    fn shares_stay_within_targets_and_pools((cases, donors) in small_instance()) {
        let decisions = optimized(&cases, &donors, &rules());
        let mut given: BTreeMap<&str, Quantities> = BTreeMap::new();
        for (case, decision) in cases.iter().zip(&decisions) {
            prop_assert_eq!(&case.case_id, &decision.case_id);
            let mut seen = std::collections::BTreeSet::new();
            let mut total: Quantities = Quantities::new();
            for d in &decision.donors {
                prop_assert!(seen.insert(&d.province_id), "{} twice on {}", d.province_id, case.case_id);
                prop_assert!((0.0..=1.0).contains(&d.score));
                let capacity = donors.iter().find(|x| x.province_id == d.province_id).unwrap();
                prop_assert!(capacity.outbreak_level <= 1);
                for (&t, &q) in &d.share {
                    prop_assert!(q > 0);
                    *total.entry(t).or_default() += q;
                    *given.entry(&d.province_id).or_default().entry(t).or_default() += q;
                }
            }
            prop_assert!(decision.donors.len() <= MAX_ROUNDS as usize);
            for (t, q) in total {
                prop_assert!(q <= case.targets.get(&t).copied().unwrap_or(0));
            }
        }
        for (province, allotted) in given {
            let pool = &donors.iter().find(|x| x.province_id == province).unwrap().pool;
            for (t, q) in allotted {
                prop_assert!(q <= pool.get(&t).copied().unwrap_or(0), "{} over its pool of {:?}", province, t);
            }
        }
    }

    #[test]
    fn input_order_does_not_change_the_result((cases, donors) in small_instance()) {
        let mut reversed_cases = cases.clone();
        reversed_cases.reverse();
        let mut reversed_donors = donors.clone();
        reversed_donors.reverse();
        prop_assert_eq!(optimized(&cases, &donors, &rules()), optimized(&reversed_cases, &reversed_donors, &rules()));
    }
}
