//! Counterpart's shared domain model: plain data and arithmetic, no network.
//!
//! - [`scenario`]: the scenario file (cities, provinces, rules) and its loader.
//! - [`clock`]: scenario time and its mapping to wall time.
//! - [`needs`]: treatment capacity and needs from a city's situation.
//! - [`quantities`]: how much of each resource type, one shape from the
//!   wire to the ledger.
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
pub mod journal;
pub mod needs;
pub mod quantities;
pub mod scenario;
