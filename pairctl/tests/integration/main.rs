//! pairctl's integration tests, as one test binary (one link instead of
//! three in the test build).
//!
//! - [`check_traces_cli`]: `pairctl check-traces` as a user runs it.
//! - [`compose_file`]: the committed compose file is what `pairctl
//!   compose` makes.
//! - [`k8s_manifests`]: the committed Kubernetes manifests, built and
//!   validated.

mod check_traces_cli;
mod compose_file;
mod k8s_manifests;
