//! Message headers, stamped with this process's life.
//!
//! [`HeaderFactory`] itself is pure and lives in the protocol crate; the
//! one thing it needs from the machine, a stamp unique to this start of the
//! node, is read here, at the edge.

use crate::net::unix_now_ms;
pub use counterpart_protocol::header::HeaderFactory;

/// Headers for `node_id` in this life of the process: the boot stamp is the
/// wall time now, so a restarted node never reuses its earlier ids.
pub fn this_life(node_id: &str) -> HeaderFactory {
    HeaderFactory::new(node_id, unix_now_ms())
}
