//! Who may send the donor province each message, decided in one place from
//! the caller's verified identity (its certificate, see `node_kit::tls`).
//! Pure: the service adapter reads the identity and asks here.
//!
//! Central's orders (clock, assignment, evaluation, adjustment,
//! demobilisation) come only from central. Receipts and needs updates come
//! from a city speaking for itself (`header.sender_id` is its own id); that
//! it is the city the assignment names is the [`Donor`](crate::donor::Donor)
//! machine's check, which refuses any other sender.

use node_kit::tls::{role_in, same_sender, Identity, Role};
use pairing_proto::v1::{
    Adjustment, Assignment, ClockStart, DemobilisationOrder, Evaluation, MessageHeader,
    NeedsUpdate, Receipt,
};
use tonic::Status;

/// Who may send one kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Central only.
    Central,
    /// A city, about itself.
    CityAsItself,
}

/// A message the province receives, and who may send it.
pub trait Guarded {
    const RPC: &'static str;
    const RULE: Rule;
    fn header(&self) -> Option<&MessageHeader>;
}

macro_rules! guarded {
    ($($message:ty => $rpc:literal, $rule:expr;)*) => {$(
        impl Guarded for $message {
            const RPC: &'static str = $rpc;
            const RULE: Rule = $rule;
            fn header(&self) -> Option<&MessageHeader> {
                self.header.as_ref()
            }
        }
    )*};
}

guarded! {
    ClockStart => "StartClock", Rule::Central;
    Assignment => "Assign", Rule::Central;
    Evaluation => "Evaluate", Rule::Central;
    Adjustment => "Adjust", Rule::Central;
    DemobilisationOrder => "Demobilise", Rule::Central;
    Receipt => "ConfirmReceipt", Rule::CityAsItself;
    NeedsUpdate => "NegotiatePlan", Rule::CityAsItself;
}

/// Whether `caller` may send `message`: PERMISSION_DENIED naming what was
/// wrong if not.
pub fn check<M: Guarded>(caller: &Identity, message: &M) -> Result<(), Status> {
    match M::RULE {
        Rule::Central => role_in(caller, M::RPC, &[Role::Central]),
        Rule::CityAsItself => {
            role_in(caller, M::RPC, &[Role::City])?;
            let sender_id = message.header().map_or("", |h| h.sender_id.as_str());
            same_sender(caller, M::RPC, sender_id)
        }
    }
}

/// Whether `caller` may open a negotiation stream at all (each update is
/// then checked with [`check`]).
pub fn may_negotiate(caller: &Identity) -> Result<(), Status> {
    role_in(caller, NeedsUpdate::RPC, &[Role::City])
}

/// Whether `caller` may read the node's books (`pairctl ledger
/// --reconcile`): the operator or central, like central's own queries.
pub fn may_read_books(caller: &Identity) -> Result<(), Status> {
    role_in(caller, "GetBooks", &[Role::Operator, Role::Central])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn from(sender_id: &str) -> Option<MessageHeader> {
        Some(MessageHeader {
            sender_id: sender_id.to_string(),
            ..Default::default()
        })
    }

    #[test]
    fn only_the_operator_and_central_read_the_books() {
        assert!(may_read_books(&Identity::new(Role::Operator, "operator")).is_ok());
        assert!(may_read_books(&Identity::new(Role::Central, "central")).is_ok());
        let status = may_read_books(&Identity::new(Role::City, "wuhan")).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(may_read_books(&Identity::new(Role::Province, "jiangsu")).is_err());
    }

    #[test]
    fn only_central_gives_orders() {
        let central = Identity::new(Role::Central, "central");
        let guangxi = Identity::new(Role::Province, "guangxi");
        let wuhan = Identity::new(Role::City, "wuhan");
        let order = Assignment::default();
        assert!(check(&central, &order).is_ok());
        for intruder in [&guangxi, &wuhan] {
            let status = check(intruder, &order).unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied);
            assert!(
                status.message().contains("only central"),
                "{}",
                status.message()
            );
        }
        assert!(check(&wuhan, &Evaluation::default()).is_err());
        assert!(check(&wuhan, &DemobilisationOrder::default()).is_err());
    }

    #[test]
    fn a_city_confirms_receipts_only_as_itself() {
        let wuhan = Identity::new(Role::City, "wuhan");
        let own = Receipt {
            header: from("wuhan"),
            ..Default::default()
        };
        assert!(check(&wuhan, &own).is_ok());
        let forged = Receipt {
            header: from("huangshi"),
            ..Default::default()
        };
        let status = check(&wuhan, &forged).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains("\"huangshi\""));
        let province = Identity::new(Role::Province, "wuhan");
        assert!(check(&province, &own).is_err(), "a province is no city");
        assert!(may_negotiate(&province).is_err());
        assert!(may_negotiate(&wuhan).is_ok());
    }
}
