//! Central's side of the protocol, with no I/O: the decision-maker,
//! coordinator and supervisor of docs/PROTOCOL.md as a state machine driven
//! by (message, scenario time) that returns the messages to send and the
//! records to save. The `central` crate is its edge: the gRPC service that
//! turns a [`Refusal`](crate::Refusal) into a status, the driver that
//! carries what the machine sends, the journal, the wall clock.
//!
//! - [`authority`]: the state machine; every incoming message and every
//!   tick, what central owes its peers, its journal records.
//! - [`case`]: one assistance case, its assignments and its event log.
//! - [`assessment`]: is local capacity exceeded, how severe, what targets.
//! - [`pairing`]: historical and optimized pairing, target splitting.
//! - [`ledger`]: shipments and receipts per case and donor, cross-checked.
//! - [`evaluation`]: commendation, warning or accountability.
//! - [`outcomes`]: what the aid that arrived did for each city's patients.
//! - [`report`]: the run report, built from the authority.
//! - [`roster`]: the scenario's nodes by id.
//!
//! They moved here from the `central` crate (which re-exports them under
//! their old paths) so that the protocol can be run, tested and simulated
//! without a runtime, a socket or a file.

pub mod assessment;
pub mod authority;
pub mod case;
pub mod evaluation;
pub mod ledger;
pub mod outcomes;
pub mod pairing;
pub mod report;
pub mod roster;
