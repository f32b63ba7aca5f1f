//! The one resend policy: bounded, growing, capped, spread, and the same
//! every time for the same message.

use super::*;

#[test]
fn pauses_double_then_stay_at_a_day_within_the_jitter() {
    let p = RESEND;
    for failed in 1..p.max_rounds {
        let nominal = (HOUR_MS << (failed - 1).min(10)).min(DAY_MS);
        let pause = p.pause_ms(failed, "m-1");
        let slack = nominal * p.jitter_per_mille / 1000;
        assert!(
            (nominal - slack..=nominal + slack).contains(&pause),
            "round {failed}: {pause} ms against {nominal} ms"
        );
    }
}

#[test]
fn a_message_is_given_up_after_the_last_round_and_not_before() {
    let mut at = 0;
    let mut rounds = 1;
    while let Some(next) = RESEND.next_round_ms(rounds, at, "receipt-7") {
        assert!(next > at, "time moves on");
        at = next;
        rounds += 1;
    }
    assert_eq!(rounds, RESEND.max_rounds);
    // About a week in all: 1 + 2 + 4 + 8 + 16 hours, then six days.
    let days = at as f64 / DAY_MS as f64;
    assert!((6.0..8.5).contains(&days), "{days} days");
}

#[test]
fn the_same_message_waits_the_same_and_others_spread() {
    assert_eq!(RESEND.pause_ms(3, "shp-1"), RESEND.pause_ms(3, "shp-1"));
    let pauses: std::collections::BTreeSet<i64> = (0..50)
        .map(|k| RESEND.pause_ms(3, &format!("shp-{k}")))
        .collect();
    assert!(
        pauses.len() > 25,
        "50 messages, {} distinct pauses",
        pauses.len()
    );
}

#[test]
fn huge_round_counts_do_not_overflow() {
    let p = ResendPolicy {
        max_rounds: u32::MAX,
        ..RESEND
    };
    assert!(p.pause_ms(u32::MAX - 1, "x") <= DAY_MS + DAY_MS / 5);
    assert!(p.next_round_ms(7, i64::MAX - 1, "x").is_some());
}
