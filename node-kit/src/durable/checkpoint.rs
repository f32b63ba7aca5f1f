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
//!
//! A PASSIVE checkpoint copies the frames committed when it began; the WAL
//! starts over only if a write transaction begins while every frame is
//! copied. A writer that never pauses (a node at its limit) keeps adding
//! frames during each checkpoint, so without more the WAL would grow as
//! long as the load lasts. Hence a hard bound, kept by the writer: every
//! quarter of [`WalLimits::checkpoint_after_bytes`] it writes, it looks at
//! the WAL file's size, and past [`WalLimits::hard_limit_bytes`] it runs
//! a TRUNCATE checkpoint on its own connection before its next commit
//! ([`Checkpointer::truncate_if_due`]), copying the rest and emptying the
//! file. The file's size is the WAL's: a WAL that starts over is cut back
//! to [`WalLimits::cut_back_bytes`], below the hard limit, and grows only
//! by appending. The writer must do it itself, with this thread's
//! checkpoints held: a TRUNCATE run from this thread waits for a moment
//! with no writer, and a writer committing back to back never left one;
//! and a TRUNCATE that meets a PASSIVE under way gives up at once. In this
//! module's test (a 2 MiB limit, commits back to back), the WAL file
//! reached 50 MB with no bound, 32 MB with the TRUNCATE run from this
//! thread, 9-16 MB with it run by the writer unheld. A stall of the
//! writer, rare and bounded, instead of a disk that fills.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// Bytes written to the journal between two checkpoints: about SQLite's
/// own 1,000 pages of 4 KiB.
pub const CHECKPOINT_AFTER_BYTES: u64 = 4 * 1024 * 1024;
/// The size the WAL file is cut back to when it starts over.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// The WAL file's size past which the writer empties it before its next
/// commit: four times what it is cut back to.
pub const WAL_HARD_LIMIT_BYTES: u64 = 4 * WAL_LIMIT_BYTES;

/// How long either connection waits for the other's lock before its
/// statement fails: the writer's TRUNCATE checkpoint for a PASSIVE one
/// under way to end. A writer's failed commit stops the node, so this is
/// generous.
pub const BUSY_WAIT: Duration = Duration::from_secs(60);

/// When the checkpointer runs, what the WAL is cut back to, and when the
/// writer empties it. Tests shrink them to show the bound in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalLimits {
    /// Bytes written to the journal between two checkpoints.
    pub checkpoint_after_bytes: u64,
    /// The size a WAL file is cut back to when it starts over
    /// (`journal_size_limit`).
    pub cut_back_bytes: u64,
    /// The WAL file's size past which the writer empties it; above
    /// `cut_back_bytes`, so that only a WAL that did not start over
    /// reaches it.
    pub hard_limit_bytes: u64,
}

impl Default for WalLimits {
    fn default() -> Self {
        WalLimits {
            checkpoint_after_bytes: CHECKPOINT_AFTER_BYTES,
            cut_back_bytes: WAL_LIMIT_BYTES,
            hard_limit_bytes: WAL_HARD_LIMIT_BYTES,
        }
    }
}

static CHECKPOINTS: AtomicU64 = AtomicU64::new(0);
static CHECKPOINT_NS: AtomicU64 = AtomicU64::new(0);
static TRUNCATIONS: AtomicU64 = AtomicU64::new(0);
static TRUNCATE_NS: AtomicU64 = AtomicU64::new(0);

/// PASSIVE checkpoints every checkpointer of this process has run and
/// their time; then the WALs its writers emptied past their hard limit,
/// and that time, the writer's own (for benchmarks:
/// [`super::writer::WriteTotals`]).
pub(super) fn totals() -> [u64; 4] {
    [&CHECKPOINTS, &CHECKPOINT_NS, &TRUNCATIONS, &TRUNCATE_NS].map(|t| t.load(Ordering::Relaxed))
}

#[derive(Debug, Default)]
struct State {
    /// Bytes written since the last checkpoint began.
    unchecked_bytes: u64,
    /// Checkpoints wait while any hold lasts: an operator's
    /// ([`super::WriteHold`]) and the writer's own, while it empties the
    /// WAL, may overlap.
    holds: u32,
    /// A checkpoint is under way.
    running: bool,
    /// The node is going away.
    closing: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Bytes written since the writer last looked at the WAL's size.
    unsized_bytes: AtomicU64,
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
    limits: WalLimits,
    wal: PathBuf,
}

