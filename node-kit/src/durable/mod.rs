//! Durable state: a node's state machine, whose every change is written to
//! an append-only journal in SQLite before the change is acknowledged, so
//! a `kill -9` at any moment loses nothing a peer was told had happened.
//!
//! A save costs the change, not the history: the machine says which of its
//! records changed ([`Persistent::take_changes`]: a case, a ledger entry, an
//! applied message id), and only those are written. A message that changes
//! nothing (a resend, a refusal) writes nothing.
//!
//! - [`small`]: how a province's or city's few kilobytes are journaled.
//! - [`store`]: the SQLite file: journal, snapshot, and which node it is.
//! - [`fold`]: how the journal moves into the snapshot a step at a time
//!   between commits.
//! - [`hold`]: how long handlers wait for the machine's lock and hold it.
//! - [`writer`]: the thread that writes, off the async workers and off the
//!   machine's lock, one transaction for everything queued (group commit).
//! - [`checkpoint`]: the thread beside it that copies the WAL into the
//!   database file, so no commit waits for that copy and its fsyncs, and
//!   the hard limit on the WAL's size that the writer keeps.
//! - [`Durable`]: the machine behind a mutex; [`Durable::lock`] hands out a
//!   guard that, when dropped after a change, takes the machine's changes
//!   and queues them; [`Durable::flushed`] waits until they are on disk.
//! - [`open`]: a fresh machine, or the one the data directory holds.
//!
//! Durability: WAL with `synchronous=NORMAL` ([`Durability::Normal`])
//! survives the death of the process (what the fault suites inflict) but
//! not a power cut; [`Durability::Full`] fsyncs every commit.

pub mod checkpoint;
pub mod fold;
pub mod hold;
pub mod store;
pub mod writer;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use counterpart_domain::journal::{Change, Records};

pub use counterpart_protocol::persist::small;
pub use store::{Durability, JournalStore, LEGACY_KIND, STATE_FILE};
pub use writer::WriteHold;
use writer::Writer;

/// How long a stopping node waits for its queued changes to reach the disk
/// before it exits anyway (what is not saved by then was never answered).
pub const DRAIN_BOUND: Duration = Duration::from_secs(3);

pub use counterpart_protocol::persist::Persistent;

/// A state machine shared by a node's service and driver, each change
/// journaled when the node has a store.
#[derive(Debug)]
pub struct Durable<M> {
    machine: Mutex<M>,
    writer: Option<Writer>,
    /// Batches of changes handed to the writer; bumped under the machine's
    /// lock, so batch numbers follow the order of the changes.
    batches: AtomicU64,
    /// Times the machine was borrowed to change, for [`Durable::published`].
    version: AtomicU64,
    /// The copy readers share, and the version it was taken at.
    published: Mutex<Option<(u64, Arc<M>)>>,
}

impl<M: Persistent> Durable<M> {
    /// A machine kept in memory only (tests, and runs that choose not to
    /// keep state): nothing is written, [`Durable::flushed`] never waits.
    pub fn in_memory(machine: M) -> Self {
        Durable {
            machine: Mutex::new(machine),
            writer: None,
            batches: AtomicU64::new(0),
            version: AtomicU64::new(0),
            published: Mutex::new(None),
        }
    }

    /// A machine journaled to `store`, which already holds its records.
    pub fn journaled(machine: M, store: JournalStore, name: &str) -> Result<Self, String> {
        Ok(Durable {
            machine: Mutex::new(machine),
            writer: Some(Writer::start(store, name)?),
            batches: AtomicU64::new(0),
            version: AtomicU64::new(0),
            published: Mutex::new(None),
        })
    }

    /// The machine, to change: its changes are taken and queued for the
    /// writer when the guard drops, if it was borrowed mutably.
    pub fn lock(&self) -> Changing<'_, M> {
        let asked = Instant::now();
        let guard = self.read();
        let locked = Instant::now();
        Changing {
            guard,
            durable: self,
            changed: false,
            waited: locked - asked,
            locked,
        }
    }

    /// The machine, to look at only.
    pub fn read(&self) -> MutexGuard<'_, M> {
        // A panic while holding the lock is a bug already reported; the
        // state it left is still the best there is, and it is saved next.
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The machine as of now, as a copy to read at leisure: operator
    /// queries build their answers from it without holding the machine's
    /// lock. The lock is held only to copy, and only when the machine was
    /// changed since the last copy; readers in between share one.
    pub fn published(&self) -> Arc<M>
    where
        M: Clone,
    {
        self.published_versioned().1
    }

    /// [`Durable::published`] with the version the copy was taken at: two
    /// copies of the same version are the same machine, so a reader that
    /// looks again and again can tell "nothing changed" without comparing.
    pub fn published_versioned(&self) -> (u64, Arc<M>)
    where
        M: Clone,
    {
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, copy)) = published.as_ref() {
            if *version == self.version.load(Ordering::SeqCst) {
                return (*version, copy.clone());
            }
        }
        let (version, copy) = {
            let machine = self.read();
            // Read under the lock: every change counted is in the copy.
            (
                self.version.load(Ordering::SeqCst),
                Arc::new(machine.clone()),
            )
        };
        *published = Some((version, copy.clone()));
        (version, copy)
    }

    /// Returns once every change made before the call is on disk: await it
    /// before answering the message that caused a change.
    pub async fn flushed(&self) {
        let Some(writer) = &self.writer else {
            return; // nothing to keep
        };
        let target = self.batches.load(Ordering::SeqCst);
        let mut saved = writer.saved();
        // The writer lives as long as `self`; it ends only when dropped.
        let _ = saved.wait_for(|saved| *saved >= target).await;
    }

    /// For a stopping node: waits until every change made so far is on
    /// disk, at most `bound`; says whether it got there.
    pub async fn drain(&self, bound: Duration) -> bool {
        let drained = tokio::time::timeout(bound, self.flushed()).await.is_ok();
        if !drained {
            tracing::error!(
                ?bound,
                "changes still unsaved at exit; they were never answered"
            );
        }
        drained
    }

    /// Holds every write until the hold is dropped (see [`WriteHold`]);
    /// `None` for a machine in memory or written inline.
    pub fn hold_writes(&self) -> Option<WriteHold> {
        self.writer.as_ref().and_then(Writer::hold)
    }

    /// Takes the machine's changes (under its lock, which `machine` is) and
    /// queues them; a change that left no record changed queues nothing.
    fn queue_changes(&self, machine: &mut M) {
        let Some(writer) = &self.writer else {
            machine.discard_changes();
            return;
        };
        match machine.take_changes() {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => {
                let number = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
                writer.push(number, changes);
            }
            Err(error) => fatal(&error),
        }
    }
}

