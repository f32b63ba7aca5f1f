//! What the three nodes (central, province, city) share at their I/O edge.
//! The protocol logic itself lives in `counterpart-protocol`, free of I/O;
//! this crate is the thin layer that puts it on the network.
//!
//! - `arbitrary` (feature): random and malformed messages for property tests.
//! - [`server`]: bind, announce the address, serve with health and reflection.
//! - [`net`]: the host's sockets and wall clock, or a simulation's
//!   (`pairctl sim`, feature `sim`).
//! - [`shutdown`]: one cancellation token, tripped by Ctrl-C or SIGTERM.
//! - [`cli`]: the flags of the province and city binaries.
//! - [`client`]: channels with a connect timeout, requests with a deadline.
//! - [`courier`]: background sending with bounded retries and queues.
//! - [`machine`]: the three protocol machines as the edge drives them:
//!   their clock and the time a handler is given.
//! - [`service`]: the one service adapter: span, caller check, count,
//!   the machine under its lock, refusal to status, flush before answering.
//! - [`sequencer`]: the alternative to the lock: one task applies queued
//!   changes in batches.
//! - [`driver`]: the one tick loop: tick under the lock, flush, dispatch.
//! - [`registration`]: registering with central; the tick period.
//! - [`retry`]: bounded, jittered retries for calls that must get through.
//! - [`durable`]: the node's state machine, each change journaled to SQLite
//!   by a writer thread before it is acknowledged.
//! - [`header`]: headers stamped with this life of the process.
//! - [`faults`]: seeded fault injection on the server side, for fault suites.
//! - [`edge`]: where the protocol's refusals become gRPC statuses.
//! - [`counters`]: messages received, by kind, for the run report.
//! - [`telemetry`]: the tracing subscriber and the OTLP span exporter.
//! - [`trace`]: one case, one trace: spans, propagation, case contexts.
//! - [`tls`]: mutual TLS between the nodes; who a caller is.
//! - [`access`]: who may send a province or a city each message.

pub mod access;
#[cfg(feature = "arbitrary")]
pub mod arbitrary;
pub mod cli;
pub mod client;
pub mod counters;
pub mod courier;
pub mod driver;
pub mod durable;
pub mod edge;
pub mod faults;
pub mod header;
pub mod lockstep;
pub mod machine;
pub mod net;
pub mod registration;
pub mod retry;
pub mod sequencer;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod trace;
