//! The province node's integration tests, as one test binary: each binary
//! compiles and links its share of tonic, h2 and the node anew. In
//! `cargo --timings` the five binaries took 8-10 s each (39 s together);
//! this one took 20 s.
//!
//! - [`flow`]: a province's whole part in a case, against a fake central
//!   and city.
//! - [`malformed`]: every handler refuses arbitrary bad input with a
//!   status that names the field, and never panics.
//! - [`service`]: the gRPC service as a peer reaches it.
//! - [`stream_bounds`]: the bounds on what a stream may hold.
//! - [`trace`]: one trace per case across the province's messages.

mod common;
mod flow;
mod malformed;
mod service;
mod stream_bounds;
mod trace;
