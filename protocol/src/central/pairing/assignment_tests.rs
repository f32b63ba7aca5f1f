use proptest::prelude::*;

use super::*;

const INF: f64 = f64::INFINITY;

/// The best (most pairs, then least cost) over every injective partial
/// assignment that uses finite entries only.
fn brute_force(cost: &[Vec<f64>]) -> (usize, f64) {
    fn go(
        cost: &[Vec<f64>],
        row: usize,
        used: &mut Vec<bool>,
        pairs: usize,
        sum: f64,
        best: &mut (usize, f64),
    ) {
        if row == cost.len() {
            if pairs > best.0 || (pairs == best.0 && sum < best.1) {
                *best = (pairs, sum);
            }
            return;
        }
        go(cost, row + 1, used, pairs, sum, best);
        for (col, &c) in cost[row].iter().enumerate() {
            if c.is_finite() && !used[col] {
                used[col] = true;
                go(cost, row + 1, used, pairs + 1, sum + c, best);
                used[col] = false;
            }
        }
    }
    let cols = cost.iter().map(Vec::len).max().unwrap_or(0);
    let mut best = (0, INF);
    go(cost, 0, &mut vec![false; cols], 0, 0.0, &mut best);
    if best.0 == 0 {
        best.1 = 0.0;
    }
    best
}

/// Checks the assignment is injective and finite; returns (pairs, cost).
fn total(cost: &[Vec<f64>], assignment: &[Option<usize>]) -> (usize, f64) {
    assert_eq!(assignment.len(), cost.len());
    let mut seen = std::collections::BTreeSet::new();
    let mut sum = 0.0;
    for (row, col) in assignment.iter().enumerate() {
        if let Some(col) = *col {
            assert!(seen.insert(col), "column {col} assigned twice");
            assert!(
                cost[row][col].is_finite(),
                "row {row} took impossible column {col}"
            );
            sum += cost[row][col];
        }
    }
    (seen.len(), sum)
}

#[test]
fn square_matrix_finds_the_optimum() {
    let cost = vec![
        vec![4.0, 1.0, 3.0],
        vec![2.0, 0.0, 5.0],
        vec![3.0, 2.0, 2.0],
    ];
    let a = min_cost_assignment(&cost);
    assert_eq!(a, vec![Some(1), Some(0), Some(2)]);
    assert_eq!(total(&cost, &a), (3, 5.0));
}

#[test]
fn more_rows_than_columns_leaves_the_costliest_rows_out() {
    let cost = vec![vec![10.0], vec![1.0], vec![5.0]];
    assert_eq!(min_cost_assignment(&cost), vec![None, Some(0), None]);
}

#[test]
fn more_columns_than_rows_picks_the_cheapest_columns() {
    let cost = vec![vec![7.0, 3.0, 9.0, 1.0], vec![2.0, 8.0, 6.0, 1.5]];
    assert_eq!(min_cost_assignment(&cost), vec![Some(3), Some(0)]);
}

#[test]
fn impossible_entries_are_never_assigned() {
    let cost = vec![vec![INF, 1.0], vec![INF, 2.0], vec![INF, INF]];
    let a = min_cost_assignment(&cost);
    assert_eq!(a, vec![Some(1), None, None]);
}

#[test]
fn cardinality_comes_before_cost_and_cost_decides_among_equals() {
    // Row 0 alone could take column 0 at 10; row 1 at 1 is just as many pairs.
    let cost = vec![vec![10.0], vec![1.0]];
    assert_eq!(min_cost_assignment(&cost), vec![None, Some(0)]);
    // Two pairs beat one cheap pair.
    let cost = vec![vec![0.0, 50.0], vec![1.0, INF]];
    assert_eq!(min_cost_assignment(&cost), vec![Some(1), Some(0)]);
}

#[test]
fn nan_and_ragged_rows_are_impossible_not_a_panic() {
    let cost = vec![vec![f64::NAN, 2.0], vec![1.0]];
    assert_eq!(min_cost_assignment(&cost), vec![Some(1), Some(0)]);
    assert_eq!(min_cost_assignment(&[]), Vec::<Option<usize>>::new());
    assert_eq!(min_cost_assignment(&[vec![], vec![]]), vec![None, None]);
}

#[test]
fn negative_costs_are_fine() {
    let cost = vec![vec![-5.0, -1.0], vec![-4.0, -3.0]];
    assert_eq!(total(&cost, &min_cost_assignment(&cost)), (2, -8.0));
}

fn entry() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-20i32..20).prop_map(|c| c as f64 / 4.0),
        3 => 0.0f64..10.0,
        2 => Just(INF),
    ]
}

fn matrix() -> impl Strategy<Value = Vec<Vec<f64>>> {
    (0usize..=6, 0usize..=6).prop_flat_map(|(rows, cols)| {
        prop::collection::vec(prop::collection::vec(entry(), cols), rows)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn solver_matches_brute_force(cost in matrix()) {
        let (pairs, sum) = total(&cost, &min_cost_assignment(&cost));
        let (best_pairs, best_sum) = brute_force(&cost);
        prop_assert_eq!(pairs, best_pairs);
        prop_assert!((sum - best_sum).abs() < 1e-9, "solver {} vs brute force {}", sum, best_sum);
    }
}

/// A deterministic xorshift, so the scale test needs no extra dependency.
fn uniform_matrix(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n * n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

#[test]
fn a_few_hundred_rows_solve_quickly_and_consistently() {
    let n = 300;
    let cost = uniform_matrix(n, 0x9e37_79b9_7f4a_7c15);
    let a = min_cost_assignment_flat(&cost, n, n);
    assert!(a.iter().all(Option::is_some));
    // Transposing the problem must give the same optimum.
    let transposed: Vec<f64> = (0..n * n).map(|k| cost[(k % n) * n + k / n]).collect();
    let b = min_cost_assignment_flat(&transposed, n, n);
    let sum = |m: &[f64], s: &[Option<usize>]| {
        s.iter()
            .enumerate()
            .map(|(r, c)| m[r * n + c.unwrap()])
            .sum::<f64>()
    };
    assert!((sum(&cost, &a) - sum(&transposed, &b)).abs() < 1e-9);
}
