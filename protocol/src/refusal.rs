//! A refusal: the protocol's "no", as a typed value.
//!
//! The state machines and the field checks refuse a message with a
//! [`Refusal`]; only the node's gRPC edge (`node_kit::edge`) turns it into a
//! `tonic::Status`, with the same code and message. The codes are the gRPC
//! codes the protocol uses, so a sender sees exactly what it saw before the
//! machines moved here, and no code outside this list can be produced by
//! protocol logic.

use std::fmt;

/// Why a message was refused, in gRPC's terms (docs/PROTOCOL.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// A field is malformed, missing or out of bounds; the message names it.
    InvalidArgument,
    /// The message is well formed but the receiver's state does not allow
    /// it yet or any more (clock not started, case closed, version outside
    /// the window).
    FailedPrecondition,
    /// It names a case, assignment or node the receiver does not know.
    NotFound,
    /// The sender may not send this (wrong role, or about another node).
    PermissionDenied,
    /// A bounded store is full; the sender should try later.
    ResourceExhausted,
    /// The receiver cannot take it now (shutting down, recovering).
    Unavailable,
    /// A bug on the receiver's side: an invariant did not hold.
    Internal,
}

/// A refused message: the code and a message naming the field or rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    code: RefusalCode,
    message: String,
}

macro_rules! constructors {
    ($($name:ident => $code:ident),* $(,)?) => {$(
        #[doc = concat!("A refusal with [`RefusalCode::", stringify!($code), "`].")]
        pub fn $name(message: impl Into<String>) -> Self {
            Refusal { code: RefusalCode::$code, message: message.into() }
        }
    )*};
}

impl Refusal {
    // Named as tonic's `Status` constructors are, so the machines read as
    // they did before they moved, and a reader of either knows both.
    constructors! {
        invalid_argument => InvalidArgument,
        failed_precondition => FailedPrecondition,
        not_found => NotFound,
        permission_denied => PermissionDenied,
        resource_exhausted => ResourceExhausted,
        unavailable => Unavailable,
        internal => Internal,
    }

    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> RefusalCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for Refusal {}
