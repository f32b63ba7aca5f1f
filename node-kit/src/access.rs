//! Who may send a node each message, decided in one place from the caller's
//! verified identity (its certificate, see [`crate::tls`]) and the message
//! catalog (`counterpart_protocol::catalog`), which says per kind who may
//! send it. Pure: a node's service adapter reads the identity and asks here.
//!
//! Central's orders and notices (clock, assignment, evaluation, adjustment,
//! demobilisation, decision, closure) come only from central. Every other
//! message comes from a node speaking for itself (`header.sender_id` is its
//! own id); that it is the city the assignment names, or a donor of the
//! city's case, is the state machine's check, which refuses any other
//! sender.

use counterpart_protocol::catalog::{self, Access, MessageKind, Query};
use pairing_proto::v1::{
    Adjustment, Assignment, CaseClosure, CaseDecision, ClockStart, DemobilisationOrder, Evaluation,
    Mediation, MessageHeader, NeedsUpdate, Receipt, Shipment, StepGrant,
};
use tonic::Status;

use crate::tls::{role_in, same_sender, Identity};

/// Whether `caller` may send a message of `kind` whose header names
/// `sender_id`: PERMISSION_DENIED naming what was wrong if not.
pub fn check_kind(caller: &Identity, kind: &MessageKind, sender_id: &str) -> Result<(), Status> {
    role_in(caller, kind.rpc, &kind.sender_roles())?;
    match kind.access {
        Access::FromCentral => Ok(()),
        Access::AsItself => same_sender(caller, kind.rpc, sender_id),
    }
}

/// Whether `caller` may ask the query `rpc` (the operator or central).
pub fn check_query(caller: &Identity, rpc: &str) -> Result<(), Status> {
    role_in(caller, rpc, Query::ASKED_BY)
}

/// A message a province or city receives: its kind in the catalog.
pub trait Guarded {
    const KIND: &'static MessageKind;
    fn header(&self) -> Option<&MessageHeader>;
}

macro_rules! guarded {
    ($($message:ty => $kind:expr;)*) => {$(
        impl Guarded for $message {
            const KIND: &'static MessageKind = &$kind;
            fn header(&self) -> Option<&MessageHeader> {
                self.header.as_ref()
            }
        }
    )*};
}

// ClockStart, StepGrant and Mediation go to both; each is the same rule for either
// (central only), so the province's entry stands for both here.
guarded! {
    ClockStart => catalog::PROVINCE_CLOCK_START;
    StepGrant => catalog::PROVINCE_STEP_GRANT;
    Assignment => catalog::ASSIGNMENT;
    Evaluation => catalog::EVALUATION;
    Adjustment => catalog::ADJUSTMENT;
    DemobilisationOrder => catalog::DEMOBILISATION_ORDER;
    Mediation => catalog::PROVINCE_MEDIATION;
    CaseDecision => catalog::CASE_DECISION;
    CaseClosure => catalog::CASE_CLOSURE;
    Receipt => catalog::RECEIPT;
    NeedsUpdate => catalog::NEEDS_UPDATE;
    Shipment => catalog::SHIPMENT;
}

/// Whether `caller` may send `message`: PERMISSION_DENIED naming what was
/// wrong if not.
pub fn check<M: Guarded>(caller: &Identity, message: &M) -> Result<(), Status> {
    let sender_id = message.header().map_or("", |h| h.sender_id.as_str());
    check_kind(caller, M::KIND, sender_id)
}

/// Whether `caller` may open a negotiation stream at all (each update is
/// then checked with [`check`]).
pub fn may_negotiate(caller: &Identity) -> Result<(), Status> {
    let kind = &catalog::NEEDS_UPDATE;
    role_in(caller, kind.rpc, &kind.sender_roles())
}

/// Whether `caller` may read a node's books (`pairctl ledger --reconcile`):
/// the operator or central, like central's own queries.
pub fn may_read_books(caller: &Identity) -> Result<(), Status> {
    check_query(caller, "GetBooks")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::Role;
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
    fn only_central_gives_orders_and_notices() {
        let central = Identity::new(Role::Central, "central");
        let guangxi = Identity::new(Role::Province, "guangxi");
        let wuhan = Identity::new(Role::City, "wuhan");
        assert!(check(&central, &Assignment::default()).is_ok());
        assert!(check(&central, &CaseClosure::default()).is_ok());
        for intruder in [&guangxi, &wuhan] {
            let status = check(intruder, &Assignment::default()).unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied);
            assert!(
                status.message().contains("only central"),
                "{}",
                status.message()
            );
            assert!(check(intruder, &CaseDecision::default()).is_err());
            assert!(check(intruder, &Evaluation::default()).is_err());
            assert!(check(intruder, &DemobilisationOrder::default()).is_err());
        }
    }

    #[test]
    fn receipts_and_shipments_come_only_from_their_sender_as_itself() {
        let wuhan = Identity::new(Role::City, "wuhan");
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let receipt = |sender| Receipt {
            header: from(sender),
            ..Default::default()
        };
        let shipment = |sender| Shipment {
            header: from(sender),
            ..Default::default()
        };
        assert!(check(&wuhan, &receipt("wuhan")).is_ok());
        let forged = check(&wuhan, &receipt("huangshi")).unwrap_err();
        assert_eq!(forged.code(), Code::PermissionDenied);
        assert!(forged.message().contains("\"huangshi\""));
        assert!(
            check(&jiangsu, &receipt("jiangsu")).is_err(),
            "a province is no city"
        );
        assert!(check(&jiangsu, &shipment("jiangsu")).is_ok());
        assert!(check(&jiangsu, &shipment("zhejiang")).is_err());
        assert!(
            check(&wuhan, &shipment("wuhan")).is_err(),
            "a city ships nothing"
        );
        assert!(may_negotiate(&jiangsu).is_err());
        assert!(may_negotiate(&wuhan).is_ok());
    }
}
