//! One outgoing message that must get through, and its bounded resends.
//!
//! The message is stamped once, so every resend carries the same
//! `message_id` and the receiver applies it once. The courier already
//! retries each send for about a minute; a send that still fails with a
//! transient status is handed out again on a later tick, when the
//! protocol's one resend policy (`counterpart_protocol::RESEND`) says: a
//! doubling, jittered pause in scenario time, and a bound on the sends.
//! A refusal is final.

use counterpart_domain::clock::ScenarioTime;
use counterpart_protocol::{RoundOutcome, RESEND};
use pairing_proto::v1::{AssistanceRequest, DemobilisationRequest, MessageHeader, Receipt};
use tonic::Status;

/// A message that carries a header.
pub trait Stamped {
    fn header(&self) -> Option<&MessageHeader>;
}

macro_rules! stamped {
    ($($t:ty),*) => {$(
        impl Stamped for $t {
            fn header(&self) -> Option<&MessageHeader> {
                self.header.as_ref()
            }
        }
    )*};
}
stamped!(AssistanceRequest, DemobilisationRequest, Receipt);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Delivery {
    /// To be handed to the courier on the next tick.
    Due,
    InFlight,
    Delivered,
    /// Refused, or failed `RESEND.max_rounds` times.
    GaveUp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing<T> {
    message: T,
    sends: u32,
    delivery: Delivery,
    /// While due after a failed send: not before this time. Absent in the
    /// saves of the previous release, whose resends had no pause.
    #[serde(default)]
    not_before: Option<ScenarioTime>,
}

impl<T: Clone + Stamped> Outgoing<T> {
    pub fn new(message: T) -> Self {
        assert!(message.header().is_some(), "outgoing messages are stamped");
        Outgoing {
            message,
            sends: 0,
            delivery: Delivery::Due,
            not_before: None,
        }
    }

    pub fn message(&self) -> &T {
        &self.message
    }

    pub fn message_id(&self) -> &str {
        &self.message.header().expect("stamped in new").message_id
    }

    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// The message to send at `now`, if it is due; it is then in flight.
    pub fn take_due(&mut self, now: ScenarioTime) -> Option<T> {
        if self.delivery != Delivery::Due || self.not_before.is_some_and(|at| now < at) {
            return None;
        }
        assert!(
            self.sends < RESEND.max_rounds,
            "a due message has sends left"
        );
        self.sends += 1;
        self.delivery = Delivery::InFlight;
        Some(self.message.clone())
    }

    /// After a restart: the send in flight lost its outcome with the old
    /// process, so it is due again and does not count against the bound.
    pub fn resume(&mut self) {
        if self.delivery == Delivery::InFlight {
            self.delivery = Delivery::Due;
            self.sends = self.sends.saturating_sub(1);
        }
    }

    /// Records the outcome of the send in flight, at `now`; returns true
    /// when the message will not be sent again although it did not get
    /// through.
    pub fn settle<R>(&mut self, outcome: &Result<R, Status>, now: ScenarioTime) -> bool {
        if self.delivery != Delivery::InFlight {
            return false; // a stale outcome: nothing is in flight
        }
        self.delivery = match node_kit::retry::round_outcome(outcome) {
            RoundOutcome::Accepted => Delivery::Delivered,
            RoundOutcome::Transient => {
                match RESEND.next_round_ms(self.sends, now.0, self.message_id()) {
                    Some(at) => {
                        self.not_before = Some(ScenarioTime(at));
                        Delivery::Due
                    }
                    None => Delivery::GaveUp,
                }
            }
            RoundOutcome::Refused => Delivery::GaveUp,
        };
        self.delivery == Delivery::GaveUp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> Outgoing<Receipt> {
        Outgoing::new(Receipt {
            header: Some(MessageHeader {
                message_id: "m1".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    #[test]
    fn transient_failures_are_resent_after_a_pause_a_bounded_number_of_times() {
        let mut r = receipt();
        let t0 = ScenarioTime(0);
        r.take_due(t0).unwrap();
        r.settle::<()>(&Err(Status::unavailable("down")), t0);
        assert!(r.take_due(t0).is_none(), "paused after a failure");
        let pause = ScenarioTime(RESEND.pause_ms(1, "m1"));
        assert!(r.take_due(ScenarioTime(pause.0 - 1)).is_none());
        let mut sends = 1;
        // Two days later each time: past any pause (at most 1.2 days).
        let mut now = pause;
        while let Some(sent) = r.take_due(now) {
            assert_eq!(sent.header.as_ref().unwrap().message_id, "m1");
            sends += 1;
            r.settle::<()>(&Err(Status::unavailable("down")), now);
            now = now.plus_days(2.0);
        }
        assert_eq!(sends, RESEND.max_rounds);
        assert_eq!(r.delivery(), Delivery::GaveUp);
    }

    #[test]
    fn a_refusal_is_final_and_a_success_is_kept() {
        let t = ScenarioTime(0);
        let mut refused = receipt();
        refused.take_due(t).unwrap();
        assert!(refused.settle::<()>(&Err(Status::invalid_argument("bad")), t));
        assert!(refused.take_due(t).is_none());

        let mut delivered = receipt();
        delivered.take_due(t).unwrap();
        assert!(!delivered.settle(&Ok(()), t));
        assert_eq!(delivered.delivery(), Delivery::Delivered);
        assert!(delivered.take_due(t).is_none());
    }
}
