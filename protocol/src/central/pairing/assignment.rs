//! Rectangular min-cost assignment (the linear sum assignment problem).
//!
//! Shortest augmenting paths with dual potentials: Jonker-Volgenant as laid
//! out by Crouse (2016), the method behind SciPy's `linear_sum_assignment`.
//! Each row is added by one Dijkstra-like search over the dense matrix, so the
//! whole solve is O(rows^2 x cols) with rows <= cols (the matrix is transposed
//! otherwise). The matrix lives in one flat `Vec<f64>` and the search reuses
//! its buffers: nothing is allocated per step.
//!
//! Semantics: an entry that is not finite (infinite or NaN) means "this row
//! cannot take this column". The result matches as many rows as finite entries
//! allow and, among those matchings, has the least total cost. When every entry
//! is finite that is exactly `linear_sum_assignment`: min(rows, cols) pairs of
//! least total cost.

use std::borrow::Cow;

/// Solves the assignment for a row-major matrix given as rows (rows may be
/// ragged: a missing entry is impossible). `result[row]` is the row's column.
pub fn min_cost_assignment(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    let cols = cost.iter().map(Vec::len).max().unwrap_or(0);
    let mut flat = vec![f64::INFINITY; rows * cols];
    for (row, entries) in flat.chunks_exact_mut(cols.max(1)).zip(cost) {
        row[..entries.len()].copy_from_slice(entries);
    }
    min_cost_assignment_flat(&flat, rows, cols)
}

/// Same as [`min_cost_assignment`] for a flat row-major `rows x cols` matrix,
/// without copying it when it is all finite and not taller than wide.
///
/// Panics if `cost.len() != rows * cols` (a caller's bug, not bad input).
pub fn min_cost_assignment_flat(cost: &[f64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    assert_eq!(
        cost.len(),
        rows * cols,
        "cost matrix is not {rows} x {cols}"
    );
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    let transposed = rows > cols;
    let work = working_matrix(cost, rows, cols, transposed);
    let (n, m) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let col_of_row = Search::new(n, m).solve(&work);
    let mut result = vec![None; rows];
    for (r, c) in col_of_row.into_iter().enumerate() {
        let Some(c) = c else { continue };
        let (row, col) = if transposed { (c, r) } else { (r, c) };
        // Pairs that only stand in for "impossible" are not assignments.
        if cost[row * cols + col].is_finite() {
            result[row] = Some(col);
        }
    }
    result
}

/// The matrix the search runs on: at most as many rows as columns, and every
/// impossible entry replaced by a penalty so large that one more impossible
/// pair always costs more than any difference between finite sums. Then the
/// least full assignment has the fewest impossible pairs first and the least
/// finite cost second, which is the semantics promised above.
fn working_matrix(cost: &[f64], rows: usize, cols: usize, transposed: bool) -> Cow<'_, [f64]> {
    let all_finite = cost.iter().all(|c| c.is_finite());
    if all_finite && !transposed {
        return Cow::Borrowed(cost);
    }
    let max_abs = cost
        .iter()
        .filter(|c| c.is_finite())
        .fold(0.0f64, |a, c| a.max(c.abs()));
    let pairs = rows.min(cols) as f64;
    // Full assignments A, B with B having more impossible pairs differ by at
    // least penalty - 2 x pairs x max_abs > 0.
    let penalty = (pairs + 1.0) * (2.0 * max_abs + 1.0);
    let entry = |row: usize, col: usize| {
        let c = cost[row * cols + col];
        if c.is_finite() {
            c
        } else {
            penalty
        }
    };
    let mut work = Vec::with_capacity(rows * cols);
    if transposed {
        for col in 0..cols {
            work.extend((0..rows).map(|row| entry(row, col)));
        }
    } else {
        for row in 0..rows {
            work.extend((0..cols).map(|col| entry(row, col)));
        }
    }
    Cow::Owned(work)
}

/// A column the search has not scanned yet.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    col: usize,
    path_cost: f64,
}

