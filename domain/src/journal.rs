//! A machine's durable state as records, and what changed in it as a list
//! of record writes: the vocabulary a state machine uses to say what must
//! be saved, without knowing how (node-kit's journal does the writing).
//!
//! A record is one thing the machine owns: a case, a ledger entry, an
//! applied message id. Its address is a [`RecordKey`] (what kind of thing,
//! which one); its body is bytes only the machine reads back. A machine
//! that tracks what it changed hands out just those records after each
//! change, so a save costs the change, not the history; restoring is the
//! last snapshot of every record plus the changes made since.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Where a record lives: its kind (`"case"`, `"shipment"`) and its id
/// within the kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub kind: String,
    pub id: String,
}

impl RecordKey {
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        RecordKey {
            kind: kind.to_string(),
            id: id.into(),
        }
    }
}

/// One write to a machine's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The record now holds `body` (created or replaced).
    Put { key: RecordKey, body: Vec<u8> },
    /// The record is gone.
    Delete { key: RecordKey },
}

impl Change {
    pub fn put(kind: &str, id: impl Into<String>, body: Vec<u8>) -> Self {
        Change::Put {
            key: RecordKey::new(kind, id),
            body,
        }
    }

    pub fn delete(kind: &str, id: impl Into<String>) -> Self {
        Change::Delete {
            key: RecordKey::new(kind, id),
        }
    }

    pub fn key(&self) -> &RecordKey {
        match self {
            Change::Put { key, .. } | Change::Delete { key } => key,
        }
    }
}

/// Every record of a machine, by key: a snapshot, or what a replay builds.
pub type Records = BTreeMap<RecordKey, Vec<u8>>;

/// Applies `changes`, in order, to `records`.
pub fn apply(records: &mut Records, changes: impl IntoIterator<Item = Change>) {
    for change in changes {
        match change {
            Change::Put { key, body } => {
                records.insert(key, body);
            }
            Change::Delete { key } => {
                records.remove(&key);
            }
        }
    }
}

/// The records of one kind, by id, in id order.
pub fn of_kind<'a>(
    records: &'a Records,
    kind: &'a str,
) -> impl Iterator<Item = (&'a str, &'a [u8])> {
    records
        .iter()
        .filter(move |(key, _)| key.kind == kind)
        .map(|(key, body)| (key.id.as_str(), body.as_slice()))
}

/// Remembers the last body written for a record so an unchanged one is not
/// written again: for records a machine rewrites whole (its small scalar
/// fields) and cannot cheaply tell whether they changed.
#[derive(Debug, Clone, Default)]
pub struct LastWritten(Option<u64>);

impl LastWritten {
    /// `Some(change)` when `body` differs from what was written last.
    pub fn put_if_changed(&mut self, kind: &str, id: &str, body: Vec<u8>) -> Option<Change> {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let digest = hasher.finish();
        if self.0 == Some(digest) {
            return None;
        }
        self.0 = Some(digest);
        Some(Change::put(kind, id, body))
    }
}

/// Zero-padded so ids of numbered records sort in number order.
pub fn numbered_id(n: u64) -> String {
    format!("{n:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_in_order_and_a_delete_removes() {
        let mut records = Records::new();
        apply(
            &mut records,
            [
                Change::put("case", "a", b"1".to_vec()),
                Change::put("case", "b", b"2".to_vec()),
                Change::put("case", "a", b"3".to_vec()),
                Change::delete("case", "b"),
            ],
        );
        assert_eq!(records.len(), 1);
        assert_eq!(records[&RecordKey::new("case", "a")], b"3");
    }

    #[test]
    fn an_unchanged_body_is_not_written_again() {
        let mut last = LastWritten::default();
        assert!(last.put_if_changed("k", "", b"x".to_vec()).is_some());
        assert!(last.put_if_changed("k", "", b"x".to_vec()).is_none());
        assert!(last.put_if_changed("k", "", b"y".to_vec()).is_some());
    }

    #[test]
    fn numbered_ids_sort_as_numbers() {
        assert!(numbered_id(9) < numbered_id(10));
        assert!(numbered_id(99) < numbered_id(100_000));
    }
}
