//! Counterpart's protocol, with no I/O: what the three roles say to each
//! other, declared once so that every node, the trace checker and the tests
//! derive from it instead of keeping copies in step.
//!
//! - [`catalog`]: every RPC of the `pairing.v1` contract as a
//!   [`MessageKind`]: its service, who may send it, the stage of the
//!   protocol it belongs to, the sender's and the receiver's span names, and
//!   how a resend is recognised.
//! - [`resend`]: when a message that must get through is sent again, one
//!   policy for every role.
//! - [`roles`]: the roles ([`Role`]), the services they serve
//!   ([`Service`]) and the protocol's stages ([`Stage`]).
//!
//! The crate depends on nothing with a runtime, a socket or a file: purity
//! is a crate boundary here, and `tests/purity.rs` keeps it one.

pub mod catalog;
pub mod resend;
pub mod roles;

pub use catalog::{Access, Idempotency, MessageKind, CATALOG};
pub use resend::{ResendPolicy, RoundOutcome, RESEND};
pub use roles::{Role, Service, Stage};
