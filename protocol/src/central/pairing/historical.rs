//! Historical mode: replay the pairings pinned in the scenario
//! (`historical_donors`, the NHC table of 10 Feb 2020 for `hubei-2020`).
//!
//! A replay applies the table as it was: it ignores outbreak levels (step 15
//! releases a donor later if its own outbreak demands it) and pairs a listed
//! donor even if it has not reported capacity yet (its pool counts as empty).

use std::collections::BTreeMap;

use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::Scenario;

use crate::central::roster::Roster;

use super::{
    covered_fraction, split_targets, CaseNeed, ChosenDonor, DonorCapacity, PairingDecision,
};

/// Each case gets its city's `historical_donors`, in file order, with the
/// case's targets split in proportion to their pools. A donor's score is the
/// fraction of its share its pool covers. A case whose city is not in the
/// scenario, or lists no donor, gets no donor. Decisions are in case id order.
pub fn historical(
    cases: &[CaseNeed],
    donors: &[DonorCapacity],
    scenario: &Scenario,
    roster: &Roster,
) -> Vec<PairingDecision> {
    let pools: BTreeMap<&str, &Quantities> = donors
        .iter()
        .map(|d| (d.province_id.as_str(), &d.pool))
        .collect();
    let empty = Quantities::new();
    let reason = reason(&scenario.name);
    let mut decisions: Vec<PairingDecision> = cases
        .iter()
        .map(|case| {
            // By id, not a scan of the scenario per case: a round pairing
            // every city of a national scenario was quadratic.
            let listed = (roster.city(scenario, &case.city_id))
                .map(|c| c.historical_donors.as_slice())
                .unwrap_or(&[]);
            let case_pools: Vec<_> = listed
                .iter()
                .map(|id| pools.get(id.as_str()).copied().unwrap_or(&empty))
                .collect();
            let shares = split_targets(&case.targets, &case_pools);
            let chosen = listed
                .iter()
                .zip(shares)
                .zip(&case_pools)
                .map(|((id, share), pool)| ChosenDonor {
                    province_id: id.clone(),
                    score: covered_fraction(&share, pool),
                    reason: reason.clone(),
                    share,
                })
                .collect();
            PairingDecision {
                case_id: case.case_id.clone(),
                city_id: case.city_id.clone(),
                donors: chosen,
            }
        })
        .collect();
    decisions.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    decisions
}

