//! Splitting a case's targets among its donors (PROTOCOL.md step 6).

use counterpart_domain::quantities::Quantities;

/// Splits `targets` among donors in proportion to each donor's pool of each
/// type, with largest-remainder rounding so that the shares of a type sum to
/// exactly its target. A donor with none of a type gets none of it; when no
/// donor has any of a type, that type is split equally. Ties in the rounding
/// go to the earlier donor. Zero and negative targets are left out. The
/// result is in the order of `pools`; empty `pools` give an empty result.
pub fn split_targets(targets: &Quantities, pools: &[&Quantities]) -> Vec<Quantities> {
    let mut shares = vec![Quantities::new(); pools.len()];
    if pools.is_empty() {
        return shares;
    }
    for (&t, &target) in targets.iter().filter(|(_, &q)| q > 0) {
        let mut weights: Vec<i64> = pools
            .iter()
            .map(|p| p.get(&t).copied().unwrap_or(0).max(0))
            .collect();
        if weights.iter().all(|&w| w == 0) {
            weights.fill(1);
        }
        for (share, part) in shares.iter_mut().zip(largest_remainder(target, &weights)) {
            if part > 0 {
                share.insert(t, part);
            }
        }
    }
    shares
}

/// Splits `total` in proportion to `weights` (not all zero, none negative):
/// each part gets the floor of its quota, then the units left go one each to
/// the largest fractional remainders. In i128, so no product overflows.
fn largest_remainder(total: i64, weights: &[i64]) -> Vec<i64> {
    let weight_sum: i128 = weights.iter().map(|&w| w as i128).sum();
    assert!(weight_sum > 0, "largest_remainder needs a positive weight");
    let total = total as i128;
    let mut parts: Vec<i128> = weights
        .iter()
        .map(|&w| total * w as i128 / weight_sum)
        .collect();
    let mut left = total - parts.iter().sum::<i128>();
    // Remainders compared as numerators over the common weight_sum.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&k| {
        (
            std::cmp::Reverse(total * weights[k] as i128 % weight_sum),
            k,
        )
    });
    for &k in order.iter().cycle() {
        if left == 0 {
            break;
        }
        // Only donors with some of the type share in the rounding.
        if weights[k] > 0 {
            parts[k] += 1;
            left -= 1;
        }
    }
    assert_eq!(
        parts.iter().sum::<i128>(),
        total,
        "the parts add up to the total"
    );
    parts.into_iter().map(|p| p as i64).collect()
}

#[cfg(test)]
mod tests {
    use pairing_proto::resource::ResourceType;
    use proptest::prelude::*;

    use super::*;
    use ResourceType::{Doctor, MaskN95, Nurse, Ventilator};

    #[test]
    fn shares_follow_the_pools() {
        let targets = Quantities::from([(Doctor, 100), (MaskN95, 10)]);
        let a = Quantities::from([(Doctor, 300), (MaskN95, 1)]);
        let b = Quantities::from([(Doctor, 100), (MaskN95, 2)]);
        let shares = split_targets(&targets, &[&a, &b]);
        assert_eq!(shares[0], Quantities::from([(Doctor, 75), (MaskN95, 3)]));
        assert_eq!(shares[1], Quantities::from([(Doctor, 25), (MaskN95, 7)]));
    }

    #[test]
    fn a_donor_without_a_type_gets_none_of_it() {
        let targets = Quantities::from([(Ventilator, 7)]);
        let a = Quantities::from([(Doctor, 300)]);
        let b = Quantities::from([(Ventilator, 1)]);
        let shares = split_targets(&targets, &[&a, &b]);
        assert_eq!(shares[0], Quantities::new());
        assert_eq!(shares[1], Quantities::from([(Ventilator, 7)]));
    }

    #[test]
    fn a_type_nobody_has_is_split_equally_earlier_donors_first() {
        let targets = Quantities::from([(Nurse, 7)]);
        let empty = Quantities::new();
        let shares = split_targets(&targets, &[&empty, &empty, &empty]);
        let parts: Vec<i64> = shares.iter().map(|s| s[&Nurse]).collect();
        assert_eq!(parts, vec![3, 2, 2]);
    }

    #[test]
    fn no_donors_no_shares_and_zero_targets_left_out() {
        let targets = Quantities::from([(Nurse, 7), (Doctor, 0)]);
        assert!(split_targets(&targets, &[]).is_empty());
        let pool = Quantities::from([(Doctor, 5), (Nurse, 5)]);
        assert_eq!(
            split_targets(&targets, &[&pool]),
            vec![Quantities::from([(Nurse, 7)])]
        );
    }

    #[test]
    fn huge_quantities_do_not_overflow() {
        let targets = Quantities::from([(MaskN95, i64::MAX)]);
        let a = Quantities::from([(MaskN95, i64::MAX)]);
        let b = Quantities::from([(MaskN95, i64::MAX - 1)]);
        let shares = split_targets(&targets, &[&a, &b]);
        assert_eq!(
            shares[0][&MaskN95] as i128 + shares[1][&MaskN95] as i128,
            i64::MAX as i128
        );
    }

    fn pool() -> impl Strategy<Value = Quantities> {
        prop::collection::btree_map(
            prop::sample::select(ResourceType::DEFAULTS.to_vec()),
            0i64..1_000,
            0..5,
        )
        .prop_map(Quantities::from)
    }

    proptest! {
        #[test]
        fn shares_sum_exactly_to_each_target(
            targets in prop::collection::btree_map(prop::sample::select(ResourceType::DEFAULTS.to_vec()), 1i64..100_000, 0..6).prop_map(Quantities::from),
            pools in prop::collection::vec(pool(), 1..5),
        ) {
            let refs: Vec<&Quantities> = pools.iter().collect();
            let shares = split_targets(&targets, &refs);
            prop_assert_eq!(shares.len(), pools.len());
            for (t, &target) in &targets {
                let sum: i64 = shares.iter().map(|s| s.get(t).copied().unwrap_or(0)).sum();
                prop_assert_eq!(sum, target);
                let anyone_has = pools.iter().any(|p| p.get(t).copied().unwrap_or(0) > 0);
                for (share, pool) in shares.iter().zip(&pools) {
                    let has = pool.get(t).copied().unwrap_or(0) > 0;
                    prop_assert!(!anyone_has || has || !share.contains_key(t), "{:?} went to a donor without it", t);
                }
            }
        }
    }
}
