//! The writer: one OS thread per node that appends the machine's changes to
//! its journal, so no save ever runs on an async worker or under the
//! machine's lock.
//!
//! Whoever changes the machine queues the change (numbered, in the order
//! of the machine's lock) and goes on; the writer takes everything queued
//! since its last commit and writes it in one transaction (group commit),
//! then publishes the number of the newest change on disk. A handler that
//! must not answer before its change is saved awaits that number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use counterpart_domain::journal::Change;
use tokio::sync::watch;

use super::checkpoint::{self, Checkpointer, WalLimits};
use super::store::JournalStore;

/// Changes queued and not yet written, at most. The queue is drained as
/// fast as SQLite commits and every sender of a change waits for its save
/// before answering, so reaching this means the disk has stopped: the node
/// stops rather than hold more unsaved promises in memory.
pub const MAX_QUEUED_CHANGES: usize = 1_000_000;

/// What every writer of this process has written so far: commits, the
/// changes they carried, and the time spent appending them (SQLite's
/// transaction and its commit). For benchmarks and profiles: whether the
/// writer is what a durable node waits on. Process-wide, so a node
/// started in-process needs no handle for it to be read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteTotals {
    pub commits: u64,
    pub changes: u64,
    pub append_ns: u64,
    /// Folds of the journal into the snapshot ended (one every
    /// [`super::store::SNAPSHOT_EVERY`] entries), the steps they took
    /// ([`super::fold`]), and the steps' time: after a commit's waiters
    /// are told, not part of `append_ns`, but a time the writer makes no
    /// commit.
    pub folds: u64,
    pub fold_steps: u64,
    pub fold_ns: u64,
    /// WAL checkpoints, run by each node's checkpointer thread beside the
    /// writer ([`super::checkpoint`]), and their time: no part of
    /// `append_ns`, and commits go on meanwhile.
    pub checkpoints: u64,
    pub checkpoint_ns: u64,
    /// WALs the writer found past their hard limit and emptied before its
    /// next commit ([`super::checkpoint::WalLimits`]), and the time: the
    /// writer's, no commit made meanwhile.
    pub truncations: u64,
    pub truncate_ns: u64,
}

impl WriteTotals {
    /// What was written between `earlier` and `self`.
    pub fn since(&self, earlier: &WriteTotals) -> WriteTotals {
        WriteTotals {
            commits: self.commits - earlier.commits,
            changes: self.changes - earlier.changes,
            append_ns: self.append_ns - earlier.append_ns,
            folds: self.folds - earlier.folds,
            fold_steps: self.fold_steps - earlier.fold_steps,
            fold_ns: self.fold_ns - earlier.fold_ns,
            checkpoints: self.checkpoints - earlier.checkpoints,
            checkpoint_ns: self.checkpoint_ns - earlier.checkpoint_ns,
            truncations: self.truncations - earlier.truncations,
            truncate_ns: self.truncate_ns - earlier.truncate_ns,
        }
    }
}

static COMMITS: AtomicU64 = AtomicU64::new(0);
static CHANGES: AtomicU64 = AtomicU64::new(0);
static APPEND_NS: AtomicU64 = AtomicU64::new(0);
static FOLDS: AtomicU64 = AtomicU64::new(0);
static FOLD_STEPS: AtomicU64 = AtomicU64::new(0);
static FOLD_NS: AtomicU64 = AtomicU64::new(0);

/// Counts one step of a fold that took `took`, and whether it `ended` the
/// fold (the store calls it).
pub(super) fn count_fold_step(took: std::time::Duration, ended: bool) {
    FOLD_STEPS.fetch_add(1, Ordering::Relaxed);
    FOLDS.fetch_add(u64::from(ended), Ordering::Relaxed);
    super::add_nanos(&FOLD_NS, took);
}

/// The totals of every writer in this process since it started.
pub fn totals() -> WriteTotals {
    let [checkpoints, checkpoint_ns, truncations, truncate_ns] = checkpoint::totals();
    WriteTotals {
        commits: COMMITS.load(Ordering::Relaxed),
        changes: CHANGES.load(Ordering::Relaxed),
        append_ns: APPEND_NS.load(Ordering::Relaxed),
        folds: FOLDS.load(Ordering::Relaxed),
        fold_steps: FOLD_STEPS.load(Ordering::Relaxed),
        fold_ns: FOLD_NS.load(Ordering::Relaxed),
        checkpoints,
        checkpoint_ns,
        truncations,
        truncate_ns,
    }
}

#[derive(Debug, Default)]
struct Queue {
    changes: Vec<Change>,
    /// Number of the newest batch in `changes`.
    newest: u64,
    /// The node is going away: write what is queued, then end.
    closing: bool,
    /// Writes wait while held (see [`Writer::hold`]).
    held: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Number of the newest batch on disk.
    saved: watch::Sender<u64>,
    /// Copies the WAL into the database beside the writer; `None` when
    /// changes are written inline (a simulation: SQLite checkpoints).
    checkpointer: Option<Checkpointer>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The store, when changes are written inline by whoever pushes them
    /// (`Durability::Simulated`), with no thread.
    inline: Option<Mutex<JournalStore>>,
}

