//! Optimized mode: pairing "matched by capacity to assist and extent of need".
//!
//! **Objective.** For a case i with targets T_it and still-uncovered amounts
//! U_it, and a donor j with remaining pool P_jt, pairing j with i costs
//!
//!   cost(i, j) = w_i x sum_t (U_it - min(P_jt, U_it)) / T_it
//!
//! (each type counts as the fraction of its target left uncovered, weighted by
//! the case's severity w_i), and leaving i without a donor this round costs
//! w_i x sum_t U_it / T_it. A round picks a one-to-one partial assignment of
//! cases to donors minimising the total. Round 1 (U = T, P = full pools) is
//! the one-province-one-city rule, and its assignment is **exactly optimal**:
//! it is solved as a min-cost assignment (see [`super::assignment`]) on the
//! matrix cases x (donors + one "no donor" column per case).
//!
//! **Later rounds** (at most [`MAX_ROUNDS`] in all) repeat this, each round
//! optimal for its own cost, on what is left: rows are the cases still
//! uncovered by more than 10% of their summed fraction (the hardest-hit get a
//! second donor) and the cases with no donor yet; columns are the donors with
//! some pool left, never a donor already on that case (so one donor may serve
//! several small cities). The rounds together are greedy, not a global optimum.
//!
//! **Shares.** A chosen donor is allotted, per type, min(its remaining pool,
//! the case's remaining uncovered target); its pool and the case's uncovered
//! amounts shrink by that, so a case's shares never sum above its targets and
//! a donor's allotments never sum above its pool.
//!
//! Donors that `rules.must_release` at their own outbreak level are not
//! paired. Rows and columns are in id order, so the result is deterministic.

use std::collections::BTreeMap;

use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::Rules;

use super::assignment::min_cost_assignment_flat;
use super::{positive, CaseNeed, ChosenDonor, DonorCapacity, PairingDecision};

/// The most rounds of assignment: one donor each, then up to two more.
pub const MAX_ROUNDS: u32 = 3;

/// After round 1 a case stays a row while its uncovered summed fraction is
/// above this share of its number of target types.
const STILL_UNCOVERED_SHARE: f64 = 0.1;

/// Pairs every case with donors round by round (see the module doc).
/// Decisions are in case id order; a case with no positive target, or that no
/// eligible donor can help, gets no donor.
pub fn optimized(
    cases: &[CaseNeed],
    donors: &[DonorCapacity],
    rules: &Rules,
) -> Vec<PairingDecision> {
    let mut cases = case_states(cases);
    let mut donors = donor_states(donors, rules);
    for round in 1..=MAX_ROUNDS {
        if !run_round(round, &mut cases, &mut donors) {
            break;
        }
    }
    cases
        .into_iter()
        .map(|c| PairingDecision {
            case_id: c.case_id,
            city_id: c.city_id,
            donors: c.donors,
        })
        .collect()
}

/// A case as the rounds see it.
struct CaseState {
    case_id: String,
    city_id: String,
    targets: Quantities,
    uncovered: Quantities,
    weight: f64,
    donors: Vec<ChosenDonor>,
}

/// A donor and what it has not yet been allotted.
struct DonorState {
    province_id: String,
    pool: Quantities,
}

/// Cases by id (the first of a repeated id wins), positive targets only, and
/// a usable weight: one that is not a positive number counts as 1.
fn case_states(cases: &[CaseNeed]) -> Vec<CaseState> {
    let mut by_id: BTreeMap<&str, &CaseNeed> = BTreeMap::new();
    for case in cases {
        by_id.entry(case.case_id.as_str()).or_insert(case);
    }
    by_id
        .into_values()
        .map(|c| {
            let targets = positive(&c.targets);
            CaseState {
                case_id: c.case_id.clone(),
                city_id: c.city_id.clone(),
                uncovered: targets.clone(),
                targets,
                weight: if c.weight.is_finite() && c.weight > 0.0 {
                    c.weight
                } else {
                    1.0
                },
                donors: Vec::new(),
            }
        })
        .collect()
}

/// Eligible donors by id (the first of a repeated id wins), positive pools.
fn donor_states(donors: &[DonorCapacity], rules: &Rules) -> Vec<DonorState> {
    let mut by_id: BTreeMap<&str, &DonorCapacity> = BTreeMap::new();
    for donor in donors
        .iter()
        .filter(|d| !rules.must_release(d.outbreak_level))
    {
        by_id.entry(donor.province_id.as_str()).or_insert(donor);
    }
    by_id
        .into_values()
        .map(|d| DonorState {
            province_id: d.province_id.clone(),
            pool: positive(&d.pool),
        })
        .collect()
}

