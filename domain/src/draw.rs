//! Seeded random draws for the protocol: a draw is a pure function of the
//! run's seed and what it is drawn for (a key naming the node and the
//! thing, e.g. a shipment and a resource type), so it is the same however
//! the messages interleave, and the same again after a node restarts. No
//! state to save, no unseeded source.

/// A number in `0.0..1.0`, uniform, for `key` in the run seeded `seed`.
pub fn unit(seed: u64, key: &str) -> f64 {
    finish(fnv(0xcbf2_9ce4_8422_2325 ^ seed, key.bytes()))
}

/// [`unit`] for the key `{key}/{n}`, without building the key: the outcome
/// model draws once per patient-day, and a string each would be most of
/// its cost.
pub fn unit_numbered(seed: u64, key: &str, n: u64) -> f64 {
    let h = fnv(0xcbf2_9ce4_8422_2325 ^ seed, key.bytes());
    let h = fnv(h, std::iter::once(b'/'));
    // n's decimal digits, most significant first.
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    finish(fnv(h, digits[..len].iter().rev().copied()))
}

/// FNV-1a over `bytes`, from the state `h`.
fn fnv(mut h: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    for byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The splitmix64 finaliser, to spread FNV's bits: enough for simulation
/// draws, not for secrets.
fn finish(h: u64) -> f64 {
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
    fn a_numbered_draw_is_the_draw_of_its_key() {
        for n in [0, 7, 10, 99, 1_000, 123_456_789, u64::MAX] {
            assert_eq!(
                unit_numbered(5, "k/x", n),
                unit(5, &format!("k/x/{n}")),
                "{n}"
            );
        }
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
