//! The compatibility crate's integration tests, as one test binary (one
//! link instead of two in the test build).
//!
//! - [`catalog`]: the message catalog and the contract name the same RPCs.
//! - [`gate`]: the contract keeps the released one; each kind of break is
//!   named.

mod catalog;
mod gate;
