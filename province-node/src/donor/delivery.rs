//! Whether a message that must get through has got through.
//!
//! The courier already retries transient failures for about a minute; a
//! message whose whole round failed is sent again on a later tick (a city may
//! not know its donors yet, central may be restarting), when the protocol's
//! one resend policy (`counterpart_protocol::RESEND`: a doubling, jittered
//! pause in scenario time and a bound on the rounds) says.

use counterpart_domain::clock::ScenarioTime;
use counterpart_protocol::RESEND;

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
    /// `RESEND.max_rounds` rounds failed; the message is abandoned.
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

    /// Records the outcome of a round of the message named `key` (which
    /// spreads its pause). An outcome for a message that is not in flight
    /// (a late duplicate report) changes nothing but a success.
    pub fn settle(&mut self, accepted: bool, now: ScenarioTime, key: &str) {
        *self = match (*self, accepted) {
            (_, true) => Delivery::Done,
            (Delivery::InFlight { failed_rounds }, false) => {
                let failed_rounds = failed_rounds + 1;
                match RESEND.next_round_ms(failed_rounds, now.0, key) {
                    None => Delivery::GaveUp,
                    Some(at) => Delivery::Due {
                        not_before: ScenarioTime(at),
                        failed_rounds,
                    },
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
        d.settle(false, t0, "m");
        assert!(!d.take_if_due(t0), "paused after a failure");
        let pause = ScenarioTime(RESEND.pause_ms(1, "m"));
        assert!(!d.take_if_due(ScenarioTime(pause.0 - 1)));
        assert!(d.take_if_due(pause));
        for _ in 1..RESEND.max_rounds {
            d.settle(false, t0, "m");
            d.take_if_due(ScenarioTime(i64::MAX));
        }
        assert_eq!(d, Delivery::GaveUp);
        d.rearm();
        assert!(d.take_if_due(t0));
        d.settle(true, t0, "m");
        assert!(d.is_done());
    }
}
