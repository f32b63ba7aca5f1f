//! The edge between the protocol and gRPC: a [`Refusal`] leaves a node as
//! the `tonic::Status` with the same code and message. This is the only
//! place the two meet, so the protocol crate never sees tonic.

use counterpart_protocol::{Refusal, RefusalCode};
use tonic::{Code, Status};

/// The gRPC code a refusal is sent with.
pub fn code(code: RefusalCode) -> Code {
    match code {
        RefusalCode::InvalidArgument => Code::InvalidArgument,
        RefusalCode::FailedPrecondition => Code::FailedPrecondition,
        RefusalCode::NotFound => Code::NotFound,
        RefusalCode::PermissionDenied => Code::PermissionDenied,
        RefusalCode::ResourceExhausted => Code::ResourceExhausted,
        RefusalCode::Unavailable => Code::Unavailable,
        RefusalCode::Internal => Code::Internal,
    }
}

/// The status a refusal is sent as: its code, its message unchanged.
pub fn status(refusal: Refusal) -> Status {
    Status::new(code(refusal.code()), refusal.message().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_code_and_message_at_the_edge() {
        let s = status(Refusal::invalid_argument("needs[0].quantity: -1"));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "needs[0].quantity: -1");
        let s = status(Refusal::permission_denied("not yours"));
        assert_eq!(s.code(), Code::PermissionDenied);
    }
}