impl CaseState {
    /// sum_t U_t / T_t: how many whole targets are still uncovered.
    fn uncovered_fraction(&self) -> f64 {
        self.targets
            .iter()
            .map(|(t, &target)| self.uncovered.get(t).copied().unwrap_or(0) as f64 / target as f64)
            .sum()
    }

    fn unassigned_cost(&self) -> f64 {
        self.weight * self.uncovered_fraction()
    }

    /// The cost of pairing with `pool`, or `None` when it covers nothing
    /// (then the "no donor" column is just as good).
    fn cost_with(&self, pool: &Quantities) -> Option<f64> {
        let mut covers_something = false;
        let mut left = 0.0;
        for (t, &target) in &self.targets {
            let uncovered = self.uncovered.get(t).copied().unwrap_or(0);
            let covered = pool.get(t).copied().unwrap_or(0).min(uncovered);
            covers_something |= covered > 0;
            left += (uncovered - covered) as f64 / target as f64;
        }
        covers_something.then_some(self.weight * left)
    }

    fn is_row(&self, round: u32) -> bool {
        let uncovered = self.uncovered_fraction();
        if round == 1 || self.donors.is_empty() {
            return uncovered > 0.0;
        }
        uncovered > STILL_UNCOVERED_SHARE * self.targets.len() as f64
    }

    fn has_donor(&self, province_id: &str) -> bool {
        self.donors.iter().any(|d| d.province_id == province_id)
    }
}

/// One round: an exact min-cost assignment of the round's rows to its
/// columns. Returns whether anyone was paired.
fn run_round(round: u32, cases: &mut [CaseState], donors: &mut [DonorState]) -> bool {
    let rows: Vec<usize> = (0..cases.len())
        .filter(|&i| cases[i].is_row(round))
        .collect();
    let cols: Vec<usize> = (0..donors.len())
        .filter(|&j| !donors[j].pool.is_empty())
        .collect();
    if rows.is_empty() || cols.is_empty() {
        return false;
    }
    // Columns: the donors, then one "no donor" column per row (its own only).
    let width = cols.len() + rows.len();
    let mut cost = vec![f64::INFINITY; rows.len() * width];
    for (r, &i) in rows.iter().enumerate() {
        let case = &cases[i];
        for (c, &j) in cols.iter().enumerate() {
            if !case.has_donor(&donors[j].province_id) {
                if let Some(x) = case.cost_with(&donors[j].pool) {
                    cost[r * width + c] = x;
                }
            }
        }
        cost[r * width + cols.len() + r] = case.unassigned_cost();
    }
    let assignment = min_cost_assignment_flat(&cost, rows.len(), width);
    let mut paired = false;
    for (r, col) in assignment.into_iter().enumerate() {
        match col {
            Some(c) if c < cols.len() => {
                allot(
                    round,
                    &mut cases[rows[r]],
                    &mut donors[cols[c]],
                    cost[r * width + c],
                );
                paired = true;
            }
            _ => {}
        }
    }
    paired
}

/// Gives `case` what `donor` can of what is still uncovered, and records why.
fn allot(round: u32, case: &mut CaseState, donor: &mut DonorState, cost: f64) {
    let unassigned = case.unassigned_cost();
    assert!(
        unassigned > 0.0 && cost < unassigned,
        "a donor is only chosen when it helps"
    );
    let mut share = Quantities::new();
    for (t, uncovered) in case.uncovered.iter_mut() {
        let available = donor.pool.get(t).copied().unwrap_or(0);
        let given = available.min(*uncovered);
        if given > 0 {
            *uncovered -= given;
            donor.pool.insert(*t, available - given);
            share.insert(*t, given);
        }
    }
    donor.pool.retain(|_, q| *q > 0);
    let score = (1.0 - cost / unassigned).clamp(0.0, 1.0);
    let of_what = if round == 1 {
        "targets"
    } else {
        "the remaining targets"
    };
    case.donors.push(ChosenDonor {
        province_id: donor.province_id.clone(),
        score,
        reason: format!(
            "optimized round {round}: covers {:.0}% of {of_what}, cost {cost:.2}",
            score * 100.0
        ),
        share,
    });
}

#[cfg(test)]
#[path = "optimized_tests.rs"]
mod tests;
