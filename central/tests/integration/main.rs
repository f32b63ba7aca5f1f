//! Central's integration tests through its gRPC adapter, as one test
//! binary: each binary links its share of tonic, h2 and central anew (in
//! `cargo --timings` the four took 9.8 s together, this one 8.7 s).
//! `saves_under_load` stays a binary of its own: it shares the machine
//! with a CPU hog against the protocol's deadlines, and cargo runs test
//! binaries one at a time, so nothing else of ours runs beside it.
//!
//! - [`malformed`]: arbitrary bad input to every RPC gets a status naming
//!   the field, never a panic.
//! - [`resource_catalog`]: a resource type is known when it is a default
//!   or the scenario declares it.
//! - [`watch`]: `WatchOperation`'s bounds and first answer.
//! - [`writes_held`]: with the disk stalled, nothing changed is answered
//!   before it is saved, and everything else still answers.

#[path = "../common/mod.rs"]
mod common;
mod malformed;
mod resource_catalog;
mod watch;
mod writes_held;
