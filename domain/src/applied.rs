//! Idempotency memory: which message ids a node has already applied, and
//! what it answered.
//!
//! Every state-changing message carries a `message_id`; a receiver applies it
//! once and answers a resend with the first answer. The memory is bounded
//! (oldest ids are forgotten first) so a long run cannot grow it without end;
//! the bound is far above what one scenario sends to one node.

use std::collections::{HashMap, VecDeque};

/// Default number of ids remembered per node.
pub const DEFAULT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AppliedIds<R> {
    capacity: usize,
    order: VecDeque<String>,
    replies: HashMap<String, R>,
}

impl<R: Clone> AppliedIds<R> {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        AppliedIds {
            capacity,
            order: VecDeque::new(),
            replies: HashMap::new(),
        }
    }

    /// The answer given when `message_id` was first applied, if it was.
    pub fn reply_for(&self, message_id: &str) -> Option<R> {
        self.replies.get(message_id).cloned()
    }

    /// Remember that `message_id` was applied and answered with `reply`.
    pub fn record(&mut self, message_id: &str, reply: R) {
        if self.replies.insert(message_id.to_string(), reply).is_none() {
            self.order.push_back(message_id.to_string());
        }
        while self.order.len() > self.capacity {
            let oldest = self.order.pop_front().expect("len > capacity > 0");
            self.replies.remove(&oldest);
        }
        debug_assert_eq!(self.order.len(), self.replies.len());
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl<R: Clone> Default for AppliedIds<R> {
    fn default() -> Self {
        AppliedIds::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resend_gets_the_first_answer() {
        let mut ids = AppliedIds::new(10);
        ids.record("m1", 7);
        assert_eq!(ids.reply_for("m1"), Some(7));
        assert_eq!(ids.reply_for("m2"), None);
    }

    #[test]
    fn forgets_oldest_beyond_capacity() {
        let mut ids = AppliedIds::new(2);
        ids.record("a", 1);
        ids.record("b", 2);
        ids.record("c", 3);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids.reply_for("a"), None);
        assert_eq!(ids.reply_for("c"), Some(3));
    }
}
