//! The sequencer applies each change alone, in the order queued, and
//! answers only once the change is queued for the disk; a change that
//! panics fails its own caller and no other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use counterpart_domain::clock::Clock;
use counterpart_domain::journal::{self, Change, RecordKey, Records};
use counterpart_protocol::persist::Persistent;

use super::*;
use crate::durable::{self, Durability, JournalStore};

/// A machine that numbers the changes it takes and keeps each as a record.
#[derive(Debug, Default)]
struct Numbered {
    taken: u32,
    /// Changes running now: more than one at a time is the bug.
    running: u32,
    dirty: BTreeSet<u32>,
}

impl Numbered {
    fn take(&mut self) -> u32 {
        self.running += 1;
        assert_eq!(self.running, 1, "two changes ran at once");
        self.taken += 1;
        self.dirty.insert(self.taken);
        std::thread::yield_now();
        self.running -= 1;
        self.taken
    }
}

impl Persistent for Numbered {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        Ok(std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|n| Change::put("n", n.to_string(), Vec::new()))
            .collect())
    }

    fn records(&self) -> Result<Records, String> {
        Ok((1..=self.taken)
            .map(|n| (RecordKey::new("n", n.to_string()), Vec::new()))
            .collect::<BTreeMap<_, _>>())
    }
}

impl Machine for Numbered {
    type Now = ();
    fn clock(&self) -> Option<Clock> {
        None
    }
    fn now(&self) {}
    fn last_tick_changed(&self) -> bool {
        false
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "counterpart-sequencer-{name}-{}-{}",
        std::process::id(),
        counterpart_domain::clock::unix_now_ms()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_runs_alone_and_every_caller_gets_its_own_answer() {
    let machine = Arc::new(durable::Durable::in_memory(Numbered::default()));
    let sequencer = Sequencer::start(machine.clone());
    let callers: Vec<_> = (0..500)
        .map(|_| {
            let sequencer = sequencer.clone();
            tokio::spawn(async move { sequencer.apply(Numbered::take).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for caller in callers {
        answers.push(caller.await.unwrap());
    }
    answers.sort_unstable();
    assert_eq!(answers, (1..=500).collect::<Vec<u32>>(), "one number each");
    // One caller's changes run in the order it queued them.
    let first = sequencer.apply(Numbered::take).await.unwrap();
    let second = sequencer.apply(Numbered::take).await.unwrap();
    assert_eq!((first, second), (501, 502));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_change_is_on_disk_once_flushed() {
    let dir = temp_dir("flushed");
    let open = || {
        durable::open(
            Some(&dir),
            Durability::Normal,
            "north",
            "s",
            || Ok(Numbered::default()),
            |records| {
                Ok(Numbered {
                    taken: journal::of_kind(records, "n").count() as u32,
                    ..Numbered::default()
                })
            },
        )
        .unwrap()
    };
    let machine = Arc::new(open());
    let sequencer = Sequencer::start(machine.clone());
    // Writes held: a change answered before its batch was queued would let
    // `flushed` return at once, for an earlier batch.
    let hold = machine.hold_writes().expect("journaled");
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let (sequencer, machine) = (sequencer.clone(), machine.clone());
            tokio::spawn(async move {
                let n = sequencer.apply(Numbered::take).await.unwrap();
                let early = tokio::time::timeout(Duration::from_millis(100), machine.flushed());
                assert!(
                    early.await.is_err(),
                    "change {n} flushed while writes were held"
                );
                n
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(hold);
    for caller in callers {
        let n = caller.await.unwrap();
        machine.flushed().await;
        let saved = JournalStore::open(&dir, "north", "s", Durability::Normal)
            .unwrap()
            .load()
            .unwrap()
            .unwrap_or_default();
        assert!(
            saved.contains_key(&RecordKey::new("n", n.to_string())),
            "change {n} was answered and flushed but is not on disk"
        );
    }
    drop(sequencer);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_panics_fails_its_caller_and_the_next_still_runs() {
    let machine = Arc::new(durable::Durable::in_memory(Numbered::default()));
    let sequencer = Sequencer::start(machine.clone());
    let failed = sequencer
        .apply(|_: &mut Numbered| -> u32 { panic!("a bug in a handler") })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), tonic::Code::Internal);
    assert_eq!(sequencer.apply(Numbered::take).await.unwrap(), 1);
}

#[test]
fn concurrency_reads_its_two_names_and_refuses_others() {
    assert_eq!("lock".parse(), Ok(Concurrency::Lock));
    assert_eq!("sequencer".parse(), Ok(Concurrency::Sequencer));
    let err = "actor".parse::<Concurrency>().unwrap_err();
    assert!(err.contains("lock or sequencer"), "{err}");
}