impl Writer {
    /// Starts the writer thread over `store`, whose contents are batch
    /// number `saved` and earlier.
    pub fn start(mut store: JournalStore, name: &str) -> Result<Writer, String> {
        let inline = store.durability().inline();
        let checkpointer = match inline {
            true => None,
            false => Some(Checkpointer::start(
                store.connection(),
                store.path(),
                name,
                WalLimits::default(),
            )?),
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            saved: watch::Sender::new(0),
            checkpointer,
        });
        if inline {
            return Ok(Writer {
                shared,
                thread: None,
                inline: Some(Mutex::new(store)),
            });
        }
        let writing = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || write_until_closed(&writing, &mut store))
            .map_err(|e| format!("cannot start the state writer: {e}"))?;
        Ok(Writer {
            shared,
            thread: Some(thread),
            inline: None,
        })
    }

    /// Queues batch number `number` (numbers rise with each call).
    pub fn push(&self, number: u64, mut changes: Vec<Change>) {
        let mut queue = self.shared.queue();
        debug_assert!(number > queue.newest, "batches are queued in order");
        queue.changes.append(&mut changes);
        queue.newest = number;
        if queue.changes.len() > MAX_QUEUED_CHANGES {
            drop(queue);
            super::fatal(&format!(
                "{MAX_QUEUED_CHANGES} changes queued and not written: the disk has stopped"
            ));
        }
        drop(queue);
        match &self.inline {
            Some(store) => self.write_inline(store),
            None => self.shared.wake.notify_one(),
        }
    }

    /// Writes what is queued now, unless writes are held.
    fn write_inline(&self, store: &Mutex<JournalStore>) {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((changes, newest)) = take_unless_held(&self.shared) {
            write(&self.shared, &mut store, &changes, newest);
        }
    }

    /// Number of the newest batch on disk, to wait on.
    pub fn saved(&self) -> watch::Receiver<u64> {
        self.shared.saved.subscribe()
    }

    /// Holds every write, and every checkpoint (once the one under way, if
    /// any, ends), until the returned hold is dropped: for tests that show
    /// what the node still does while its disk is slow, and for an
    /// operator copying the file.
    /// `None` for an inline writer: it has no thread to hold back.
    pub fn hold(&self) -> Option<WriteHold> {
        if self.inline.is_some() {
            return None;
        }
        self.shared.queue().held = true;
        if let Some(checkpointer) = &self.shared.checkpointer {
            checkpointer.hold();
        }
        Some(WriteHold {
            shared: self.shared.clone(),
        })
    }
}

impl Drop for Writer {
    /// Tells the thread to write what is queued and end; does not wait for
    /// it (a drop may run on an async worker). A node drains before it
    /// drops its machine (`Durable::drain`), so this only ever finds an
    /// empty queue in a node that stopped cleanly.
    fn drop(&mut self) {
        self.shared.queue().closing = true;
        self.shared.wake.notify_one();
        drop(self.thread.take());
    }
}

/// Writes are held while this lives.
#[derive(Debug)]
pub struct WriteHold {
    shared: Arc<Shared>,
}

impl Drop for WriteHold {
    fn drop(&mut self) {
        self.shared.queue().held = false;
        self.shared.wake.notify_one();
        if let Some(checkpointer) = &self.shared.checkpointer {
            checkpointer.release();
        }
    }
}

/// What is queued and its newest batch number, unless writes are held or
/// nothing is queued.
fn take_unless_held(shared: &Shared) -> Option<(Vec<Change>, u64)> {
    let mut queue = shared.queue();
    if queue.held || queue.changes.is_empty() {
        return None;
    }
    Some((std::mem::take(&mut queue.changes), queue.newest))
}

/// Appends `changes` and publishes `newest` as saved.
fn write(shared: &Shared, store: &mut JournalStore, changes: &[Change], newest: u64) {
    if let Some(checkpointer) = &shared.checkpointer {
        // A WAL past its hard limit is emptied before it grows more.
        checkpointer.truncate_if_due(store.connection());
    }
    // Timed for the totals only: no decision reads it.
    let started = Instant::now();
    if let Err(error) = store.append(changes) {
        super::fatal(&error);
    }
    COMMITS.fetch_add(1, Ordering::Relaxed);
    CHANGES.fetch_add(changes.len() as u64, Ordering::Relaxed);
    super::add_nanos(&APPEND_NS, started.elapsed());
    if let Some(checkpointer) = &shared.checkpointer {
        checkpointer.written(changes.iter().map(journal_bytes).sum());
    }
    shared.saved.send_if_modified(|saved| {
        let newer = newest > *saved;
        *saved = (*saved).max(newest);
        newer
    });
    // After the waiters are told: a fold is upkeep, no promise waits on
    // it, and the next commit waits for one step of it at most.
    fold_step(store);
}

fn fold_step(store: &mut JournalStore) {
    if let Err(error) = store.fold_step() {
        super::fatal(&error);
    }
}

fn write_until_closed(shared: &Shared, store: &mut JournalStore) {
    loop {
        let batch = {
            let mut queue = shared.queue();
            // Idle: wait for changes, or step on with a fold under way.
            while queue.held || (queue.changes.is_empty() && !queue.closing && !store.folding()) {
                queue = shared.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
            if queue.changes.is_empty() && queue.closing {
                // Everything is written. A fold under way may stop at any
                // step: the next life folds the rest again.
                return;
            }
            (!queue.changes.is_empty()).then(|| (std::mem::take(&mut queue.changes), queue.newest))
        };
        match batch {
            Some((changes, newest)) => write(shared, store, &changes, newest),
            None => fold_step(store),
        }
    }
}

/// About what `change` adds to the journal: its key and its body.
fn journal_bytes(change: &Change) -> u64 {
    let (key, body) = match change {
        Change::Put { key, body } => (key, body.len()),
        Change::Delete { key } => (key, 0),
    };
    (key.kind.len() + key.id.len() + body) as u64
}
