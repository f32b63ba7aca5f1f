//! pairctl: the operator's command line for Counterpart.
//!
//! `pairctl up` runs a whole scenario on one machine, one process per node,
//! and reports the outcome; `status`, `pairings`, `ledger` and `report`
//! query a running central. The modules:
//!
//! - [`cli`]: the command line (clap derive) and its defaults.
//! - [`commands`]: one module per subcommand, and the dispatch.
//! - [`plan`]: which nodes `up` starts, with which arguments, for how long.
//! - [`cluster`]: the node processes: spawn, learn their address, watch,
//!   stop.
//! - [`announce`]: finding a child's `LISTENING` line in its stdout.
//! - [`central_client`]: central's operator queries, with deadlines and
//!   one-line errors.
//! - [`report`]: the run report with the launch facts merged in, and the
//!   run summary.
//! - [`render`]: status, pairings and ledger as terminal text.
//! - [`table`]: aligned text columns.

pub mod announce;
pub mod central_client;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod plan;
pub mod render;
pub mod report;
pub mod table;
