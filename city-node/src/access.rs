//! Who may send the recipient city each message, decided in one place from
//! the caller's verified identity (its certificate, see `node_kit::tls`).
//! Pure: the service adapter reads the identity and asks here.
//!
//! Central's messages (clock, decision, closure) come only from central.
//! Shipments come from a province speaking for itself (`header.sender_id`
//! is its own id); that it is a donor of the city's current case is the
//! [`Recipient`](crate::recipient::Recipient) machine's check, which
//! refuses any other sender.

use node_kit::tls::{role_in, same_sender, Identity, Role};
use pairing_proto::v1::{CaseClosure, CaseDecision, ClockStart, MessageHeader, Shipment};
use tonic::Status;

/// Who may send one kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Central only.
    Central,
    /// A province, about itself.
    ProvinceAsItself,
}

/// A message the city receives, and who may send it.
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
    CaseDecision => "NotifyDecision", Rule::Central;
    CaseClosure => "CloseCase", Rule::Central;
    Shipment => "DeliverShipment", Rule::ProvinceAsItself;
}

/// Whether `caller` may send `message`: PERMISSION_DENIED naming what was
/// wrong if not.
pub fn check<M: Guarded>(caller: &Identity, message: &M) -> Result<(), Status> {
    match M::RULE {
        Rule::Central => role_in(caller, M::RPC, &[Role::Central]),
        Rule::ProvinceAsItself => {
            role_in(caller, M::RPC, &[Role::Province])?;
            let sender_id = message.header().map_or("", |h| h.sender_id.as_str());
            same_sender(caller, M::RPC, sender_id)
        }
    }
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

    #[test]
    fn only_the_operator_and_central_read_the_books() {
        assert!(may_read_books(&Identity::new(Role::Operator, "operator")).is_ok());
        assert!(may_read_books(&Identity::new(Role::Central, "central")).is_ok());
        let status = may_read_books(&Identity::new(Role::City, "wuhan")).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(may_read_books(&Identity::new(Role::Province, "jiangsu")).is_err());
    }

    #[test]
    fn only_central_decides_and_closes() {
        let central = Identity::new(Role::Central, "central");
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let wuhan = Identity::new(Role::City, "wuhan");
        assert!(check(&central, &CaseClosure::default()).is_ok());
        for intruder in [&jiangsu, &wuhan] {
            let status = check(intruder, &CaseClosure::default()).unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied);
            assert!(check(intruder, &CaseDecision::default()).is_err());
            assert!(check(intruder, &ClockStart::default()).is_err());
        }
    }

    #[test]
    fn a_province_ships_only_as_itself() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let shipment = |sender: &str| Shipment {
            header: Some(MessageHeader {
                sender_id: sender.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check(&jiangsu, &shipment("jiangsu")).is_ok());
        let status = check(&jiangsu, &shipment("guangxi")).unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains("\"guangxi\""));
        let central = Identity::new(Role::Central, "central");
        assert!(check(&central, &shipment("central")).is_err());
    }
}