/// The machine of a fresh run (`fresh`), or the one saved in `data_dir`
/// (`restore` reads its records back), with every record on disk before the
/// node answers anyone. Without a data directory the machine lives in
/// memory only.
pub fn open<M: Persistent>(
    data_dir: Option<&Path>,
    durability: Durability,
    node_id: &str,
    scenario: &str,
    fresh: impl FnOnce() -> Result<M, String>,
    restore: impl FnOnce(&Records) -> Result<M, String>,
) -> Result<Durable<M>, String> {
    let Some(dir) = data_dir else {
        return Ok(Durable::in_memory(fresh()?));
    };
    let mut store = JournalStore::open(dir, node_id, scenario, durability)?;
    let mut machine = match store.load()? {
        Some(records) if records.contains_key(&legacy_key()) => {
            // The previous release's whole state: every record of the
            // machine read from it goes into the journal, before anything.
            let mut machine = restore(&records)?;
            machine.take_changes()?;
            let all = machine.records()?;
            let all: Vec<Change> = all
                .into_iter()
                .map(|(key, body)| Change::Put { key, body })
                .collect();
            store.append(&all)?;
            tracing::info!(node = node_id, path = %store.path().display(), records = all.len(),
                "resumed from the previous release's saved state, now journaled");
            machine
        }
        Some(records) => {
            let mut machine = restore(&records)?;
            // A restored machine's journal marks are where the store is:
            // nothing to write but what changes from now on.
            let pending = machine.take_changes()?;
            store.append(&pending)?;
            tracing::info!(node = node_id, path = %store.path().display(),
                commits = store.commits(), "resumed from its journal");
            machine
        }
        None => fresh()?,
    };
    let initial = machine.take_changes()?;
    store.append(&initial)?;
    store.fold_if_due()?;
    Durable::journaled(machine, store, node_id)
}

/// Adds `took` in nanoseconds to one of the process-wide totals
/// ([`hold`], [`writer::totals`]): measurement only, no decision reads it.
fn add_nanos(total: &AtomicU64, took: Duration) {
    let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
    total.fetch_add(nanos, Ordering::Relaxed);
}

fn legacy_key() -> counterpart_domain::journal::RecordKey {
    counterpart_domain::journal::RecordKey::new(LEGACY_KIND, "")
}

/// The previous release's whole-state document, when `records` is one.
pub fn legacy_state(records: &Records) -> Option<&[u8]> {
    records.get(&legacy_key()).map(Vec::as_slice)
}

/// The change is in memory but cannot reach the disk, and someone may be
/// about to acknowledge it. Stopping is the only way to keep the promise:
/// the supervisor restarts the node from its journal and the sender,
/// seeing no answer, sends again.
fn fatal(error: &str) -> ! {
    tracing::error!(%error, "state not saved; stopping the node");
    eprintln!("fatal: state not saved: {error}");
    std::process::abort();
}

/// A borrowed machine that queues its changes when dropped, if borrowed
/// mutably.
pub struct Changing<'a, M: Persistent> {
    guard: MutexGuard<'a, M>,
    durable: &'a Durable<M>,
    changed: bool,
    /// For [`hold`]'s totals: how long the lock was waited for, and when
    /// it was taken.
    waited: Duration,
    locked: Instant,
}

impl<M: Persistent> Changing<'_, M> {
    /// Releases the machine without asking it for changes: for a caller
    /// that borrowed it mutably but knows, from the machine itself, that
    /// nothing durable changed (a tick that found nothing due).
    pub fn release_unchanged(mut self) {
        self.changed = false;
    }
}

impl<M: Persistent> Deref for Changing<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.guard
    }
}

impl<M: Persistent> DerefMut for Changing<'_, M> {
    fn deref_mut(&mut self) -> &mut M {
        self.changed = true;
        &mut self.guard
    }
}

impl<M: Persistent> Drop for Changing<'_, M> {
    fn drop(&mut self) {
        if self.changed {
            // Still under the machine's lock: batches queue in the order
            // the changes were made.
            self.durable.queue_changes(&mut self.guard);
            self.durable.version.fetch_add(1, Ordering::SeqCst);
        }
        hold::record(self.waited, self.locked.elapsed());
    }
}

#[cfg(test)]
mod tests;
