//! The domain crate's integration tests, as one test binary (one link
//! instead of three in the test build).
//!
//! - [`scenarios`]: the shipped scenario files load and say what they
//!   should.
//! - [`scenario_errors`]: a broken scenario file is refused with the line
//!   and field of the fault.
//! - [`resource_catalog`]: the resource types a scenario declares.

mod resource_catalog;
mod scenario_errors;
mod scenarios;
