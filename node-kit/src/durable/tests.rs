use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use counterpart_domain::journal::{self, Change, RecordKey, Records};

use super::checkpoint::{self, Checkpointer, WalLimits};
use super::*;

/// A machine of named counters that tracks which it changed.
#[derive(Debug, Default)]
struct Tally {
    counts: BTreeMap<String, u32>,
    dirty: BTreeSet<String>,
}

impl Tally {
    fn set(&mut self, name: &str, value: Option<u32>) {
        match value {
            Some(v) => self.counts.insert(name.to_string(), v),
            None => self.counts.remove(name),
        };
        self.dirty.insert(name.to_string());
    }

    fn restore(records: &Records) -> Result<Tally, String> {
        let counts = journal::of_kind(records, "count")
            .map(|(id, body)| (id.to_string(), u32::from_le_bytes(body.try_into().unwrap())))
            .collect();
        Ok(Tally {
            counts,
            dirty: BTreeSet::new(),
        })
    }
}

impl Persistent for Tally {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        Ok(std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|name| match self.counts.get(&name) {
                Some(v) => Change::put("count", name, v.to_le_bytes().to_vec()),
                None => Change::delete("count", name),
            })
            .collect())
    }

    fn records(&self) -> Result<Records, String> {
        Ok(self
            .counts
            .iter()
            .map(|(k, v)| (RecordKey::new("count", k.clone()), v.to_le_bytes().to_vec()))
            .collect())
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

fn open_tally(dir: &Path) -> Durable<Tally> {
    open(
        Some(dir),
        Durability::Normal,
        "hubei",
        "s",
        || Ok(Tally::default()),
        Tally::restore,
    )
    .unwrap()
}

fn reload(dir: &Path) -> Records {
    JournalStore::open(dir, "hubei", "s", Durability::Normal)
        .unwrap()
        .load()
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_change_is_on_disk_once_flushed_and_reads_write_nothing() {
    let dir = temp_dir("change");
    let durable = open_tally(&dir);
    durable.lock().set("a", Some(7));
    durable.flushed().await;
    assert_eq!(reload(&dir), durable.read().records().unwrap());
    let _ = durable.lock().counts.len(); // read through the changing guard
    let _ = durable.read().counts.len();
    // Borrowed mutably but nothing changed (a refusal, a resend): no write.
    let _ = &mut durable.lock().counts;
    durable.flushed().await;
    let store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    assert_eq!(store.commits(), 1, "only the change was written");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_writer_totals_count_each_commit_and_its_changes() {
    let dir = temp_dir("totals");
    let durable = open_tally(&dir);
    // Process-wide totals, and other tests write beside this one: only
    // at least what this test wrote can be asserted.
    let before = writer::totals();
    {
        let mut machine = durable.lock();
        machine.set("a", Some(1));
        machine.set("b", Some(2));
    }
    durable.flushed().await;
    let written = writer::totals().since(&before);
    assert!(written.commits >= 1, "{written:?}");
    assert!(written.changes >= 2, "two records changed: {written:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn each_pass_through_the_lock_is_counted_with_its_hold() {
    let durable = Durable::in_memory(Tally::default());
    // Process-wide totals, beside other tests: at least this test's passes.
    let before = hold::totals();
    durable.lock().set("a", Some(1));
    durable.lock().set("b", Some(2));
    let _ = durable.read().counts.len(); // a read is not a pass
    let passed = hold::totals().since(&before);
    assert!(passed.passes >= 2, "{passed:?}");
    assert!(passed.held_ns > 0, "{passed:?}");
}

#[tokio::test]
async fn a_restart_replays_the_journal_after_the_last_snapshot() {
    let dir = temp_dir("replay");
    let durable = open_tally(&dir);
    let before = writer::totals();
    let changes = store::SNAPSHOT_EVERY + 100;
    for n in 0..changes {
        let name = format!("c{}", n % 300);
        let value = (n % 5 != 0).then_some(n as u32);
        durable.lock().set(&name, value);
    }
    durable.flushed().await;
    // The writer folds after it has told the waiters their changes are
    // saved: wait for the fold.
    let started = Instant::now();
    while writer::totals().since(&before).folds == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the writer's totals count no fold: {:?}",
            writer::totals().since(&before)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let live = durable.read().records().unwrap();
    drop(durable);
    let store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    assert!(
        store.unfolded() < changes,
        "the journal was folded into the snapshot"
    );
    assert_eq!(reload(&dir), live, "snapshot + journal = the machine");
    let reopened = open_tally(&dir);
    assert_eq!(reopened.read().records().unwrap(), live);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn with_writes_held_the_machine_still_answers_and_nothing_is_acknowledged() {
    let dir = temp_dir("held");
    let durable = std::sync::Arc::new(open_tally(&dir));
    let hold = durable.hold_writes().expect("journaled");
    durable.lock().set("a", Some(1));
    let waiting = tokio::spawn({
        let durable = durable.clone();
        async move { durable.flushed().await }
    });
    // Reads and changes that need no save go on while the disk is held.
    for _ in 0..50 {
        tokio::task::yield_now().await;
        assert_eq!(durable.read().counts["a"], 1);
        let _ = &mut durable.lock().counts; // no change: nothing to wait for
    }
    assert!(!waiting.is_finished(), "acknowledged before it was saved");
    assert!(reload(&dir).is_empty(), "nothing written while held");
    drop(hold);
    waiting.await.unwrap();
    assert_eq!(reload(&dir).len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_store_of_another_node_or_scenario_is_refused() {
    let dir = temp_dir("claim");
    drop(JournalStore::open(&dir, "jiangsu", "hubei-2020", Durability::Normal).unwrap());
    let other_node =
        JournalStore::open(&dir, "zhejiang", "hubei-2020", Durability::Normal).unwrap_err();
    assert!(other_node.contains("node_id \"jiangsu\""), "{other_node}");
    let other_scenario =
        JournalStore::open(&dir, "jiangsu", "small", Durability::Full).unwrap_err();
    assert!(other_scenario.contains("scenario"), "{other_scenario}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_machine_in_memory_never_waits() {
    let durable = Durable::in_memory(Tally::default());
    durable.lock().set("a", Some(1));
    durable.flushed().await;
    assert!(
        durable.read().dirty.is_empty(),
        "marks of unsaved records do not pile up"
    );
    assert!(durable.hold_writes().is_none());
    assert!(durable.drain(Duration::from_millis(1)).await);
}

/// `Durability::Simulated` (the simulator's hosts): no writer thread; a
/// change is in the file as soon as the guard that made it drops, without
/// awaiting anything, so a simulated crash right after keeps it. Holding
/// writes does not apply.
#[test]
fn a_simulated_store_writes_each_change_before_the_caller_goes_on() {
    let dir = temp_dir("simulated");
    let durable = open(
        Some(&dir),
        Durability::Simulated,
        "hubei",
        "s",
        || Ok(Tally::default()),
        Tally::restore,
    )
    .unwrap();
    assert!(durable.hold_writes().is_none());
    durable.lock().set("a", Some(7));
    // No `flushed().await`, the machine still open: the file already
    // holds the change.
    assert_eq!(reload(&dir), durable.read().records().unwrap());
    drop(durable);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A machine of large records, to fill the WAL quickly.
#[derive(Debug, Default)]
struct Blobs {
    dirty: Vec<(String, Vec<u8>)>,
}

impl Persistent for Blobs {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        Ok(std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(id, body)| Change::put("blob", id, body))
            .collect())
    }

    fn records(&self) -> Result<Records, String> {
        Ok(Records::new())
    }
}

#[tokio::test]
async fn the_checkpointer_copies_the_wal_into_the_database_beside_the_writer() {
    let dir = temp_dir("checkpoint");
    let durable = open(
        Some(&dir),
        Durability::Normal,
        "hubei",
        "s",
        || Ok(Blobs::default()),
        |_| Ok(Blobs::default()),
    )
    .unwrap();
    let before = writer::totals();
    let body_bytes = 64 * 1024;
    let bodies = 3 * checkpoint::CHECKPOINT_AFTER_BYTES as usize / body_bytes;
    for n in 0..bodies {
        // Distinct bytes per body, so nothing is shared between pages.
        let body = vec![n as u8; body_bytes];
        durable.lock().dirty.push((format!("b{n}"), body));
    }
    durable.flushed().await;
    // The writer's connection never checkpoints: the database file grows
    // only when the checkpointer copies the WAL into it.
    let database = dir.join(STATE_FILE);
    let written = (bodies * body_bytes) as u64;
    // The file grows while a checkpoint copies; it is counted once done.
    let started = Instant::now();
    while std::fs::metadata(&database).unwrap().len() < written / 2
        || writer::totals().since(&before).checkpoints == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "after 10 s the database file holds {} bytes of the {written} written \
             ({:?}): no checkpoint copied the WAL",
            std::fs::metadata(&database).unwrap().len(),
            writer::totals().since(&before)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(durable);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_fold_after_a_restart_takes_the_previous_lifes_unfolded_entries() {
    let dir = temp_dir("refold");
    let key = |id: &str| RecordKey::new("count", id);
    let mut store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    store
        .append(&[
            Change::put("count", "a", vec![1]),
            Change::put("count", "b", vec![2]),
        ])
        .unwrap();
    store.fold().unwrap();
    // Then, not folded before the node stops: a replaced, b deleted.
    store
        .append(&[
            Change::put("count", "a", vec![3]),
            Change::delete("count", "b"),
        ])
        .unwrap();
    drop(store);
    let mut store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    assert_eq!(store.unfolded(), 2);
    store.append(&[Change::put("count", "c", vec![4])]).unwrap();
    store.fold().unwrap();
    assert_eq!(store.unfolded(), 0);
    drop(store);
    // The journal is empty: what loads is the snapshot alone.
    assert_eq!(
        reload(&dir),
        Records::from([(key("a"), vec![3]), (key("c"), vec![4])])
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_store_stopped_at_any_step_of_a_fold_loads_what_was_saved() {
    let dir = temp_dir("steps");
    let mut store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    let mut live = Records::new();
    let save = |store: &mut JournalStore, live: &mut Records, n: u64| {
        // 700 records, each put again and again, every seventh change a
        // delete: a fold both replaces and removes snapshot rows.
        let id = format!("c{}", n % 700);
        let change = match n % 7 {
            0 => Change::delete("count", id),
            _ => Change::put("count", id, n.to_le_bytes().to_vec()),
        };
        journal::apply(live, [change.clone()]);
        store.append(&[change]).unwrap();
    };
    for n in 0..store::SNAPSHOT_EVERY + 300 {
        save(&mut store, &mut live, n);
    }
    let mut steps = 0;
    while store.fold_step().unwrap() {
        steps += 1;
        // A node killed here: the file alone must give back every change.
        assert_eq!(reload(&dir), live, "stopped after step {steps}");
        assert_eq!(store.load().unwrap().unwrap(), live, "loaded mid-fold");
        save(&mut store, &mut live, 1_000_000 + steps);
    }
    // 700 records copied and 4,396 entries trimmed, 256 a step.
    assert!(
        steps >= 20,
        "the fold went in {steps} steps, not a step at a time"
    );
    assert_eq!(
        store.unfolded(),
        steps,
        "only what was saved mid-fold is left"
    );
    assert_eq!(store.load().unwrap().unwrap(), live);
    drop(store);
    assert_eq!(reload(&dir), live);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A store in a fresh directory with a checkpointer of `limits` beside
/// it, and no writer thread: the test makes the writer's calls itself.
fn checkpointed_store(name: &str, limits: WalLimits) -> (PathBuf, JournalStore, Checkpointer) {
    let dir = temp_dir(name);
    let store = JournalStore::open(&dir, "hubei", "s", Durability::Normal).unwrap();
    let checkpointer = Checkpointer::start(store.connection(), store.path(), name, limits).unwrap();
    (dir, store, checkpointer)
}

#[test]
fn under_writes_that_never_pause_the_wal_stays_under_its_hard_limit() {
    // Shrunk from the defaults (4, 64 and 256 MiB) so the bound shows in
    // seconds.
    let limits = WalLimits {
        checkpoint_after_bytes: 256 * 1024,
        cut_back_bytes: 1024 * 1024,
        hard_limit_bytes: 2 * 1024 * 1024,
    };
    let (dir, mut store, checkpointer) = checkpointed_store("wal-bound", limits);
    let wal = checkpoint::wal_path(store.path());
    let before = writer::totals();
    // Commits back to back, as a writer at its limit makes them: each
    // checkpoint begins behind the writer and ends behind it, so the WAL
    // never starts over by itself. About 3 pages of 4 KiB a commit: some
    // 36 MB of WAL in all.
    let body = vec![7_u8; 3_000];
    let mut largest = 0;
    for n in 0..3_000_u64 {
        let change = Change::put("count", format!("c{}", n % 50), body.clone());
        // What the writer does before each commit.
        checkpointer.truncate_if_due(store.connection());
        store.append(&[change]).unwrap();
        checkpointer.written(body.len() as u64);
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    let written = writer::totals().since(&before);
    drop(checkpointer);
    assert!(
        // The writer looks every 64 KiB of records, about 256 KiB of WAL
        // here (3 pages a 3 KB record): it may pass the limit by that, and
        // by the commit that crosses it.
        written.truncations > 0 && largest <= limits.hard_limit_bytes + 512 * 1024,
        "the WAL file reached {largest} bytes against a hard limit of {} ({written:?})",
        limits.hard_limit_bytes
    );
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_checkpoint_waits_until_every_overlapping_hold_is_released() {
    let limits = WalLimits {
        checkpoint_after_bytes: 64 * 1024,
        cut_back_bytes: 1024 * 1024,
        hard_limit_bytes: 64 * 1024 * 1024,
    };
    let (dir, mut store, checkpointer) = checkpointed_store("holds", limits);
    let database = dir.join(STATE_FILE);
    let size = || std::fs::metadata(&database).unwrap().len();
    // An operator's hold, then the writer's own (emptying the WAL) begun
    // and ended inside it: the operator's must still hold.
    checkpointer.hold();
    checkpointer.hold();
    checkpointer.release();
    let before = size();
    for n in 0..200_u64 {
        let body = vec![1_u8; 2_000];
        store
            .append(&[Change::put("count", format!("c{n}"), body)])
            .unwrap();
        checkpointer.written(2_000);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        size(),
        before,
        "a checkpoint copied the WAL while a hold lasted"
    );
    checkpointer.release();
    checkpointer.written(limits.checkpoint_after_bytes);
    let started = Instant::now();
    while size() == before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no checkpoint once released"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(checkpointer);
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}
