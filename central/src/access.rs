//! Who may call which of central's RPCs, decided in one place from the
//! caller's verified identity (its certificate, see `node_kit::tls`) and the
//! message catalog, which says per kind who may send it. Pure: the service
//! adapter reads the identity and asks here.
//!
//! A province or city speaks only for itself: the `header.sender_id` of
//! its message must be its own id, and its certificate's role must be one
//! the catalog lets send the kind. A registration must also ask for the
//! certificate's own role. The operator's queries are open to the operator
//! (pairctl) and to central itself.

use counterpart_protocol::catalog::MessageKind;
use node_kit::access::check_kind;
pub use node_kit::access::check_query;
use node_kit::tls::{Identity, Role};
use tonic::Status;

/// What a message claims about its sender.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claim<'a> {
    /// `header.sender_id` ("" when the message has no header).
    pub sender_id: &'a str,
    /// The role a registration asks for, if the message is one.
    pub registers_as: Option<Role>,
}

/// Whether `caller` may send a message of `kind` claiming `claim`:
/// PERMISSION_DENIED naming what was wrong if not.
pub fn check(caller: &Identity, kind: &MessageKind, claim: Claim<'_>) -> Result<(), Status> {
    check_kind(caller, kind, claim.sender_id)?;
    match claim.registers_as {
        Some(role) if role != caller.role => Err(Status::permission_denied(format!(
            "{}: role {role} asked for, but the caller's certificate is a {}'s",
            kind.rpc, caller.role
        ))),
        _ => Ok(()),
    }
}

/// The certificate role of a registration's `role` field, if it has one.
pub fn registered_role(role: i32) -> Option<Role> {
    use pairing_proto::v1::Role as Wire;
    match Wire::try_from(role).ok()? {
        Wire::Central => Some(Role::Central),
        Wire::Province => Some(Role::Province),
        Wire::City => Some(Role::City),
        Wire::Unspecified => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use counterpart_protocol::catalog::{
        ACKNOWLEDGEMENT, ASSISTANCE_REQUEST, CAPACITY_REPORT, REGISTER, SUPERVISORY_REPORT,
    };
    use tonic::Code;

    fn claim(sender_id: &str) -> Claim<'_> {
        Claim {
            sender_id,
            registers_as: None,
        }
    }

    fn denied(result: Result<(), Status>) -> String {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        status.message().to_string()
    }

    #[test]
    fn a_node_may_speak_for_itself_in_its_role() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        assert!(check(&jiangsu, &CAPACITY_REPORT, claim("jiangsu")).is_ok());
        assert!(check(&jiangsu, &SUPERVISORY_REPORT, claim("jiangsu")).is_ok());
        let wuhan = Identity::new(Role::City, "wuhan");
        assert!(check(&wuhan, &ASSISTANCE_REQUEST, claim("wuhan")).is_ok());
        assert!(check(&wuhan, &SUPERVISORY_REPORT, claim("wuhan")).is_ok());
    }

    #[test]
    fn a_node_may_not_speak_for_another() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let why = denied(check(&jiangsu, &SUPERVISORY_REPORT, claim("guangxi")));
        assert!(
            why.contains("\"guangxi\"") && why.contains("province jiangsu"),
            "{why}"
        );
    }

    #[test]
    fn a_node_may_not_use_another_roles_rpc() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let why = denied(check(&jiangsu, &ASSISTANCE_REQUEST, claim("jiangsu")));
        assert!(why.contains("only city"), "{why}");
        let wuhan = Identity::new(Role::City, "wuhan");
        denied(check(&wuhan, &ACKNOWLEDGEMENT, claim("wuhan")));
        let operator = Identity::new(Role::Operator, "operator");
        denied(check(&operator, &CAPACITY_REPORT, claim("operator")));
    }

    #[test]
    fn registration_must_be_in_the_certificates_role() {
        let wuhan = Identity::new(Role::City, "wuhan");
        let as_province = Claim {
            sender_id: "wuhan",
            registers_as: Some(Role::Province),
        };
        let why = denied(check(&wuhan, &REGISTER, as_province));
        assert!(why.contains("role province"), "{why}");
        let as_city = Claim {
            sender_id: "wuhan",
            registers_as: Some(Role::City),
        };
        assert!(check(&wuhan, &REGISTER, as_city).is_ok());
        assert_eq!(
            registered_role(pairing_proto::v1::Role::City as i32),
            Some(Role::City)
        );
        assert_eq!(registered_role(99), None);
    }

    #[test]
    fn queries_are_for_the_operator_and_central() {
        assert!(check_query(&Identity::new(Role::Operator, "operator"), "GetStatus").is_ok());
        assert!(check_query(&Identity::new(Role::Central, "central"), "GetLedger").is_ok());
        let why = denied(check_query(
            &Identity::new(Role::Province, "jiangsu"),
            "GetReport",
        ));
        assert!(why.contains("only operator or central"), "{why}");
    }
}
