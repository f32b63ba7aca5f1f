//! One outgoing message that must get through, and its bounded resends.
//!
//! The message is stamped once, so every resend carries the same
//! `message_id` and the receiver applies it once. The courier already
//! retries each send for about a minute; a send that still fails with a
//! transient status is handed out again on a later tick, at most
//! [`MAX_SENDS`] times in all. A refusal is final.

use pairing_proto::v1::{AssistanceRequest, DemobilisationRequest, MessageHeader, Receipt};
use tonic::Status;

/// Sends of one message in all, the first included.
pub const MAX_SENDS: u32 = 5;

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
    /// Refused, or failed [`MAX_SENDS`] times.
    GaveUp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing<T> {
    message: T,
    sends: u32,
    delivery: Delivery,
}

impl<T: Clone + Stamped> Outgoing<T> {
    pub fn new(message: T) -> Self {
        assert!(message.header().is_some(), "outgoing messages are stamped");
        Outgoing {
            message,
            sends: 0,
            delivery: Delivery::Due,
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

    /// The message to send now, if it is due; it is then in flight.
    pub fn take_due(&mut self) -> Option<T> {
        if self.delivery != Delivery::Due {
            return None;
        }
        assert!(self.sends < MAX_SENDS, "a due message has sends left");
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

    /// Records the outcome of the send in flight; returns true when the
    /// message will not be sent again although it did not get through.
    pub fn settle<R>(&mut self, outcome: &Result<R, Status>) -> bool {
        if self.delivery != Delivery::InFlight {
            return false; // a stale outcome: nothing is in flight
        }
        self.delivery = match outcome {
            Ok(_) => Delivery::Delivered,
            Err(status) if node_kit::retry::is_transient(status) && self.sends < MAX_SENDS => {
                Delivery::Due
            }
            Err(_) => Delivery::GaveUp,
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
    fn transient_failures_are_resent_a_bounded_number_of_times() {
        let mut r = receipt();
        let mut sends = 0;
        while let Some(sent) = r.take_due() {
            assert_eq!(sent.header.as_ref().unwrap().message_id, "m1");
            sends += 1;
            r.settle::<()>(&Err(Status::unavailable("down")));
        }
        assert_eq!(sends, MAX_SENDS);
        assert_eq!(r.delivery(), Delivery::GaveUp);
    }

    #[test]
    fn a_refusal_is_final_and_a_success_is_kept() {
        let mut refused = receipt();
        refused.take_due().unwrap();
        assert!(refused.settle::<()>(&Err(Status::invalid_argument("bad"))));
        assert!(refused.take_due().is_none());

        let mut delivered = receipt();
        delivered.take_due().unwrap();
        assert!(!delivered.settle(&Ok(())));
        assert_eq!(delivered.delivery(), Delivery::Delivered);
        assert!(delivered.take_due().is_none());
    }
}
