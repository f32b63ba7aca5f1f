//! Who may call which of central's RPCs, decided in one place from the
//! caller's verified identity (its certificate, see `node_kit::tls`). Pure:
//! the service adapter reads the identity and asks here.
//!
//! A province or city speaks only for itself: the `header.sender_id` of
//! its message must be its own id, and its certificate's role must be the
//! one the RPC is for. The operator's queries are open to the operator
//! (pairctl) and to central itself.

use node_kit::tls::{role_in, same_sender, Identity, Role};
use tonic::Status;

/// Who may send one RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A node in one of these roles, about itself.
    AsItself(&'static [Role]),
    /// Operator queries: the operator or central.
    Operator,
}

pub const REGISTER: Rule = Rule::AsItself(&[Role::Province, Role::City]);
pub const CAPACITY: Rule = Rule::AsItself(&[Role::Province]);
pub const REQUEST: Rule = Rule::AsItself(&[Role::City]);
pub const ACKNOWLEDGEMENT: Rule = Rule::AsItself(&[Role::Province]);
pub const REPORT: Rule = Rule::AsItself(&[Role::Province, Role::City]);
pub const DEMOBILISATION: Rule = Rule::AsItself(&[Role::City]);
pub const QUERY: Rule = Rule::Operator;

/// What a message claims about its sender.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claim<'a> {
    /// `header.sender_id` ("" when the message has no header).
    pub sender_id: &'a str,
    /// The role a registration asks for, if the message is one.
    pub registers_as: Option<Role>,
}

/// Whether `caller` may call `rpc` under `rule` with a message claiming
/// `claim`: PERMISSION_DENIED naming what was wrong if not.
pub fn check(caller: &Identity, rpc: &str, rule: Rule, claim: Claim<'_>) -> Result<(), Status> {
    match rule {
        Rule::Operator => role_in(caller, rpc, &[Role::Operator, Role::Central]),
        Rule::AsItself(roles) => {
            role_in(caller, rpc, roles)?;
            same_sender(caller, rpc, claim.sender_id)?;
            match claim.registers_as {
                Some(role) if role != caller.role => Err(Status::permission_denied(format!(
                    "{rpc}: role {role} asked for, but the caller's certificate is a {}'s",
                    caller.role
                ))),
                _ => Ok(()),
            }
        }
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
        assert!(check(&jiangsu, "ReportCapacity", CAPACITY, claim("jiangsu")).is_ok());
        assert!(check(&jiangsu, "SubmitReport", REPORT, claim("jiangsu")).is_ok());
        let wuhan = Identity::new(Role::City, "wuhan");
        assert!(check(&wuhan, "RequestAssistance", REQUEST, claim("wuhan")).is_ok());
        assert!(check(&wuhan, "SubmitReport", REPORT, claim("wuhan")).is_ok());
    }

    #[test]
    fn a_node_may_not_speak_for_another() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let why = denied(check(&jiangsu, "SubmitReport", REPORT, claim("guangxi")));
        assert!(
            why.contains("\"guangxi\"") && why.contains("province jiangsu"),
            "{why}"
        );
    }

    #[test]
    fn a_node_may_not_use_another_roles_rpc() {
        let jiangsu = Identity::new(Role::Province, "jiangsu");
        let why = denied(check(
            &jiangsu,
            "RequestAssistance",
            REQUEST,
            claim("jiangsu"),
        ));
        assert!(why.contains("only city"), "{why}");
        let wuhan = Identity::new(Role::City, "wuhan");
        denied(check(
            &wuhan,
            "AcknowledgeAssignment",
            ACKNOWLEDGEMENT,
            claim("wuhan"),
        ));
        let operator = Identity::new(Role::Operator, "operator");
        denied(check(
            &operator,
            "ReportCapacity",
            CAPACITY,
            claim("operator"),
        ));
    }

    #[test]
    fn registration_must_be_in_the_certificates_role() {
        let wuhan = Identity::new(Role::City, "wuhan");
        let as_province = Claim {
            sender_id: "wuhan",
            registers_as: Some(Role::Province),
        };
        let why = denied(check(&wuhan, "Register", REGISTER, as_province));
        assert!(why.contains("role province"), "{why}");
        let as_city = Claim {
            sender_id: "wuhan",
            registers_as: Some(Role::City),
        };
        assert!(check(&wuhan, "Register", REGISTER, as_city).is_ok());
        assert_eq!(
            registered_role(pairing_proto::v1::Role::City as i32),
            Some(Role::City)
        );
        assert_eq!(registered_role(99), None);
    }

    #[test]
    fn queries_are_for_the_operator_and_central() {
        let none = Claim::default();
        assert!(check(
            &Identity::new(Role::Operator, "operator"),
            "GetStatus",
            QUERY,
            none
        )
        .is_ok());
        assert!(check(
            &Identity::new(Role::Central, "central"),
            "GetLedger",
            QUERY,
            none
        )
        .is_ok());
        let why = denied(check(
            &Identity::new(Role::Province, "jiangsu"),
            "GetReport",
            QUERY,
            none,
        ));
        assert!(why.contains("only operator or central"), "{why}");
    }
}
