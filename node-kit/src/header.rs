//! Message ids and headers for the messages a node sends.
//!
//! An id is `<node>-<boot>-<seq>`: the boot stamp (wall ms at start) keeps a
//! restarted node from reusing the ids of its previous life, which receivers
//! would take for resends and ignore.

use std::sync::atomic::{AtomicU64, Ordering};

use counterpart_domain::clock::{unix_now_ms, ScenarioTime};
use pairing_proto::v1::MessageHeader;

#[derive(Debug)]
pub struct HeaderFactory {
    node_id: String,
    boot: i64,
    seq: AtomicU64,
}

impl HeaderFactory {
    pub fn new(node_id: &str) -> Self {
        HeaderFactory {
            node_id: node_id.to_string(),
            boot: unix_now_ms(),
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
        let f = HeaderFactory::new("jiangsu");
        let a = f.header(ScenarioTime(5));
        let b = f.header(ScenarioTime(5));
        assert_ne!(a.message_id, b.message_id);
        assert_eq!(a.sender_id, "jiangsu");
        assert!(a.message_id.starts_with("jiangsu-"));
    }
}
