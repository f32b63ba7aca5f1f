//! Durable state: a node's state machine, saved to SQLite after every change
//! and before the change is acknowledged, so a `kill -9` at any moment loses
//! nothing a peer was told had happened.
//!
//! The design is "save the whole machine" rather than a log of events: a
//! node's state is small (central's is the largest, tens of kilobytes for the
//! Hubei run) and the state machines already hold everything they still owe
//! their peers (an assignment to resend, a shipment to deliver, a receipt to
//! confirm). Restoring is then one read, and the machines need no replay
//! logic that could drift from the live code.
//!
//! - [`StateStore`]: one SQLite file per node, with the node id and scenario
//!   it belongs to, and the latest saved state.
//! - [`open`]: a fresh machine, or the one saved in the data directory.
//! - [`Durable`]: the machine behind a mutex; [`Durable::lock`] hands out a
//!   guard that saves the machine when it is dropped, if it was changed, or
//!   with a persister running, counts the change for the persister's next
//!   save (group commit), which [`Durable::flushed`] awaits.
//!
//! Durability: WAL with `synchronous=NORMAL` survives the death of the
//! process (what the fault suites inflict) but not a power cut of the
//! machine, which would need `synchronous=FULL` and an fsync per message.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use rusqlite::{params, Connection, OptionalExtension};

/// The file inside a node's data directory.
pub const STATE_FILE: &str = "state.sqlite3";

/// A machine that can be written down.
pub trait Persistent {
    /// The machine's state, in the form `restore` reads back.
    fn state_bytes(&self) -> Result<Vec<u8>, String>;
}

#[derive(Debug)]
pub struct StateStore {
    connection: Connection,
    path: PathBuf,
    /// Digest of the state last written: an unchanged state is not written again.
    last_digest: Option<u64>,
    /// The change count of the newest state written (see `save_counted`).
    newest_count: u64,
    saves: i64,
}

impl StateStore {
    /// Opens (or creates) the store in `dir` for node `node_id` running
    /// `scenario`. A store that belongs to another node or scenario is an
    /// error, not something to overwrite: the operator pointed two nodes at
    /// one directory, or reused a directory across runs.
    pub fn open(dir: &Path, node_id: &str, scenario: &str) -> Result<StateStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("data dir {}: cannot create: {e}", dir.display()))?;
        let path = dir.join(STATE_FILE);
        let fail = |e: rusqlite::Error| format!("state store {}: {e}", path.display());
        let connection = Connection::open(&path).map_err(fail)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS state (
                     id INTEGER PRIMARY KEY CHECK (id = 1),
                     saved_at_unix_ms INTEGER NOT NULL,
                     saves INTEGER NOT NULL,
                     body BLOB NOT NULL
                 );",
            )
            .map_err(fail)?;
        let store = StateStore {
            connection,
            path: path.clone(),
            last_digest: None,
            newest_count: 0,
            saves: 0,
        };
        store.claim("node_id", node_id)?;
        store.claim("scenario", scenario)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `value` under `key`, or checks it matches what is recorded.
    fn claim(&self, key: &str, value: &str) -> Result<(), String> {
        let fail = |e: rusqlite::Error| format!("state store {}: {e}", self.path.display());
        let recorded: Option<String> = self
            .connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(fail)?;
        match recorded {
            Some(recorded) if recorded == value => Ok(()),
            Some(recorded) => Err(format!(
                "state store {}: holds {key} {recorded:?}, not {value:?}; use another --data-dir",
                self.path.display()
            )),
            None => self
                .connection
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, value],
                )
                .map(|_| ())
                .map_err(fail),
        }
    }

    /// The state saved last, if any.
    pub fn load(&mut self) -> Result<Option<Vec<u8>>, String> {
        let row: Option<(Vec<u8>, i64)> = self
            .connection
            .query_row("SELECT body, saves FROM state WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        Ok(row.map(|(body, saves)| {
            self.last_digest = Some(digest(&body));
            self.saves = saves;
            body
        }))
    }

    /// Saves `body` unless it is what was saved last; returns whether it wrote.
    pub fn save(&mut self, body: &[u8]) -> Result<bool, String> {
        let digest = digest(body);
        if self.last_digest == Some(digest) {
            return Ok(false);
        }
        let saves = self.saves + 1;
        self.connection
            .execute(
                "INSERT INTO state (id, saved_at_unix_ms, saves, body) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET
                     saved_at_unix_ms = excluded.saved_at_unix_ms,
                     saves = excluded.saves,
                     body = excluded.body",
                params![counterpart_domain::clock::unix_now_ms(), saves, body],
            )
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        self.last_digest = Some(digest);
        self.saves = saves;
        Ok(true)
    }

    /// Saves `body`, the machine as of `counted` changes, unless a state of
    /// more changes is already written: two savers (the persister's last
    /// save and a guard's, at shutdown) may reach the file out of order, and
    /// an older state must never overwrite a newer one.
    pub fn save_counted(&mut self, body: &[u8], counted: u64) -> Result<bool, String> {
        if counted < self.newest_count {
            return Ok(false);
        }
        self.newest_count = counted;
        self.save(body)
    }

    /// How many times the state has been written, over every life of the node.
    pub fn saves(&self) -> i64 {
        self.saves
    }
}

