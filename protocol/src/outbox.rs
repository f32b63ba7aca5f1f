//! One outbox for every role: what a node owes its peers, and when each
//! owed message is sent again.
//!
//! - [`Delivery`]: where one owed message stands (due, in flight, done,
//!   given up), moved on by the outcome of each round of sending under the
//!   protocol's one resend policy ([`RESEND`]: a doubling, jittered pause in
//!   scenario time and a bound on the rounds).
//! - [`Outbox`]: a bounded set of owed messages keyed by what names them
//!   (for central and the city, the message id), handed out in key order so
//!   the same state always sends in the same order.
//!
//! A node's courier retries each send for about a minute itself; a round
//! here is one such send. What a failed round means is the caller's to say
//! ([`RoundOutcome`]): a city gives up on a refused receipt, central sends a
//! refused order again because the node may not have started its clock.

use std::collections::BTreeMap;

use counterpart_domain::clock::ScenarioTime;

use crate::refusal::Refusal;
use crate::resend::{RoundOutcome, RESEND};

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
    pub fn settle(&mut self, outcome: RoundOutcome, now: ScenarioTime, key: &str) {
        *self = match (*self, outcome) {
            (_, RoundOutcome::Accepted) => Delivery::Done,
            (Delivery::InFlight { .. }, RoundOutcome::Refused) => Delivery::GaveUp,
            (Delivery::InFlight { failed_rounds }, RoundOutcome::Transient) => {
                let failed_rounds = failed_rounds + 1;
                match RESEND.next_round_ms(failed_rounds, now.0, key) {
                    None => Delivery::GaveUp,
                    Some(at) => Delivery::Due {
                        not_before: ScenarioTime(at),
                        failed_rounds,
                    },
                }
            }
            (other, _) => other,
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

/// Most messages one node may owe at once. Central owes a few per case and
/// node (hubei-2020: 16 cases, 35 nodes, well under a thousand); a bound far
/// above that keeps a stuck peer from growing a node's state without end.
/// A push beyond it is refused (`RESOURCE_EXHAUSTED`), never dropped.
pub const MAX_OWED: usize = 100_000;

/// One owed message and where it stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Owed<M> {
    pub message: M,
    pub delivery: Delivery,
}

/// The messages a node owes, keyed by `K` (a message id, usually).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outbox<K: Ord, M> {
    owed: BTreeMap<K, Owed<M>>,
}

impl<K: Ord, M> Default for Outbox<K, M> {
    fn default() -> Self {
        Outbox {
            owed: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone + AsRef<str>, M: Clone> Outbox<K, M> {
    /// Owes `message` under `key`, due at once. A key already owed keeps
    /// its message and state (a resend of the same thing is not new).
    pub fn push(&mut self, key: K, message: M) -> Result<(), Refusal> {
        if self.owed.contains_key(&key) {
            return Ok(());
        }
        if self.owed.len() >= MAX_OWED {
            return Err(Refusal::resource_exhausted(format!(
                "outbox: {MAX_OWED} messages owed already"
            )));
        }
        let delivery = Delivery::due();
        self.owed.insert(key, Owed { message, delivery });
        Ok(())
    }

    /// Puts back an owed message as it was saved.
    pub fn restore(&mut self, key: K, owed: Owed<M>) {
        self.owed.insert(key, owed);
    }

    /// The messages due at `now`, in key order, each now in flight.
    pub fn take_due(&mut self, now: ScenarioTime) -> Vec<(K, M)> {
        let mut due = Vec::new();
        for (key, owed) in &mut self.owed {
            if owed.delivery.take_if_due(now) {
                due.push((key.clone(), owed.message.clone()));
            }
        }
        due
    }

    /// Records a round's outcome for `key`; returns its state after, or
    /// `None` for a key not owed (an outcome arriving after a restart).
    pub fn settle(
        &mut self,
        key: &K,
        outcome: RoundOutcome,
        now: ScenarioTime,
    ) -> Option<Delivery> {
        let owed = self.owed.get_mut(key)?;
        let jitter = crate::header::jitter_key(key.as_ref());
        owed.delivery.settle(outcome, now, &jitter);
        Some(owed.delivery)
    }

    /// After a restart: every send whose outcome was lost is due again.
    pub fn resume(&mut self) {
        for owed in self.owed.values_mut() {
            owed.delivery.resume();
        }
    }

    /// Forgets what is settled (done or given up) and returns it.
    pub fn remove_settled(&mut self) -> Vec<(K, Owed<M>)> {
        let settled: Vec<K> = (self.owed.iter())
            .filter(|(_, o)| o.delivery.is_settled())
            .map(|(k, _)| k.clone())
            .collect();
        settled
            .into_iter()
            .filter_map(|k| self.owed.remove(&k).map(|o| (k, o)))
            .collect()
    }

    pub fn get(&self, key: &K) -> Option<&Owed<M>> {
        self.owed.get(key)
    }

    pub fn remove(&mut self, key: &K) -> Option<Owed<M>> {
        self.owed.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &Owed<M>)> {
        self.owed.iter()
    }

    pub fn len(&self) -> usize {
        self.owed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owed.is_empty()
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
        d.settle(RoundOutcome::Transient, t0, "m");
        assert!(!d.take_if_due(t0), "paused after a failure");
        let pause = ScenarioTime(RESEND.pause_ms(1, "m"));
        assert!(!d.take_if_due(ScenarioTime(pause.0 - 1)));
        assert!(d.take_if_due(pause));
        for _ in 1..RESEND.max_rounds {
            d.settle(RoundOutcome::Transient, t0, "m");
            d.take_if_due(ScenarioTime(i64::MAX));
        }
        assert_eq!(d, Delivery::GaveUp);
        d.rearm();
        assert!(d.take_if_due(t0));
        d.settle(RoundOutcome::Accepted, t0, "m");
        assert!(d.is_done());
    }

    #[test]
    fn the_outbox_hands_out_in_key_order_and_keeps_what_failed() {
        let mut out: Outbox<String, u32> = Outbox::default();
        out.push("b".into(), 2).unwrap();
        out.push("a".into(), 1).unwrap();
        out.push("a".into(), 9).unwrap(); // already owed: kept as it was
        let t0 = ScenarioTime(0);
        let due = out.take_due(t0);
        assert_eq!(due, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
        assert!(out.take_due(t0).is_empty(), "in flight is not due again");
        out.settle(&"a".into(), RoundOutcome::Accepted, t0);
        out.settle(&"b".into(), RoundOutcome::Transient, t0);
        assert_eq!(out.remove_settled().len(), 1);
        assert_eq!(out.len(), 1);
        out.resume();
        let later = ScenarioTime(RESEND.pause_ms(1, "b"));
        assert_eq!(out.take_due(later), vec![("b".to_string(), 2)]);
        assert_eq!(out.settle(&"zz".into(), RoundOutcome::Accepted, t0), None);
    }

    #[test]
    fn a_refusal_is_final_and_a_full_outbox_refuses_to_grow() {
        let mut d = Delivery::due();
        assert!(d.take_if_due(ScenarioTime(0)));
        d.settle(RoundOutcome::Refused, ScenarioTime(0), "m");
        assert_eq!(d, Delivery::GaveUp);
        let mut out: Outbox<String, ()> = Outbox::default();
        for n in 0..MAX_OWED {
            out.push(format!("{n:06}"), ()).unwrap();
        }
        let err = out.push("one more".into(), ()).unwrap_err();
        assert!(err.message().starts_with("outbox:"), "{err}");
    }
}
