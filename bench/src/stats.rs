//! Summaries of measured samples.

use std::time::Duration;

/// Latencies of one run, sorted once.
#[derive(Debug, Clone)]
pub struct Latencies {
    sorted_us: Vec<u64>,
}

impl Latencies {
    pub fn new(samples: Vec<Duration>) -> Latencies {
        let mut sorted_us: Vec<u64> = samples.iter().map(|d| d.as_micros() as u64).collect();
        sorted_us.sort_unstable();
        Latencies { sorted_us }
    }

    /// All samples of `parts` together.
    pub fn merge(parts: impl IntoIterator<Item = Latencies>) -> Latencies {
        let mut sorted_us: Vec<u64> = parts.into_iter().flat_map(|l| l.sorted_us).collect();
        sorted_us.sort_unstable();
        Latencies { sorted_us }
    }

    pub fn count(&self) -> usize {
        self.sorted_us.len()
    }

    /// The `q` quantile (0..=1) in microseconds, nearest rank; 0 if empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.sorted_us.is_empty() {
            return 0;
        }
        let rank = (q * self.sorted_us.len() as f64).ceil() as usize;
        self.sorted_us[rank.clamp(1, self.sorted_us.len()) - 1]
    }
}

/// Median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Smallest and largest of `values`.
pub fn spread(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let l = Latencies::new((1..=100).map(Duration::from_micros).collect());
        assert_eq!(l.quantile_us(0.5), 50);
        assert_eq!(l.quantile_us(0.99), 99);
        assert_eq!(l.quantile_us(1.0), 100);
    }

    #[test]
    fn median_of_even_count_is_the_middle_mean() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(spread(&[4.0, 1.0, 3.0]), (1.0, 4.0));
    }
}
