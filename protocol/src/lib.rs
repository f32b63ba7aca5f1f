//! Counterpart's protocol, with no I/O: what the three roles say to each
//! other, declared once so that every node, the trace checker and the tests
//! derive from it instead of keeping copies in step.
//!
//! - [`catalog`]: every RPC of the `pairing.v1` contract as a
//!   [`MessageKind`]: its service, who may send it, the stage of the
//!   protocol it belongs to, the sender's and the receiver's span names, and
//!   how a resend is recognised.
//! - [`outbox`]: what a node owes its peers ([`outbox::Outbox`],
//!   [`outbox::Delivery`]); [`inbox`]: what it has already applied.
//! - [`mediation`]: a dispute between the paired sides, and central's
//!   ruling on it.
//! - [`resend`]: when a message that must get through is sent again, one
//!   policy for every role.
//! - [`refusal`]: the protocol's typed "no" ([`Refusal`]), which becomes a
//!   gRPC status only at a node's edge.
//! - [`validate`]: checks of incoming fields, each refusal naming the field.
//! - [`header`]: message ids and headers for what a node sends.
//! - [`persist`]: how a machine is written down as journal records.
//! - [`donor`]: the donor province's state machine ([`donor::Donor`]),
//!   its shipment planner and what it sends; `province-node` serves it.
//! - [`recipient`]: the recipient city's state machine (requests, receipts,
//!   reports, demobilisation), driven by messages and scenario time.
//! - [`roles`]: the roles ([`Role`]), the services they serve
//!   ([`Service`]) and the protocol's stages ([`Stage`]).
//! - [`central`]: central's state machine (the authority) and the pure
//!   logic it decides with: assessment, pairing, ledger, evaluation.
//!
//! The crate depends on nothing with a runtime, a socket or a file: purity
//! is a crate boundary here, and `tests/purity.rs` keeps it one.

pub mod catalog;
pub mod central;
pub mod donor;
pub mod header;
pub mod inbox;
pub mod mediation;
pub mod outbox;
pub mod persist;
pub mod recipient;
pub mod refusal;
pub mod resend;
pub mod roles;
pub mod validate;

pub use catalog::{Access, Idempotency, MessageKind, CATALOG};
pub use refusal::{Refusal, RefusalCode};
pub use resend::{ResendPolicy, RoundOutcome, RESEND};
pub use roles::{Role, Service, Stage};
