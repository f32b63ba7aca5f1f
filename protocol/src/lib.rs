//! Counterpart's protocol, with no I/O: the three roles' state machines and
//! what they say to each other, declared once so that every node, the trace
//! checker and the tests derive from it instead of keeping copies in step.
//! A machine takes a message (or a tick) and the scenario time, and returns
//! its answer, the messages to send and, through [`persist::Persistent`],
//! the records to save; the node crates put it on the network.
//!
//! The three machines:
//! - [`central`]: the central authority ([`central::authority::Authority`])
//!   and the pure logic it decides with: assessment, pairing, ledger,
//!   evaluation, the run report.
//! - [`donor`]: the donor province ([`donor::Donor`]), its shipment planner
//!   and what it sends.
//! - [`recipient`]: the recipient city ([`recipient::Recipient`]): requests,
//!   receipts, reports, disputes, demobilisation.
//!
//! What they share:
//! - [`catalog`]: every RPC of the `pairing.v1` contract as a
//!   [`MessageKind`]: its service, who may send it, the stage it belongs to,
//!   the sender's and the receiver's span names, how a resend is recognised
//!   and the feature it needs.
//! - [`roles`]: the roles ([`Role`]), the services they serve
//!   ([`Service`]) and the protocol's stages ([`Stage`]).
//! - [`refusal`]: the protocol's typed "no" ([`Refusal`]), which becomes a
//!   gRPC status only at a node's edge; [`validate`]: the checks of incoming
//!   fields, each refusal naming the field.
//! - [`outbox`]: what a node owes its peers ([`outbox::Outbox`],
//!   [`outbox::Delivery`]) under the one resend policy ([`resend`]);
//!   [`inbox`]: the one rule of what was applied already.
//! - [`mediation`]: a dispute between the paired sides, and central's
//!   ruling on it.
//! - [`header`]: message ids and headers for what a node sends (the boot
//!   stamp is given, never read here).
//! - [`persist`]: how a machine is written down as journal records.
//!
//! With the feature `planted-bugs` (the simulator's checker tests, never a
//! release build), `planted` holds three deliberate bugs, each off until a
//! thread plants it.
//!
//! The crate depends on nothing with a runtime, a socket or a file: purity
//! is a crate boundary here, and `tests/purity.rs` keeps it one.

pub mod catalog;
pub mod central;
pub mod donor;
pub mod header;
pub mod inbox;
pub mod lockstep;
pub mod mediation;
pub mod outbox;
pub mod persist;
// Bugs for the simulator's checker tests; never in a release build.
#[cfg(feature = "planted-bugs")]
pub mod planted;
pub mod recipient;
pub mod refusal;
pub mod resend;
pub mod roles;
pub mod validate;

pub use catalog::{Access, Idempotency, MessageKind, CATALOG};
pub use refusal::{Refusal, RefusalCode};
pub use resend::{ResendPolicy, RoundOutcome, RESEND};
pub use roles::{Role, Service, Stage};

#[cfg(all(test, feature = "planted-bugs"))]
mod planted_tests;
