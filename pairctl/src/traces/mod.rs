//! The spans of a run and the protocol checker over them (issue 3).
//!
//! Every node exports its spans over OTLP; one case is one trace, rooted at
//! the city's `city.request`. These modules turn what was exported into
//! plain [`model::Span`]s and check that each case's trace follows the
//! protocol. The modules:
//!
//! - [`model`]: the plain span every source is turned into, and the
//!   attribute keys of the span conventions.
//! - [`conventions`]: which span names are client (sender) and server
//!   (receiver) spans, and which client span each server span answers.
//! - [`otlp`]: OTLP trace requests to spans, and an in-memory OTLP/gRPC
//!   trace receiver for tests.
//! - [`jaeger`]: a Jaeger JSON export (UI download or query API) to spans.
//! - [`case`]: one case's spans, its root and trace; the parent index.
//! - [`check`]: the checker: one trace per case, three services, call
//!   edges, with per-case summaries and violations.
//! - [`order`]: the checker's stage-order rule (no shipment before an
//!   acknowledgement, no receipt before a shipment, ...).

pub mod case;
pub mod check;
pub mod conventions;
pub mod jaeger;
pub mod model;
pub mod order;
pub mod otlp;

#[cfg(test)]
mod tests;
