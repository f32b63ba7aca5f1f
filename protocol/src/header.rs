//! Message ids and headers for the messages a node sends.
//!
//! An id is `<node>-<boot>-<seq>`: the boot stamp keeps a restarted node
//! from reusing the ids of its previous life, which receivers would take for
//! resends and ignore. The stamp is given, not read here: the node's edge
//! passes its wall time at start (`node_kit::boot_stamp`), a simulation
//! anything unique per life, so nothing in this crate reads a clock.

use std::sync::atomic::{AtomicU64, Ordering};

use counterpart_domain::clock::ScenarioTime;
use pairing_proto::v1::MessageHeader;

#[derive(Debug)]
pub struct HeaderFactory {
    node_id: String,
    boot: i64,
    seq: AtomicU64,
}

impl HeaderFactory {
    /// Headers for `node_id` in the life stamped `boot` (unique per start
    /// of the node: its wall ms at start, in a real process).
    pub fn new(node_id: &str, boot: i64) -> Self {
        HeaderFactory {
            node_id: node_id.to_string(),
            boot,
            seq: AtomicU64::new(0),
        }
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// A fresh header stamped with scenario time `now`.
    pub fn header(&self, now: ScenarioTime) -> MessageHeader {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        MessageHeader {
            message_id: format!("{}-{}-{}", self.node_id, self.boot, seq),
            sender_id: self.node_id.clone(),
            scenario_time_ms: now.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_name_the_sender() {
        let f = HeaderFactory::new("jiangsu", 1_700_000_000_000);
        let a = f.header(ScenarioTime(5));
        let b = f.header(ScenarioTime(5));
        assert_ne!(a.message_id, b.message_id);
        assert_eq!(a.sender_id, "jiangsu");
        assert!(a.message_id.starts_with("jiangsu-"));
    }
}

/// What of a message id a resend's pause is jittered by: `<node>-<seq>`,
/// without the life stamp, which is wall time in a real process. So the
/// same run resends at the same scenario times, whenever it ran.
pub fn jitter_key(message_id: &str) -> String {
    let mut parts = message_id.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(seq), Some(life), Some(node))
            if seq.parse::<u64>().is_ok() && life.parse::<i64>().is_ok() =>
        {
            format!("{node}-{seq}")
        }
        _ => message_id.to_string(),
    }
}

#[cfg(test)]
mod jitter_tests {
    use super::jitter_key;

    #[test]
    fn the_life_stamp_does_not_move_a_resend() {
        assert_eq!(jitter_key("huangshi-1733443200123-7"), "huangshi-7");
        assert_eq!(
            jitter_key("huangshi-1733443200123-7"),
            jitter_key("huangshi-1733449999999-7")
        );
        assert_eq!(jitter_key("inner-mongolia-17-3"), "inner-mongolia-3");
        assert_eq!(jitter_key("capacity-2"), "capacity-2");
    }
}