/// Where the table comes from, as the city will read it.
fn reason(scenario_name: &str) -> String {
    if scenario_name.starts_with("hubei-2020") {
        "historical: NHC table of 10 Feb 2020".to_string()
    } else {
        format!("historical: pairing table of scenario {scenario_name}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use counterpart_domain::scenario::{City, CurvePoint, Scenario};
    use pairing_proto::resource::ResourceType::{Doctor, Nurse};

    use super::*;
    use crate::central::pairing::fixtures::rules;

    fn city(id: &str, donors: &[&str]) -> City {
        let date = NaiveDate::from_ymd_opt(2020, 2, 7).unwrap();
        City {
            id: id.into(),
            name: id.into(),
            name_zh: String::new(),
            population_millions: 1.0,
            beds: 100,
            local_doctors: 10,
            local_nurses: 20,
            final_deaths: None,
            historical_donors: donors.iter().map(|d| d.to_string()).collect(),
            curve: vec![CurvePoint {
                date,
                confirmed: 100,
                source: None,
            }],
            location: None,
            estimated: Vec::new(),
        }
    }

    fn scenario(name: &str) -> Scenario {
        let date = NaiveDate::from_ymd_opt(2020, 2, 7).unwrap();
        Scenario {
            name: name.into(),
            description: String::new(),
            start_date: date,
            end_date: date + chrono::Days::new(60),
            rules: rules(),
            needs_per_active_case: BTreeMap::new(),
            unit_cost_cny: BTreeMap::new(),
            // Xiangyang has two donors; Shanxi serves two small cities.
            cities: vec![
                city("xiangyang", &["liaoning", "ningxia"]),
                city("xiantao", &["shanxi"]),
                city("qianjiang", &["shanxi"]),
            ],
            provinces: Vec::new(),
        }
    }

    fn case(id: &str, city: &str, doctors: i64, nurses: i64) -> CaseNeed {
        CaseNeed {
            case_id: id.into(),
            city_id: city.into(),
            targets: Quantities::from([(Doctor, doctors), (Nurse, nurses)]),
            weight: 1.0,
        }
    }

    fn donor(id: &str, doctors: i64, nurses: i64, outbreak_level: i32) -> DonorCapacity {
        DonorCapacity {
            province_id: id.into(),
            pool: Quantities::from([(Doctor, doctors), (Nurse, nurses)]),
            outbreak_level,
        }
    }

    fn replay(cases: &[CaseNeed], donors: &[DonorCapacity], s: &Scenario) -> Vec<PairingDecision> {
        historical(cases, donors, s, &Roster::of(s))
    }

    #[test]
    fn replays_the_table_in_file_order_with_shares_by_pool() {
        let cases = [
            case("case-xiantao-1", "xiantao", 10, 10),
            case("case-xiangyang-1", "xiangyang", 100, 200),
        ];
        let donors = [
            donor("liaoning", 300, 100, 0),
            donor("ningxia", 100, 100, 3),
            donor("shanxi", 50, 0, 0),
        ];
        let decisions = replay(&cases, &donors, &scenario("hubei-2020"));
        assert_eq!(decisions.len(), 2);
        let xiangyang = &decisions[0];
        assert_eq!(xiangyang.case_id, "case-xiangyang-1");
        let ids: Vec<&str> = xiangyang
            .donors
            .iter()
            .map(|d| d.province_id.as_str())
            .collect();
        // A replay keeps Ningxia even at outbreak level 3.
        assert_eq!(ids, ["liaoning", "ningxia"]);
        assert_eq!(
            xiangyang.donors[0].share,
            Quantities::from([(Doctor, 75), (Nurse, 100)])
        );
        assert_eq!(
            xiangyang.donors[1].share,
            Quantities::from([(Doctor, 25), (Nurse, 100)])
        );
        assert_eq!(
            xiangyang.donors[0].reason,
            "historical: NHC table of 10 Feb 2020"
        );
        assert!((xiangyang.donors[0].score - 1.0).abs() < 1e-12);
        // Shanxi has no nurses: it still gets the whole nurse target, and its
        // score says its pool covers only the doctors.
        let xiantao = &decisions[1];
        assert_eq!(
            xiantao.donors[0].share,
            Quantities::from([(Doctor, 10), (Nurse, 10)])
        );
        assert!((xiantao.donors[0].score - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_donor_may_serve_several_cities_and_unreported_donors_still_count() {
        let cases = [
            case("case-qianjiang-1", "qianjiang", 5, 5),
            case("case-xiantao-1", "xiantao", 10, 10),
        ];
        let decisions = replay(&cases, &[], &scenario("tiny"));
        for d in &decisions {
            assert_eq!(d.donors.len(), 1);
            assert_eq!(d.donors[0].province_id, "shanxi");
            assert_eq!(
                d.donors[0].reason,
                "historical: pairing table of scenario tiny"
            );
            assert_eq!(d.donors[0].score, 0.0);
        }
        assert_eq!(
            decisions[0].donors[0].share,
            Quantities::from([(Doctor, 5), (Nurse, 5)])
        );
    }

    #[test]
    fn a_city_outside_the_scenario_gets_no_donor() {
        let decisions = replay(
            &[case("case-atlantis-1", "atlantis", 1, 1)],
            &[],
            &scenario("tiny"),
        );
        assert!(decisions[0].donors.is_empty());
    }
}
