//! Seeded random draws for the protocol: a draw is a pure function of the
//! run's seed and what it is drawn for (a key naming the node and the
//! thing, e.g. a shipment and a resource type), so it is the same however
//! the messages interleave, and the same again after a node restarts. No
//! state to save, no unseeded source.

/// A number in `0.0..1.0`, uniform, for `key` in the run seeded `seed`.
pub fn unit(seed: u64, key: &str) -> f64 {
    // FNV-1a over the key, then the splitmix64 finaliser to spread the
    // bits: enough for simulation draws, not for secrets.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in key.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // The top 53 bits: every value a double holds exactly in 0..1.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draw_depends_on_the_seed_and_the_key_only() {
        assert_eq!(unit(1, "a"), unit(1, "a"));
        assert_ne!(unit(1, "a"), unit(2, "a"));
        assert_ne!(unit(1, "a"), unit(1, "b"));
    }

    #[test]
    fn draws_are_spread_over_the_unit_interval() {
        let draws: Vec<f64> = (0..10_000).map(|i| unit(42, &format!("k{i}"))).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        let low = draws.iter().filter(|d| **d < 0.1).count();
        assert!((800..1200).contains(&low), "{low} of 10000 below 0.1");
    }
}
