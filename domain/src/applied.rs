//! Idempotency memory: which message ids a node has already applied, and
//! what it answered.
//!
//! Every state-changing message carries a `message_id`; a receiver applies it
//! once and answers a resend with the first answer. The memory is bounded
//! (oldest ids are forgotten first) so a long run cannot grow it without end;
//! the bound is far above what one scenario sends to one node.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::journal::{numbered_id, Change};

/// Default number of ids remembered per node.
pub const DEFAULT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AppliedIds<R> {
    capacity: usize,
    /// The ids, oldest first, each shared with its entry in `replies`: an
    /// id is allocated once when recorded (it was copied twice before).
    order: VecDeque<Arc<str>>,
    replies: HashMap<Arc<str>, R>,
    /// Ids recorded over the memory's whole life: the number of the next.
    /// The oldest id remembered is number `total - order.len()`.
    #[serde(default)]
    total: u64,
    /// What the journal holds (see [`AppliedIds::take_changes`]): ids
    /// numbered `saved_front..saved_total`.
    #[serde(skip)]
    saved_front: u64,
    #[serde(skip)]
    saved_total: u64,
}

impl<R: Clone> AppliedIds<R> {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0);
        AppliedIds {
            capacity,
            order: VecDeque::new(),
            replies: HashMap::new(),
            total: 0,
            saved_front: 0,
            saved_total: 0,
        }
    }

    /// The answer given when `message_id` was first applied, if it was.
    pub fn reply_for(&self, message_id: &str) -> Option<R> {
        self.replies.get(message_id).cloned()
    }

    /// Remember that `message_id` was applied and answered with `reply`.
    pub fn record(&mut self, message_id: &str, reply: R) {
        if let Some(known) = self.replies.get_mut(message_id) {
            *known = reply;
        } else {
            let id: Arc<str> = Arc::from(message_id);
            self.replies.insert(id.clone(), reply);
            self.order.push_back(id);
            self.total += 1;
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

    /// The memory as the previous release saved it (a JSON document with no
    /// numbering): numbered from 0, with nothing in the journal yet.
    pub fn renumbered(mut self) -> Self {
        self.total = self.total.max(self.order.len() as u64);
        self.saved_front = 0;
        self.saved_total = 0;
        self
    }

    /// Number of the oldest id remembered.
    fn front(&self) -> u64 {
        self.total - self.order.len() as u64
    }
}

/// The memory as journal records of `kind`: one per id, numbered in the
/// order they were recorded, so a save writes the ids recorded since the
/// last save and deletes those forgotten since, and a restore rebuilds the
/// same order (and so forgets the same ids next).
impl<R: Clone + Serialize + DeserializeOwned> AppliedIds<R> {
    /// The records changed since the last call (or since restore).
    pub fn take_changes(&mut self, kind: &str) -> Result<Vec<Change>, String> {
        let front = self.front();
        let mut changes = Vec::new();
        // Forgotten since the last save; those recorded and forgotten
        // between two saves never reached the journal.
        for n in self.saved_front..front.min(self.saved_total) {
            changes.push(Change::delete(kind, numbered_id(n)));
        }
        for n in self.saved_total.max(front)..self.total {
            let id = &self.order[(n - front) as usize];
            let body = serde_json::to_vec(&(&**id, &self.replies[id]))
                .map_err(|e| format!("applied id {id:?}: {e}"))?;
            changes.push(Change::put(kind, numbered_id(n), body));
        }
        self.saved_front = front;
        self.saved_total = self.total;
        Ok(changes)
    }

    /// Every record, as [`AppliedIds::take_changes`] writes them.
    pub fn records(&self, kind: &str) -> Result<Vec<Change>, String> {
        let mut all = self.clone();
        all.saved_front = 0;
        all.saved_total = 0;
        all.take_changes(kind)
    }

    /// The memory the records `(id, body)` of one kind describe, with
    /// `capacity`; the journal is then up to date with it.
    pub fn from_records<'a>(
        capacity: usize,
        records: impl Iterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, String> {
        let mut ids = AppliedIds::new(capacity);
        let mut next: Option<u64> = None;
        for (number, body) in records {
            let n: u64 = number
                .parse()
                .map_err(|_| format!("applied id record {number:?}: not a number"))?;
            if next.is_some_and(|next| n != next) {
                return Err(format!("applied id record {number:?}: not after {next:?}"));
            }
            let (id, reply): (String, R) = serde_json::from_slice(body)
                .map_err(|e| format!("applied id record {number:?}: {e}"))?;
            // The records are contiguous (ids are forgotten oldest first),
            // so the first sets where numbering resumes.
            ids.total = n;
            ids.record(&id, reply);
            next = Some(n + 1);
        }
        ids.saved_front = ids.front();
        ids.saved_total = ids.total;
        Ok(ids)
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
    fn the_journal_holds_what_was_recorded_since_and_drops_what_was_forgotten() {
        let mut ids = AppliedIds::new(3);
        ids.record("a", 1);
        ids.record("b", 2);
        let first = ids.take_changes("applied").unwrap();
        assert_eq!(first.len(), 2, "{first:?}");
        assert!(
            ids.take_changes("applied").unwrap().is_empty(),
            "nothing new"
        );
        ids.record("b", 2); // a resend: nothing to save
        assert!(ids.take_changes("applied").unwrap().is_empty());
        ids.record("c", 3);
        ids.record("d", 4); // forgets "a"
        let second = ids.take_changes("applied").unwrap();
        assert_eq!(second.len(), 3, "delete a, put c and d: {second:?}");
        assert!(matches!(second[0], Change::Delete { .. }));

        let mut records = crate::journal::Records::new();
        crate::journal::apply(&mut records, first.into_iter().chain(second));
        let restored: AppliedIds<i32> =
            AppliedIds::from_records(3, crate::journal::of_kind(&records, "applied")).unwrap();
        assert_eq!(restored.order, ids.order);
        assert_eq!(restored.total, ids.total);
        assert_eq!(restored.reply_for("d"), Some(4));
        assert_eq!(restored.reply_for("a"), None);
        let mut restored = restored;
        assert!(restored.take_changes("applied").unwrap().is_empty());
        assert_eq!(restored.records("applied").unwrap().len(), 3);
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
