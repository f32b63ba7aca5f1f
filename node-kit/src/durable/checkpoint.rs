//! The checkpointer: one OS thread per durable node that copies the
//! write-ahead log (WAL) into the database file, on a connection of its
//! own, so that the writer's commits never wait for it.
//!
//! Left to itself SQLite checkpoints inside the commit that takes the WAL
//! past 1,000 pages, on the committing connection: the writer's. With
//! `synchronous=NORMAL` that checkpoint also fsyncs the WAL and the
//! database, and no commit is made meanwhile, so every handler waiting on
//! a save waits for the disk. Measured on central's report path at 128
//! calls in flight (BENCHMARKS.md): a fold of the journal (about 4,096
//! entries, whose commit crosses the threshold) took 49-61 ms of wall time
//! for about 26 ms of CPU.
//!
//! So the writer's connection never checkpoints (`wal_autocheckpoint = 0`),
//! and after every [`CHECKPOINT_AFTER_BYTES`] written it wakes this thread,
//! which runs a PASSIVE checkpoint: it copies what it can and waits for no
//! reader or writer, so commits go on while it works. A checkpoint that
//! completes lets the writer's next transaction start the WAL over, and
//! `journal_size_limit` truncates the file at [`WAL_LIMIT_BYTES`] then.
//! Writes held ([`super::WriteHold`]) hold checkpoints too, so the
//! database file does not change under a copy.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;

/// Bytes written to the journal between two checkpoints: about SQLite's
/// own 1,000 pages of 4 KiB.
pub const CHECKPOINT_AFTER_BYTES: u64 = 4 * 1024 * 1024;
/// The size the WAL file is cut back to when it starts over.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

static CHECKPOINTS: AtomicU64 = AtomicU64::new(0);
static CHECKPOINT_NS: AtomicU64 = AtomicU64::new(0);

/// Checkpoints every checkpointer of this process has run, and their time
/// (for benchmarks: [`super::writer::WriteTotals`]).
pub(super) fn totals() -> (u64, u64) {
    (
        CHECKPOINTS.load(Ordering::Relaxed),
        CHECKPOINT_NS.load(Ordering::Relaxed),
    )
}

#[derive(Debug, Default)]
struct State {
    /// Bytes written since the last checkpoint began.
    unchecked_bytes: u64,
    /// Checkpoints wait while held.
    held: bool,
    /// A checkpoint is under way.
    running: bool,
    /// The node is going away.
    closing: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Counters and flags only: a panic elsewhere leaves them whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Takes checkpoints off `writer` (the writer's connection): opens a
    /// connection of its own to the same file and starts its thread.
    pub(super) fn start(writer: &Connection, path: &Path, name: &str) -> Result<Self, String> {
        let fail = |e: rusqlite::Error| format!("state store {}: {e}", path.display());
        writer
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_LIMIT_BYTES};"
            ))
            .map_err(fail)?;
        let connection = Connection::open(path).map_err(fail)?;
        let shared = Arc::new(Shared::default());
        let working = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-checkpoint"))
            .spawn(move || checkpoint_until_closed(&working, &connection))
            .map_err(|e| format!("cannot start the state checkpointer: {e}"))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Counts `bytes` written, waking the thread when enough have been.
    pub(super) fn written(&self, bytes: u64) {
        let mut state = self.shared.state();
        state.unchecked_bytes += bytes;
        if state.unchecked_bytes >= CHECKPOINT_AFTER_BYTES {
            drop(state);
            self.shared.wake.notify_all();
        }
    }

    /// Holds checkpoints until [`Checkpointer::release`]; returns once
    /// none is under way (one takes milliseconds: no bound is needed).
    pub(super) fn hold(&self) {
        let mut state = self.shared.state();
        state.held = true;
        while state.running {
            state = self
                .shared
                .wake
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn release(&self) {
        self.shared.state().held = false;
        self.shared.wake.notify_all();
    }
}

impl Drop for Checkpointer {
    /// Tells the thread to end, without waiting (a drop may run on an
    /// async worker). The last connection to close checkpoints whatever is
    /// left, as SQLite does for any WAL database.
    fn drop(&mut self) {
        self.shared.state().closing = true;
        self.shared.wake.notify_all();
        drop(self.thread.take());
    }
}

fn checkpoint_until_closed(shared: &Shared, connection: &Connection) {
    loop {
        {
            let mut state = shared.state();
            while !state.closing && (state.held || state.unchecked_bytes < CHECKPOINT_AFTER_BYTES) {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.closing {
                return;
            }
            state.unchecked_bytes = 0;
            state.running = true;
        }
        // Timed for the totals only: no decision reads it.
        let started = Instant::now();
        let done = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        CHECKPOINTS.fetch_add(1, Ordering::Relaxed);
        super::add_nanos(&CHECKPOINT_NS, started.elapsed());
        if let Err(e) = done {
            // Not fatal: every commit is in the WAL, and the next
            // checkpoint copies it.
            tracing::warn!(error = %e, "state checkpoint failed; the next one retries");
        }
        shared.state().running = false;
        shared.wake.notify_all();
    }
}
