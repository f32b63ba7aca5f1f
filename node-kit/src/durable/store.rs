//! One SQLite file per node: an append-only journal of record writes and a
//! snapshot of every record, in the layout of event stores such as
//! sqlite-es (an aggregate's snapshot row beside the events after it).
//!
//! - `journal (seq PRIMARY KEY, kind, id, body)`: every [`Change`] in the
//!   order it was made; `body` NULL is a delete. The primary key is the
//!   concurrency check: a second writer appending the same sequence fails
//!   instead of interleaving.
//! - `snapshot (kind, id) PRIMARY KEY, seq, body`: each record as of
//!   journal entry `seq`. Every [`SNAPSHOT_EVERY`] entries the journal is
//!   folded into it and emptied, a step at a time between commits
//!   ([`super::fold`]); a fold costs the records changed since the last
//!   one, never the whole state. The store keeps the newest entry of each
//!   of those records in memory as it appends them, so a fold writes them
//!   straight from there: SQL that found them in the journal (the newest
//!   entry of each key, by `GROUP BY`, twice) made the fold cost about
//!   12 µs an entry, with every commit waiting.
//! - `meta`: which node and scenario the file belongs to, and the sequence
//!   the snapshot is complete up to.
//!
//! Loading reads the snapshot and replays the journal after it. A file the
//! previous release wrote (one `state` row holding the whole machine) and no
//! journal since loads as one record of kind [`LEGACY_KIND`]: the node reads
//! its old form, and `durable::open` writes it into the journal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use counterpart_domain::journal::{Change, RecordKey, Records};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::fold::{self, set_meta, Fold, Step, Unfolded, CATCH_UP_FACTOR};

/// The file inside a node's data directory.
pub const STATE_FILE: &str = "state.sqlite3";

/// Journal entries between two folds into the snapshot: a restart replays
/// about this many (at most [`CATCH_UP_FACTOR`] times it, behind a fold
/// under way), and a fold writes at most this many records and a batch.
pub const SNAPSHOT_EVERY: u64 = 4_096;

/// The kind of the one record a store of the previous release loads as:
/// its whole-state document, as that release wrote it.
pub const LEGACY_KIND: &str = counterpart_protocol::persist::small::LEGACY_KIND;

/// How hard each commit presses the data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit survives the death of the
    /// process (what the fault suites inflict), not a power cut.
    #[default]
    Normal,
    /// `synchronous=FULL`: each commit is fsynced and survives a power cut.
    Full,
    /// For the hosts of a simulation (`pairctl sim`): `synchronous=OFF`,
    /// and each change written by whoever made it, before it goes on,
    /// rather than by a writer thread (a simulation runs in one thread, and
    /// a thread's timing would make its runs differ). A change survives a
    /// simulated crash (the host's tasks are dropped, the file stays), not
    /// the death of the process. Not offered on the command line.
    #[value(skip)]
    Simulated,
}

impl Durability {
    /// SQLite's `synchronous` setting for this durability.
    pub fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
            Durability::Simulated => "OFF",
        }
    }

    /// Whether changes are written inline, by the caller.
    pub fn inline(self) -> bool {
        self == Durability::Simulated
    }
}

#[derive(Debug)]
pub struct JournalStore {
    connection: Connection,
    durability: Durability,
    path: PathBuf,
    /// Sequence of the last journal entry written (0: none ever).
    last_seq: u64,
    /// The snapshot holds every entry up to this sequence.
    snapshot_seq: u64,
    /// Commits made over every life of the node.
    commits: u64,
    /// The newest journal entry of each record changed since the last
    /// fold started: its sequence, and its body (`None`: deleted).
    newest_unfolded: Unfolded,
    /// The fold under way, if any: the generation it moves.
    folding: Option<Fold>,
}

