//! Counterpart's shared domain model: plain data and arithmetic, no network.
//!
//! - [`scenario`]: the scenario file (cities, provinces, rules) and its loader.
//! - [`clock`]: scenario time and its mapping to wall time.
//! - [`needs`]: treatment capacity and needs from a city's situation.
//! - [`quantities`]: how much of each resource type, one shape from the
//!   wire to the ledger.
//! - [`outcomes`]: what care does for patients: a city's daily course of
//!   illness, treatment and death under the care it has.
//! - [`tally`]: a city's daily tally on the wire, as numbered items that
//!   never change meaning, and its comparison with central's course.
//! - [`effort`]: a donor's effort, the share of a due shipment it sends,
//!   moved by its cost, its own outbreak and central's evaluations.
//! - [`policy`]: how the centre acts (pairing, delay, supervision, cap),
//!   as changes to central's rules.
//! - [`demobilisation`]: when a city may ask to demobilise (its need met).
//! - [`bounds`]: a value checked against its range, the error naming the
//!   field.
//! - [`applied`]: the bounded memory of applied message ids that makes every
//!   resend harmless.
//! - [`journal`]: a machine's state as records, and its changes as record
//!   writes, so a save costs the change and not the history.

pub mod applied;
pub mod bounds;
pub mod clock;
pub mod demobilisation;
pub mod draw;
pub mod effort;
pub mod journal;
pub mod needs;
pub mod outcomes;
pub mod policy;
pub mod quantities;
pub mod scenario;
pub mod tally;
