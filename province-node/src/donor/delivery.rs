//! Whether a message that must get through has got through.
//!
//! The courier already retries transient failures for about a minute; a
//! message whose whole round failed is sent again on a later tick (a city may
//! not know its donors yet, central may be restarting), with a growing pause
//! in scenario time and a bound on the rounds.

use counterpart_domain::clock::ScenarioTime;

/// Rounds (each a full courier retry) before a message is abandoned.
pub const MAX_SEND_ROUNDS: u32 = 20;
/// Pause before the next round, per failed round so far, in scenario days.
pub const RESEND_PAUSE_DAYS_PER_ROUND: f64 = 1.0 / 24.0;
/// Longest pause between two rounds, in scenario days.
pub const MAX_RESEND_PAUSE_DAYS: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Delivery {
    /// To be sent at the first tick at or after `not_before`.
    Due {
        not_before: ScenarioTime,
        failed_rounds: u32,
    },
    /// Handed to the courier; the outcome is not known yet.
    InFlight { failed_rounds: u32 },
    /// The receiver accepted it.
    Done,
    /// [`MAX_SEND_ROUNDS`] rounds failed; the message is abandoned.
    GaveUp,
}

impl Delivery {
    /// Due at once, with no failure so far.
    pub fn due() -> Self {
        Delivery::Due {
            not_before: ScenarioTime(i64::MIN),
            failed_rounds: 0,
        }
    }

    /// If due at `now`, marks it in flight and returns true.
    pub fn take_if_due(&mut self, now: ScenarioTime) -> bool {
        match *self {
            Delivery::Due {
                not_before,
                failed_rounds,
            } if now >= not_before => {
                *self = Delivery::InFlight { failed_rounds };
                true
            }
            _ => false,
        }
    }

    /// Records the outcome of a round. An outcome for a message that is not
    /// in flight (a late duplicate report) changes nothing but a success.
    pub fn settle(&mut self, accepted: bool, now: ScenarioTime) {
        *self = match (*self, accepted) {
            (_, true) => Delivery::Done,
            (Delivery::InFlight { failed_rounds }, false) => {
                let failed_rounds = failed_rounds + 1;
                if failed_rounds >= MAX_SEND_ROUNDS {
                    Delivery::GaveUp
                } else {
                    let pause = (RESEND_PAUSE_DAYS_PER_ROUND * f64::from(failed_rounds))
                        .min(MAX_RESEND_PAUSE_DAYS);
                    Delivery::Due {
                        not_before: now.plus_days(pause),
                        failed_rounds,
                    }
                }
            }
            (other, false) => other,
        };
    }

    /// After a restart: a send whose outcome was lost is due again, with
    /// the rounds it has had.
    pub fn resume(&mut self) {
        if let Delivery::InFlight { failed_rounds } = *self {
            *self = Delivery::Due {
                not_before: ScenarioTime(i64::MIN),
                failed_rounds,
            };
        }
    }

    /// Sends it again from scratch (something changed that may cure it).
    pub fn rearm(&mut self) {
        if !matches!(self, Delivery::InFlight { .. }) {
            *self = Delivery::due();
        }
    }

    pub fn is_done(&self) -> bool {
        *self == Delivery::Done
    }

    /// Done or abandoned: nothing more will be sent.
    pub fn is_settled(&self) -> bool {
        matches!(self, Delivery::Done | Delivery::GaveUp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_round_pauses_then_gives_up_after_the_bound() {
        let mut d = Delivery::due();
        let t0 = ScenarioTime(0);
        assert!(d.take_if_due(t0));
        assert!(!d.take_if_due(t0), "in flight is not due");
        d.settle(false, t0);
        assert!(!d.take_if_due(t0), "paused after a failure");
        assert!(d.take_if_due(t0.plus_days(RESEND_PAUSE_DAYS_PER_ROUND)));
        for _ in 1..MAX_SEND_ROUNDS {
            d.settle(false, t0);
            d.take_if_due(ScenarioTime(i64::MAX));
        }
        assert_eq!(d, Delivery::GaveUp);
        d.rearm();
        assert!(d.take_if_due(t0));
        d.settle(true, t0);
        assert!(d.is_done());
    }
}
