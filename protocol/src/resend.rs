//! When a message that must get through is sent again: one policy for
//! every role.
//!
//! Two layers of retry carry a message. At the edge, the courier retries
//! one send for about a minute of wall time (`node_kit::retry`): that rides
//! out a peer's restart. A whole send that still fails is a failed *round*;
//! this module decides, in scenario time, when the next round starts and
//! when the sender gives up. Central, the provinces and the cities used to
//! have three policies (3 rounds a day apart; 20 rounds with a pause
//! growing by an hour; 5 sends with no pause): now they share [`RESEND`].
//!
//! Pure: the pause is jittered from the message's own id, not from a
//! random source, so the same run resends at the same scenario times, and
//! messages that failed together do not all come back together.

/// Milliseconds in one scenario hour and day.
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How a failed round is followed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendPolicy {
    /// Rounds in all, the first included, before the message is given up.
    pub max_rounds: u32,
    /// The pause after the first failed round, in scenario ms; it doubles
    /// with each further failure.
    pub first_pause_ms: i64,
    /// The longest pause between two rounds, in scenario ms.
    pub max_pause_ms: i64,
    /// How far a pause may stray from its nominal length, in per mille
    /// either way.
    pub jitter_per_mille: i64,
}

/// The policy of every role.
///
/// - `first_pause_ms` one hour: the commonest cause of a failed round is a
///   receiver that does not know the sender yet (a city that has not heard
///   of its donors' assignment, a case central opened minutes before), which
///   an hour of scenario time resolves.
/// - `max_pause_ms` one day: reports and evaluations are daily, so a longer
///   pause would let a message fall behind the ones that follow it.
/// - `max_rounds` 12: pauses of 1, 2, 4, 8 and 16 hours, then a day each,
///   about 7.3 days in all before giving up; a node down for a week has
///   been replaced, and its case re-paired, long before (PROTOCOL.md,
///   adjustments).
/// - `jitter_per_mille` 200: pauses within ±20 %, so the resends of a
///   burst that failed together spread over hours instead of returning at
///   once.
pub const RESEND: ResendPolicy = ResendPolicy {
    max_rounds: 12,
    first_pause_ms: HOUR_MS,
    max_pause_ms: DAY_MS,
    jitter_per_mille: 200,
};

/// How one round ended, as the edge tells the protocol (the gRPC status
/// stays at the edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundOutcome {
    /// The receiver took it (or had taken it before).
    Accepted,
    /// It may go through later: unreachable, overloaded, timed out.
    Transient,
    /// The receiver refused it: sending it again changes nothing.
    Refused,
}

impl ResendPolicy {
    /// After `failed_rounds` failed rounds (at least 1), ending at `now_ms`:
    /// when the next round may start, or `None` when the message is given
    /// up. `key` spreads the pause: the message's id, or another name of
    /// it that stays the same across its rounds.
    pub fn next_round_ms(&self, failed_rounds: u32, now_ms: i64, key: &str) -> Option<i64> {
        assert!(failed_rounds >= 1, "called after a failed round");
        if failed_rounds >= self.max_rounds {
            return None;
        }
        Some(now_ms.saturating_add(self.pause_ms(failed_rounds, key)))
    }

    /// The pause after `failed_rounds` failures: the nominal doubling pause,
    /// capped, then moved by the jitter of `key` and the round.
    pub fn pause_ms(&self, failed_rounds: u32, key: &str) -> i64 {
        let doublings = failed_rounds.saturating_sub(1).min(32);
        let nominal = self
            .first_pause_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_pause_ms);
        let spread = 2 * self.jitter_per_mille + 1;
        let per_mille = (fnv1a(key, failed_rounds) % spread as u64) as i64 - self.jitter_per_mille;
        nominal + nominal * per_mille / 1000
    }
}

/// FNV-1a over the key and the round: a stable, well-spread number.
fn fnv1a(key: &str, round: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain(round.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
#[path = "resend_tests.rs"]
mod tests;