fn digest(body: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// A state machine shared by a node's service and driver, saved after
/// every change when the node has a store.
///
/// Two ways to save. Without a persister, a change is saved when its guard
/// drops (simple, and what unit tests use). With a persister running
/// ([`Durable::persist`]), the guard only counts the change and wakes the
/// persister, which serialises the machine once for every change made
/// since its last save (group commit: under load one save covers many
/// messages), and whoever must not answer before the change is on disk
/// awaits [`Durable::flushed`].
#[derive(Debug)]
pub struct Durable<M> {
    machine: Mutex<M>,
    store: Option<Mutex<StateStore>>,
    /// Changes counted so far; bumped under the machine's lock.
    changes: AtomicU64,
    /// The count of changes that are on disk.
    saved: watch::Sender<u64>,
    wake: Notify,
    persister_running: AtomicBool,
}

impl<M: Persistent> Durable<M> {
    /// `store` is `None` for a node without a data directory (tests, and
    /// runs that choose not to keep state): nothing is saved.
    pub fn new(machine: M, store: Option<StateStore>) -> Self {
        Durable {
            machine: Mutex::new(machine),
            store: store.map(Mutex::new),
            changes: AtomicU64::new(0),
            saved: watch::Sender::new(0),
            wake: Notify::new(),
            persister_running: AtomicBool::new(false),
        }
    }

    /// The machine, to change: the change is counted (and, without a
    /// persister, saved) when the guard drops, if it was borrowed mutably.
    pub fn lock(&self) -> Changing<'_, M> {
        Changing {
            guard: self.read(),
            durable: self,
            changed: false,
        }
    }

    /// The machine, to look at only.
    pub fn read(&self) -> MutexGuard<'_, M> {
        // A panic while holding the lock is a bug already reported; the
        // state it left is still the best there is, and it is saved next.
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves now, whatever changed; for start-up, so the store holds the
    /// machine before the node answers anyone.
    pub fn save(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let (counted, body) = {
            let machine = self.read();
            (self.changes.load(Ordering::SeqCst), machine.state_bytes()?)
        };
        self.write(store, &body, counted)
    }

    /// Writes `body`, the machine as of `counted` changes, and tells those
    /// awaiting [`Durable::flushed`].
    fn write(&self, store: &Mutex<StateStore>, body: &[u8], counted: u64) -> Result<(), String> {
        lock_store(store).save_counted(body, counted)?;
        self.saved.send_if_modified(|saved| {
            let newer = counted > *saved;
            *saved = (*saved).max(counted);
            newer
        });
        Ok(())
    }

    /// Returns once every change made before the call is on disk: await it
    /// before answering the message that caused a change.
    pub async fn flushed(&self) {
        if self.store.is_none() {
            return; // nothing to keep
        }
        let target = self.changes.load(Ordering::SeqCst);
        let mut saved = self.saved.subscribe();
        // The sender lives as long as `self`: this ends when the persister
        // (or its final save at shutdown, or a save as a guard drops once
        // no persister runs) reaches `target`.
        let _ = saved.wait_for(|saved| *saved >= target).await;
    }

    /// The persister: saves after changes until `shutdown`, then once more.
    /// Run it on the node's runtime for as long as the node serves.
    pub async fn persist(&self, shutdown: CancellationToken) {
        if self.store.is_none() {
            return;
        }
        self.persister_running.store(true, Ordering::SeqCst);
        loop {
            let stopping = tokio::select! {
                _ = self.wake.notified() => false,
                _ = shutdown.cancelled() => true,
            };
            if stopping {
                // Changes from now on are saved as their guards drop.
                self.persister_running.store(false, Ordering::SeqCst);
            }
            if let Err(error) = self.save() {
                fatal(&error);
            }
            if stopping {
                return;
            }
        }
    }

    fn count_change(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        if self.persister_running.load(Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }
}

/// The machine of a fresh run (`fresh`), or the one saved in `data_dir`
/// (`restore` reads it back), saved once before the node answers anyone.
/// Without a data directory the machine lives in memory only.
pub fn open<M: Persistent>(
    data_dir: Option<&Path>,
    node_id: &str,
    scenario: &str,
    fresh: impl FnOnce() -> Result<M, String>,
    restore: impl FnOnce(&[u8]) -> Result<M, String>,
) -> Result<Durable<M>, String> {
    let Some(dir) = data_dir else {
        return Ok(Durable::new(fresh()?, None));
    };
    let mut store = StateStore::open(dir, node_id, scenario)?;
    let machine = match store.load()? {
        Some(saved) => {
            let machine = restore(&saved)?;
            tracing::info!(node = node_id, path = %store.path().display(),
                saves = store.saves(), "resumed from its saved state");
            machine
        }
        None => fresh()?,
    };
    let durable = Durable::new(machine, Some(store));
    durable.save()?;
    Ok(durable)
}

/// The change is in memory but not on disk, and someone may be about to
/// acknowledge it. Stopping is the only way to keep the promise: the
/// supervisor restarts the node from the last saved state and the sender,
/// seeing no answer, sends again.
fn fatal(error: &str) -> ! {
    tracing::error!(%error, "state not saved; stopping the node");
    eprintln!("fatal: state not saved: {error}");
    std::process::abort();
}

fn lock_store(store: &Mutex<StateStore>) -> MutexGuard<'_, StateStore> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// A borrowed machine that counts (or saves) itself when dropped, if changed.
pub struct Changing<'a, M: Persistent> {
    guard: MutexGuard<'a, M>,
    durable: &'a Durable<M>,
    changed: bool,
}