impl JournalStore {
    /// Opens (or creates) the store in `dir` for node `node_id` running
    /// `scenario`. A store that belongs to another node or scenario is an
    /// error, not something to overwrite: the operator pointed two nodes at
    /// one directory, or reused a directory across runs.
    pub fn open(
        dir: &Path,
        node_id: &str,
        scenario: &str,
        durability: Durability,
    ) -> Result<JournalStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("data dir {}: cannot create: {e}", dir.display()))?;
        let path = dir.join(STATE_FILE);
        let fail = |e: rusqlite::Error| format!("state store {}: {e}", path.display());
        let connection = Connection::open(&path).map_err(fail)?;
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = {};
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS journal (
                     seq INTEGER PRIMARY KEY,
                     kind TEXT NOT NULL,
                     id TEXT NOT NULL,
                     body BLOB
                 );
                 CREATE TABLE IF NOT EXISTS snapshot (
                     kind TEXT NOT NULL,
                     id TEXT NOT NULL,
                     seq INTEGER NOT NULL,
                     body BLOB NOT NULL,
                     PRIMARY KEY (kind, id)
                 );",
                durability.pragma()
            ))
            .map_err(fail)?;
        let mut store = JournalStore {
            connection,
            durability,
            path: path.clone(),
            last_seq: 0,
            snapshot_seq: 0,
            commits: 0,
            newest_unfolded: BTreeMap::new(),
            folding: None,
        };
        store.claim("node_id", node_id)?;
        store.claim("scenario", scenario)?;
        store.snapshot_seq = store.meta_number("snapshot_seq")?;
        store.commits = store.meta_number("commits")?;
        let last_journaled: Option<i64> = store
            .connection
            .query_row("SELECT MAX(seq) FROM journal", [], |r| r.get(0))
            .map_err(fail)?;
        store.last_seq = last_journaled.map_or(store.snapshot_seq, |s| s as u64);
        store.newest_unfolded = store.read_unfolded()?;
        Ok(store)
    }

    /// The newest entry of each record in the journal after the snapshot
    /// (a previous life's, not folded yet).
    fn read_unfolded(&self) -> Result<Unfolded, String> {
        let mut newest = BTreeMap::new();
        let mut journal = self
            .connection
            .prepare("SELECT seq, kind, id, body FROM journal WHERE seq > ?1 ORDER BY seq")
            .map_err(|e| self.fail(e))?;
        let rows = journal
            .query_map([self.snapshot_seq as i64], |r| {
                let seq: i64 = r.get(0)?;
                let key = RecordKey {
                    kind: r.get(1)?,
                    id: r.get(2)?,
                };
                Ok((key, (seq as u64, r.get::<_, Option<Vec<u8>>>(3)?)))
            })
            .map_err(|e| self.fail(e))?;
        for row in rows {
            let (key, entry) = row.map_err(|e| self.fail(e))?;
            newest.insert(key, entry);
        }
        Ok(newest)
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection commits are made on (for the checkpointer to take
    /// checkpoints off it).
    pub(super) fn connection(&self) -> &Connection {
        &self.connection
    }

    fn fail(&self, e: rusqlite::Error) -> String {
        format!("state store {}: {e}", self.path.display())
    }

    /// Records `value` under `key`, or checks it matches what is recorded.
    fn claim(&self, key: &str, value: &str) -> Result<(), String> {
        match self.meta(key)? {
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
                .map_err(|e| self.fail(e)),
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, String> {
        self.connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.fail(e))
    }

    fn meta_number(&self, key: &str) -> Result<u64, String> {
        match self.meta(key)? {
            None => Ok(0),
            Some(text) => text.parse().map_err(|_| {
                format!(
                    "state store {}: meta {key} is {text:?}, not a number",
                    self.path.display()
                )
            }),
        }
    }

    /// Every record as last saved (the snapshot, then the journal after
    /// it), or `None` for a store nothing was ever saved in.
    pub fn load(&self) -> Result<Option<Records>, String> {
        if self.last_seq == 0 {
            return self.load_legacy();
        }
        let mut records = Records::new();
        let mut snapshot = self
            .connection
            .prepare("SELECT kind, id, body FROM snapshot")
            .map_err(|e| self.fail(e))?;
        let rows = snapshot
            .query_map([], |r| {
                Ok((
                    RecordKey {
                        kind: r.get(0)?,
                        id: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            })
            .map_err(|e| self.fail(e))?;
        for row in rows {
            let (key, body) = row.map_err(|e| self.fail(e))?;
            records.insert(key, body);
        }
        // The journal after the snapshot, as its newest entry of each record
        // (read at open, kept since): the same as replaying it in order. A
        // fold under way holds the older of them.
        let to_copy = self.folding.iter().flat_map(|fold| &fold.to_copy);
        for (key, (_, body)) in to_copy.chain(&self.newest_unfolded) {
            match body {
                Some(body) => records.insert(key.clone(), body.clone()),
                None => records.remove(key),
            };
        }
        Ok(Some(records))
    }

    /// The previous release's whole-state row, if this file has one.
    fn load_legacy(&self) -> Result<Option<Records>, String> {
        let has_table: bool = self
            .connection
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))?;
        if !has_table {
            return Ok(None);
        }
        let body: Option<Vec<u8>> = self
            .connection
            .query_row("SELECT body FROM state WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(body.map(|body| Records::from([(RecordKey::new(LEGACY_KIND, ""), body)])))
    }

    /// Appends `changes` in one transaction (one commit however many).
    /// The caller then folds ([`JournalStore::fold_if_due`]), once it has
    /// told whoever waited for these changes that they are saved.
    pub fn append(&mut self, changes: &[Change]) -> Result<(), String> {
        if changes.is_empty() {
            return Ok(());
        }
        let first = self.last_seq + 1;
        let commits = self.commits + 1;
        let transaction = self
            .connection
            .transaction()
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        write_entries(&transaction, first, changes)
            .and_then(|()| set_meta(&transaction, "commits", commits))
            .and_then(|()| transaction.commit())
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        self.last_seq = first + changes.len() as u64 - 1;
        self.commits = commits;
        for (offset, change) in changes.iter().enumerate() {
            let seq = first + offset as u64;
            let (key, body) = match change {
                Change::Put { key, body } => (key, Some(body.clone())),
                Change::Delete { key } => (key, None),
            };
            self.newest_unfolded.insert(key.clone(), (seq, body));
        }
        Ok(())
    }

    /// Folds the journal into the snapshot, whole, when it has grown
    /// [`SNAPSHOT_EVERY`] entries since the last fold (at open, when no
    /// one waits for a commit).
    pub fn fold_if_due(&mut self) -> Result<(), String> {
        while self.fold_step()? {}
        Ok(())
    }

    /// One step of a fold ([`super::fold`]): starts one if the journal has
    /// grown [`SNAPSHOT_EVERY`] entries since the last, then copies or
    /// trims a step's worth. Whether a fold is still under way. The writer
    /// takes a step after each commit, once its waiters are told.
    pub fn fold_step(&mut self) -> Result<bool, String> {
        if self.folding.is_none() {
            if self.last_seq - self.snapshot_seq < SNAPSHOT_EVERY {
                return Ok(false);
            }
            self.start_fold();
        }
        // Timed for the writer's totals only: no decision reads it.
        let started = std::time::Instant::now();
        let behind = self.last_seq - self.snapshot_seq > CATCH_UP_FACTOR * SNAPSHOT_EVERY;
        loop {
            let done = self.take_step()?;
            if done || !behind {
                super::writer::count_fold_step(started.elapsed(), done);
                return Ok(!done);
            }
        }
    }

    /// Whether a fold is under way (the writer steps on while idle).
    pub fn folding(&self) -> bool {
        self.folding.is_some()
    }

    /// Moves the journal into the snapshot now, whole: each record changed
    /// since the last fold takes its newest body (or goes), and the
    /// journal empties.
    pub fn fold(&mut self) -> Result<(), String> {
        if self.folding.is_none() {
            self.start_fold();
        }
        while !self.take_step()? {}
        Ok(())
    }

    /// Sets the records changed so far aside as a fold's generation.
    fn start_fold(&mut self) {
        debug_assert!(self.folding.is_none(), "one fold at a time");
        self.folding = Some(Fold {
            upto: self.last_seq,
            to_copy: std::mem::take(&mut self.newest_unfolded),
        });
    }

    /// One transaction of the fold under way; whether that ended it.
    fn take_step(&mut self) -> Result<bool, String> {
        let fold = self.folding.as_mut().expect("a fold under way");
        let transaction = self
            .connection
            .transaction()
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        let step = fold::step(&transaction, fold, self.snapshot_seq)
            .and_then(|step| transaction.commit().map(|()| step))
            .map_err(|e| format!("state store {}: {e}", self.path.display()))?;
        if let Step::Trimmed { snapshot_seq } = step {
            self.snapshot_seq = snapshot_seq;
            if snapshot_seq == fold.upto {
                self.folding = None;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Journal entries not yet folded into the snapshot.
    pub fn unfolded(&self) -> u64 {
        self.last_seq - self.snapshot_seq
    }

    /// Commits over every life of the node.
    pub fn commits(&self) -> u64 {
        self.commits
    }
}

fn write_entries(
    transaction: &Transaction<'_>,
    first: u64,
    changes: &[Change],
) -> Result<(), rusqlite::Error> {
    let mut insert = transaction
        .prepare_cached("INSERT INTO journal (seq, kind, id, body) VALUES (?1, ?2, ?3, ?4)")?;
    for (offset, change) in changes.iter().enumerate() {
        let seq = (first + offset as u64) as i64;
        match change {
            Change::Put { key, body } => insert.execute(params![seq, key.kind, key.id, body])?,
            Change::Delete { key } => {
                insert.execute(params![seq, key.kind, key.id, None::<Vec<u8>>])?
            }
        };
    }
    Ok(())
}