/// The buffers of the shortest-augmenting-path search, for n rows <= m cols.
struct Search {
    n: usize,
    m: usize,
    /// Dual potentials of rows and columns.
    row_potential: Vec<f64>,
    col_potential: Vec<f64>,
    /// Reduced length of the shortest alternating path to each column,
    /// recorded when the column is scanned (`update_potentials` reads it).
    path_cost: Vec<f64>,
    /// The row the shortest path reaches each column from.
    path_row: Vec<usize>,
    col_of_row: Vec<Option<usize>>,
    row_of_col: Vec<Option<usize>>,
    row_scanned: Vec<bool>,
    col_scanned: Vec<bool>,
    /// Columns not yet scanned, each with the length of the shortest path
    /// found to it so far; the first `remaining_len` entries are live. The
    /// length lives beside the column so the search's inner loop reads it in
    /// order instead of gathering it from a column-indexed array.
    remaining: Vec<Pending>,
}

impl Search {
    fn new(n: usize, m: usize) -> Self {
        assert!(n <= m, "the search needs rows <= cols");
        Search {
            n,
            m,
            row_potential: vec![0.0; n],
            col_potential: vec![0.0; m],
            path_cost: vec![f64::INFINITY; m],
            path_row: vec![usize::MAX; m],
            col_of_row: vec![None; n],
            row_of_col: vec![None; m],
            row_scanned: vec![false; n],
            col_scanned: vec![false; m],
            remaining: vec![Pending::default(); m],
        }
    }

    fn solve(mut self, cost: &[f64]) -> Vec<Option<usize>> {
        for row in 0..self.n {
            // With finite entries a path always exists; a None here only comes
            // from overflowing magnitudes, and then the row stays unassigned.
            if let Some((sink, min_cost)) = self.shortest_path(cost, row) {
                self.update_potentials(row, min_cost);
                self.augment(row, sink);
            }
        }
        self.col_of_row
    }

    /// Dijkstra from `start` over alternating paths, in reduced costs, until
    /// it reaches a free column: returns that column and the path length.
    fn shortest_path(&mut self, cost: &[f64], start: usize) -> Option<(usize, f64)> {
        let m = self.m;
        self.row_scanned.fill(false);
        self.col_scanned.fill(false);
        for (k, slot) in self.remaining.iter_mut().enumerate() {
            // Scanned in reverse so that ties favour low column indices.
            *slot = Pending {
                col: m - k - 1,
                path_cost: f64::INFINITY,
            };
        }
        let mut remaining_len = m;
        let mut row = start;
        let mut min_cost = 0.0;
        loop {
            self.row_scanned[row] = true;
            let row_cost = &cost[row * m..(row + 1) * m];
            let base = min_cost - self.row_potential[row];
            let mut lowest = f64::INFINITY;
            let mut lowest_at = None;
            for (k, pending) in self.remaining[..remaining_len].iter_mut().enumerate() {
                let col = pending.col;
                let reduced = base + row_cost[col] - self.col_potential[col];
                if reduced < pending.path_cost {
                    self.path_row[col] = row;
                    pending.path_cost = reduced;
                }
                let d = pending.path_cost;
                // On ties, a free column ends the search sooner.
                if d < lowest || (d == lowest && self.row_of_col[col].is_none()) {
                    lowest = d;
                    lowest_at = Some(k);
                }
            }
            let k = lowest_at?;
            min_cost = lowest;
            let Pending { col, path_cost } = self.remaining[k];
            self.path_cost[col] = path_cost;
            self.col_scanned[col] = true;
            remaining_len -= 1;
            self.remaining[k] = self.remaining[remaining_len];
            match self.row_of_col[col] {
                None => return Some((col, min_cost)),
                Some(next) => row = next,
            }
        }
    }

    /// Keeps reduced costs non-negative and zero along the matching.
    fn update_potentials(&mut self, start: usize, min_cost: f64) {
        self.row_potential[start] += min_cost;
        for row in 0..self.n {
            if row != start && self.row_scanned[row] {
                let col =
                    self.col_of_row[row].expect("a scanned row other than the start is matched");
                self.row_potential[row] += min_cost - self.path_cost[col];
            }
        }
        for col in 0..self.m {
            if self.col_scanned[col] {
                self.col_potential[col] -= min_cost - self.path_cost[col];
            }
        }
    }

    /// Flips the alternating path from `sink` back to `start`.
    fn augment(&mut self, start: usize, sink: usize) {
        let mut col = sink;
        loop {
            let row = self.path_row[col];
            self.row_of_col[col] = Some(row);
            let previous = self.col_of_row[row].replace(col);
            if row == start {
                break;
            }
            col = previous.expect("rows inside the path are matched");
        }
    }
}

#[cfg(test)]
#[path = "assignment_tests.rs"]
mod tests;