impl<M: Persistent> Changing<'_, M> {
    /// Releases the machine without saving: for a caller that borrowed it
    /// mutably but knows, from the machine itself, that nothing durable
    /// changed (a tick that found nothing due). Saving is the dominant cost
    /// of a tick, and ticks come every few milliseconds.
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
        let durable = self.durable;
        if !self.changed || durable.store.is_none() {
            return;
        }
        // Counted under the machine's lock: a save that reads the count
        // with the lock held has every counted change in what it writes.
        durable.count_change();
        if durable.persister_running.load(Ordering::SeqCst) {
            return;
        }
        let counted = durable.changes.load(Ordering::SeqCst);
        let store = durable.store.as_ref().expect("checked");
        let saved = self
            .guard
            .state_bytes()
            .and_then(|body| durable.write(store, &body, counted));
        if let Err(error) = saved {
            fatal(&error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Counter(u32);

    impl Persistent for Counter {
        fn state_bytes(&self) -> Result<Vec<u8>, String> {
            Ok(self.0.to_le_bytes().to_vec())
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "counterpart-durable-{name}-{}-{}",
            std::process::id(),
            counterpart_domain::clock::unix_now_ms()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_change_is_on_disk_when_the_guard_drops_and_reads_do_not_write() {
        let dir = temp_dir("change");
        let store = StateStore::open(&dir, "hubei", "s").unwrap();
        let durable = Durable::new(Counter(0), Some(store));
        durable.lock().0 = 7;
        let _ = durable.lock().0; // read through the changing guard: no write
        let _ = durable.read().0;
        let mut reopened = StateStore::open(&dir, "hubei", "s").unwrap();
        assert_eq!(reopened.load().unwrap(), Some(7u32.to_le_bytes().to_vec()));
        assert_eq!(reopened.saves(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unchanged_state_is_not_written_again() {
        let dir = temp_dir("same");
        let mut store = StateStore::open(&dir, "n", "s").unwrap();
        assert!(store.save(b"a").unwrap());
        assert!(!store.save(b"a").unwrap());
        assert!(store.save(b"b").unwrap());
        assert_eq!(store.saves(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_older_state_never_overwrites_a_newer_one() {
        let dir = temp_dir("order");
        let mut store = StateStore::open(&dir, "n", "s").unwrap();
        assert!(store.save_counted(b"six", 6).unwrap());
        assert!(
            !store.save_counted(b"five", 5).unwrap(),
            "late, older save skipped"
        );
        assert_eq!(store.load().unwrap(), Some(b"six".to_vec()));
        assert!(store.save_counted(b"seven", 7).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_store_of_another_node_or_scenario_is_refused() {
        let dir = temp_dir("claim");
        drop(StateStore::open(&dir, "jiangsu", "hubei-2020").unwrap());
        let other_node = StateStore::open(&dir, "zhejiang", "hubei-2020").unwrap_err();
        assert!(other_node.contains("node_id \"jiangsu\""), "{other_node}");
        let other_scenario = StateStore::open(&dir, "jiangsu", "small").unwrap_err();
        assert!(other_scenario.contains("scenario"), "{other_scenario}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