impl Checkpointer {
    /// Takes checkpoints off `writer` (the writer's connection): opens a
    /// connection of its own to the same file and starts its thread.
    pub(super) fn start(
        writer: &Connection,
        path: &Path,
        name: &str,
        limits: WalLimits,
    ) -> Result<Self, String> {
        assert!(
            limits.hard_limit_bytes > limits.cut_back_bytes,
            "a WAL cut back must be under its hard limit: {limits:?}"
        );
        let fail = |e: rusqlite::Error| format!("state store {}: {e}", path.display());
        writer
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
                limits.cut_back_bytes
            ))
            .map_err(fail)?;
        writer.busy_timeout(BUSY_WAIT).map_err(fail)?;
        let connection = Connection::open(path).map_err(fail)?;
        let shared = Arc::new(Shared::default());
        let working = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-checkpoint"))
            .spawn(move || checkpoint_until_closed(&working, &connection, limits))
            .map_err(|e| format!("cannot start the state checkpointer: {e}"))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
            limits,
            wal: wal_path(path),
        })
    }

    /// Counts `bytes` written, waking the thread when enough have been.
    pub(super) fn written(&self, bytes: u64) {
        self.shared
            .unsized_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        let mut state = self.shared.state();
        state.unchecked_bytes += bytes;
        if state.unchecked_bytes >= self.limits.checkpoint_after_bytes {
            drop(state);
            self.shared.wake.notify_all();
        }
    }

    /// Empties the WAL on `writer` (the writer's connection, between two
    /// commits) when its file has grown past the hard limit; looks at the
    /// file once a quarter of a checkpoint's bytes. Whether it emptied it.
    pub(super) fn truncate_if_due(&self, writer: &Connection) -> bool {
        let every = self.limits.checkpoint_after_bytes / 4;
        if self.shared.unsized_bytes.load(Ordering::Relaxed) < every {
            return false;
        }
        self.shared.unsized_bytes.store(0, Ordering::Relaxed);
        let wal_bytes = std::fs::metadata(&self.wal).map_or(0, |m| m.len());
        if wal_bytes <= self.limits.hard_limit_bytes {
            return false;
        }
        // Timed for the totals only: no decision reads it.
        let started = Instant::now();
        // A checkpoint under way (this thread's PASSIVE) would make the
        // TRUNCATE give up at once: SQLite does not wait for that lock.
        self.hold();
        let emptied = checkpoint(writer, "TRUNCATE");
        self.release();
        match emptied {
            Ok(true) => {}
            // Not fatal: the writer looks again after its next quarter.
            Ok(false) => tracing::warn!("emptying the state WAL found it busy; retried later"),
            Err(e) => tracing::warn!(error = %e, "emptying the state WAL failed; retried later"),
        }
        TRUNCATIONS.fetch_add(1, Ordering::Relaxed);
        super::add_nanos(&TRUNCATE_NS, started.elapsed());
        true
    }

    /// Holds checkpoints until the matching [`Checkpointer::release`];
    /// returns once none is under way (one takes milliseconds: no bound is
    /// needed).
    pub(super) fn hold(&self) {
        let mut state = self.shared.state();
        state.holds += 1;
        while state.running {
            state = self
                .shared
                .wake
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn release(&self) {
        let mut state = self.shared.state();
        debug_assert!(state.holds > 0, "a release without a hold");
        state.holds = state.holds.saturating_sub(1);
        drop(state);
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

fn checkpoint_until_closed(shared: &Shared, connection: &Connection, limits: WalLimits) {
    loop {
        {
            let mut state = shared.state();
            while !state.closing
                && (state.holds > 0 || state.unchecked_bytes < limits.checkpoint_after_bytes)
            {
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
        let done = checkpoint(connection, "PASSIVE");
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

/// Runs a checkpoint of `mode`; whether it completed (SQLite answers
/// `busy, log frames, frames checkpointed`: busy 1 when it could not).
fn checkpoint(connection: &Connection, mode: &str) -> Result<bool, rusqlite::Error> {
    let busy: i64 =
        connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// SQLite's WAL file beside the database at `path`.
pub(super) fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}
