//! Folding the journal into the snapshot a step at a time, so no commit
//! waits for a whole fold.
//!
//! A fold used to run as one transaction after the commit that took the
//! journal past [`super::store::SNAPSHOT_EVERY`] entries: 11-20 ms on
//! central's report path, with every commit (and so every call in flight)
//! waiting for it. Now a fold is a *generation*: the newest entry of each
//! record changed up to journal entry `upto`, set aside when the fold
//! starts. The writer then takes one [`FOLD_STEP_ROWS`] step after each
//! commit (and steps on while it has nothing to commit), each step its own
//! transaction:
//!
//! 1. **copy**: write up to [`FOLD_STEP_ROWS`] of the generation's records
//!    into the snapshot (a body replaces, a delete removes);
//! 2. **trim**: once all are copied, delete up to [`FOLD_STEP_ROWS`] journal
//!    entries at or below `upto`, oldest first, advancing `snapshot_seq`
//!    past them.
//!
//! The file is a valid store after every step. Loading reads the snapshot,
//! then replays the journal after `snapshot_seq` (newest entry of each
//! record wins). A record copied early may be newer in the snapshot than
//! `snapshot_seq` says; its entries are all still in the journal until the
//! trim passes them, so the replay gives it the same or a newer body.
//! A node stopped mid-fold starts with the journal after `snapshot_seq`
//! unfolded, and folds it again.

use std::collections::BTreeMap;

use counterpart_domain::journal::RecordKey;
use rusqlite::{params, Transaction};

/// Records copied, or journal entries trimmed, in one step: about 1-2 ms
/// of the writer's time, the longest a commit waits for a fold.
pub const FOLD_STEP_ROWS: usize = 256;

/// How far past [`super::store::SNAPSHOT_EVERY`] the journal may grow while
/// a fold goes a step at a time (behind a writer that commits large
/// batches): beyond this many times it, the fold finishes at once.
pub const CATCH_UP_FACTOR: u64 = 4;

/// Each record changed since a fold started: the sequence of its newest
/// journal entry, and that entry's body (`None`: deleted).
pub type Unfolded = BTreeMap<RecordKey, (u64, Option<Vec<u8>>)>;

/// A fold under way.
#[derive(Debug)]
pub struct Fold {
    /// The journal entries this fold moves into the snapshot: those at or
    /// below `upto`.
    pub upto: u64,
    /// The generation's records not yet copied into the snapshot.
    pub to_copy: Unfolded,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Records copied into the snapshot.
    Copied(usize),
    /// Journal entries trimmed, and `snapshot_seq` now.
    Trimmed { snapshot_seq: u64 },
}

/// Takes one step of `fold`, in `transaction`, from a snapshot complete up
/// to `snapshot_seq`.
pub fn step(
    transaction: &Transaction<'_>,
    fold: &mut Fold,
    snapshot_seq: u64,
) -> Result<Step, rusqlite::Error> {
    if fold.to_copy.is_empty() {
        let through = fold.upto.min(snapshot_seq + FOLD_STEP_ROWS as u64);
        transaction
            .prepare_cached("DELETE FROM journal WHERE seq > ?1 AND seq <= ?2")?
            .execute(params![snapshot_seq as i64, through as i64])?;
        set_meta(transaction, "snapshot_seq", through)?;
        return Ok(Step::Trimmed {
            snapshot_seq: through,
        });
    }
    let mut upsert = transaction.prepare_cached(
        "INSERT INTO snapshot (kind, id, seq, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
    )?;
    let mut delete =
        transaction.prepare_cached("DELETE FROM snapshot WHERE kind = ?1 AND id = ?2")?;
    let mut copied = 0;
    while copied < FOLD_STEP_ROWS {
        let Some((key, (seq, body))) = fold.to_copy.pop_first() else {
            break;
        };
        match body {
            Some(body) => upsert.execute(params![key.kind, key.id, seq as i64, body])?,
            None => delete.execute(params![key.kind, key.id])?,
        };
        copied += 1;
    }
    Ok(Step::Copied(copied))
}

pub fn set_meta(
    transaction: &Transaction<'_>,
    key: &str,
    value: u64,
) -> Result<(), rusqlite::Error> {
    transaction
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value.to_string()])?;
    Ok(())
}
