//! Benchmarks of Counterpart, each beside a baseline measured in the same
//! run on the same machine. The binaries under `src/bin/` print their
//! figures; BENCHMARKS.md at the repository root holds them with the
//! commands that produced them. Nothing here is a test: speed is measured,
//! never asserted.
//!
//! Shared pieces:
//! - [`machine`]: the machine a figure was measured on (cores, CPU, load).
//! - [`stats`]: percentiles, medians and spreads.
//! - [`load`]: a closed-loop load generator with N calls in flight.
//! - [`echo`]: the bare tonic echo service, the hot paths' baseline.
//! - [`stub`]: province and city servers that acknowledge whatever central
//!   sends, so central can be measured alone.
//! - [`rig`]: central in-process with registered nodes, open cases and the
//!   messages of its hot paths.
//! - [`setting`]: central durable or in memory, over TLS or plain TCP,
//!   and each sender's own client.
//! - [`scenario_gen`]: generated scenarios of any size (labelled as such).
//! - [`matrix`]: seeded cost matrices and their binary file format.
//! - [`procs`]: child processes, their RSS, the file descriptor limit.
//! - [`report_rows`]: the hot paths' rows, and what a durable central's
//!   writer did.
//! - [`run_report`]: figures read off a `pairctl up --report` file.
//! - [`scale_rows`]: the scale benchmark's rows, table and growth.

pub mod echo;
pub mod load;
pub mod machine;
pub mod matrix;
pub mod procs;
pub mod report_rows;
pub mod rig;
pub mod run_report;
pub mod scale_rows;
pub mod scenario_gen;
pub mod setting;
pub mod stats;
pub mod stub;
