//! One outgoing message that must get through, and its bounded resends.
//!
//! The message is stamped once, so every resend carries the same
//! `message_id` and the receiver applies it once. The courier already
//! retries each send for about a minute; a send that still fails with a
//! transient status is handed out again on a later tick, when the
//! protocol's one resend policy ([`RESEND`](crate::RESEND)) says: a
//! doubling, jittered pause in scenario time, and a bound on the rounds.
//! A refusal is final. Where the message stands is the protocol's one
//! [`Delivery`] state, the one central's and the provinces' outboxes keep.
//!
//! The city journals its outgoing messages. The previous release saved
//! them as `{message, sends, delivery: "Due" | "InFlight" | "Delivered" |
//! "GaveUp", not_before}`; such a save still loads (see [`Wire`]), and is
//! written in the new shape `{message, delivery}` at the next save.

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::v1::{
    AssistanceRequest, DemobilisationRequest, Dispute, MessageHeader, Receipt,
};
use serde::{Deserialize, Serialize};

pub use crate::outbox::Delivery;
use crate::resend::RoundOutcome;

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
stamped!(AssistanceRequest, DemobilisationRequest, Dispute, Receipt);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Wire<T>")]
pub struct Outgoing<T> {
    message: T,
    delivery: Delivery,
}

impl<T: Clone + Stamped> Outgoing<T> {
    pub fn new(message: T) -> Self {
        assert!(message.header().is_some(), "outgoing messages are stamped");
        Outgoing {
            message,
            delivery: Delivery::due(),
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
        self.delivery.take_if_due(now).then(|| self.message.clone())
    }

    /// After a restart: the send in flight lost its outcome with the old
    /// process, so it is due again and does not count against the bound.
    pub fn resume(&mut self) {
        self.delivery.resume();
    }

    /// Records how the send in flight ended (`round`, as the edge
    /// classified it), at `now`; returns true when the message will not be
    /// sent again although it did not get through. An outcome when nothing
    /// is in flight is stale and changes nothing.
    pub fn settle(&mut self, round: RoundOutcome, now: ScenarioTime) -> bool {
        if !matches!(self.delivery, Delivery::InFlight { .. }) {
            return false;
        }
        let key = crate::header::jitter_key(self.message_id());
        self.delivery.settle(round, now, &key);
        self.delivery == Delivery::GaveUp
    }
}

/// What a saved [`Outgoing`] may look like: the current shape, or the
/// previous release's (a send count beside a plain delivery state).
#[derive(Deserialize)]
struct Wire<T> {
    message: T,
    delivery: WireDelivery,
    /// Previous release: sends made, the one in flight included.
    #[serde(default)]
    sends: u32,
    /// Previous release: while due after a failed send, not before this.
    #[serde(default)]
    not_before: Option<ScenarioTime>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireDelivery {
    Current(Delivery),
    Previous(PreviousDelivery),
}

/// The previous release's delivery states.
#[derive(Deserialize)]
enum PreviousDelivery {
    Due,
    InFlight,
    Delivered,
    GaveUp,
}

impl<T> From<Wire<T>> for Outgoing<T> {
    fn from(wire: Wire<T>) -> Self {
        let delivery = match wire.delivery {
            WireDelivery::Current(delivery) => delivery,
            // Every send but one in flight failed: a due message after n
            // sends has had n failed rounds.
            WireDelivery::Previous(PreviousDelivery::Due) => Delivery::Due {
                not_before: wire.not_before.unwrap_or(ScenarioTime(i64::MIN)),
                failed_rounds: wire.sends,
            },
            WireDelivery::Previous(PreviousDelivery::InFlight) => Delivery::InFlight {
                failed_rounds: wire.sends.saturating_sub(1),
            },
            WireDelivery::Previous(PreviousDelivery::Delivered) => Delivery::Done,
            WireDelivery::Previous(PreviousDelivery::GaveUp) => Delivery::GaveUp,
        };
        Outgoing {
            message: wire.message,
            delivery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RESEND;

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
        r.settle(RoundOutcome::Transient, t0);
        assert!(r.take_due(t0).is_none(), "paused after a failure");
        let pause = ScenarioTime(RESEND.pause_ms(1, "m1"));
        assert!(r.take_due(ScenarioTime(pause.0 - 1)).is_none());
        let mut sends = 1;
        // Two days later each time: past any pause (at most 1.2 days).
        let mut now = pause;
        while let Some(sent) = r.take_due(now) {
            assert_eq!(sent.header.as_ref().unwrap().message_id, "m1");
            sends += 1;
            r.settle(RoundOutcome::Transient, now);
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
        assert!(refused.settle(RoundOutcome::Refused, t));
        assert!(refused.take_due(t).is_none());

        let mut delivered = receipt();
        delivered.take_due(t).unwrap();
        assert!(!delivered.settle(RoundOutcome::Accepted, t));
        assert_eq!(delivered.delivery(), Delivery::Done);
        assert!(delivered.take_due(t).is_none());
        assert!(!delivered.settle(RoundOutcome::Refused, t), "stale");
        assert_eq!(delivered.delivery(), Delivery::Done);
    }

    /// The previous release's shape, as its city journaled it.
    fn previous(delivery: &str, sends: u32, not_before: Option<i64>) -> Outgoing<Receipt> {
        let mut json = serde_json::json!({
            "message": {"header": {"message_id": "m1", "sender_id": "huangshi",
                "scenario_time_ms": 0}, "receipt_id": "rcpt-s1", "shipment_id": "s1",
                "case_id": "c1", "received_at_ms": 5, "received": [], "discrepancies": []},
            "sends": sends,
            "delivery": delivery,
        });
        if let Some(at) = not_before {
            json["not_before"] = at.into();
        }
        serde_json::from_value(json).expect("the previous release's shape loads")
    }

    #[test]
    fn the_previous_releases_saved_shape_loads_with_its_rounds() {
        let due = previous("Due", 3, Some(7_000));
        assert_eq!(due.message().shipment_id, "s1");
        let expected = Delivery::Due {
            not_before: ScenarioTime(7_000),
            failed_rounds: 3,
        };
        assert_eq!(due.delivery(), expected);
        // Saved before pauses existed: due at once.
        let mut fresh = previous("Due", 0, None);
        assert_eq!(fresh.delivery(), Delivery::due());
        assert!(fresh.take_due(ScenarioTime(0)).is_some());
        let in_flight = previous("InFlight", 2, None);
        assert_eq!(
            in_flight.delivery(),
            Delivery::InFlight { failed_rounds: 1 }
        );
        assert_eq!(previous("Delivered", 1, None).delivery(), Delivery::Done);
        assert_eq!(previous("GaveUp", 12, None).delivery(), Delivery::GaveUp);
    }

    #[test]
    fn the_current_shape_round_trips() {
        let mut r = receipt();
        r.take_due(ScenarioTime(0));
        r.settle(RoundOutcome::Transient, ScenarioTime(0));
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("sends").is_none(), "{json}");
        let back: Outgoing<Receipt> = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        let done = serde_json::json!({"message": r.message(), "delivery": "Done"});
        let done: Outgoing<Receipt> = serde_json::from_value(done).unwrap();
        assert!(done.delivery().is_done());
    }
}
