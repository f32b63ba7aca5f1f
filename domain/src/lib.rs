//! Counterpart's shared domain model: plain data and arithmetic, no network.
//!
//! - [`scenario`]: the scenario file (cities, provinces, rules) and its loader.
//! - [`clock`]: scenario time and its mapping to wall time.
//! - [`needs`]: treatment capacity and needs from a city's situation.
//! - [`applied`]: the bounded memory of applied message ids that makes every
//!   resend harmless.

pub mod applied;
pub mod clock;
pub mod needs;
pub mod scenario;
