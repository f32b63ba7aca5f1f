//! One task applies a node's messages to its machine, in batches: the
//! alternative to every handler taking the machine's lock itself.
//!
//! With the lock, a handler that finds it taken parks its worker thread
//! (a futex wait) until the holder is done; on two cores that is half the
//! runtime asleep while calls wait to be decoded. With the sequencer a
//! handler queues its change and awaits the answer: no worker ever blocks,
//! and the task takes the lock once for every batch of queued changes, so
//! a batch is also one write for the journal.
//!
//! Nothing changes for the machine: each change still runs alone on it,
//! at the present time read when it runs, in the order the changes were
//! queued. An answer is handed back only after the batch's lock is
//! released, which queues the batch for the disk, so the handler's
//! [`Durable::flushed`] waits for it.
//!
//! BENCHMARKS.md (table 1) measures it against the lock; [`Concurrency`]
//! chooses.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::durable::Durable;
use crate::machine::Machine;

/// Changes waiting for the task at most; a handler past this waits to
/// queue (back-pressure on the callers, never an unbounded queue).
pub const QUEUE_BOUND: usize = 1_024;
/// Changes applied under one lock at most, so the driver's tick and the
/// operator's queries get the lock between batches.
pub const MAX_BATCH: usize = 64;

/// How a node's handlers reach its machine. The lock stays the default:
/// measured side by side on an idle machine (BENCHMARKS.md table 1) the
/// sequencer answered more calls a second only at 128 in flight on two of
/// the three hot paths, and fewer at 8 and 32; provinces and cities, which
/// take a few messages a day, always use the lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Concurrency {
    /// Each handler takes the machine's lock.
    #[default]
    Lock,
    /// Handlers queue their changes for one task ([`Sequencer`]).
    Sequencer,
}

impl std::str::FromStr for Concurrency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lock" => Ok(Concurrency::Lock),
            "sequencer" => Ok(Concurrency::Sequencer),
            other => Err(format!("concurrency: {other:?} is not lock or sequencer")),
        }
    }
}

/// A change for the machine, returning how to deliver its answer once the
/// batch's lock is released.
type Job<M> = Box<dyn FnOnce(&mut M) -> Delivery + Send>;
type Delivery = Box<dyn FnOnce() + Send>;

/// The handle handlers queue changes on; the task ends when every handle
/// is dropped.
#[derive(Debug)]
pub struct Sequencer<M> {
    jobs: mpsc::Sender<Job<M>>,
}

impl<M> Clone for Sequencer<M> {
    fn clone(&self) -> Self {
        Sequencer {
            jobs: self.jobs.clone(),
        }
    }
}

impl<M: Machine + Sync> Sequencer<M> {
    /// Starts the task on the current runtime.
    pub fn start(machine: Arc<Durable<M>>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE_BOUND);
        tokio::spawn(run(machine, queue));
        Sequencer { jobs }
    }
}

impl<M: Machine> Sequencer<M> {
    /// Runs `change` on the machine in turn and returns what it returned.
    /// `Unavailable` if the node is stopping; `Internal` if the change
    /// panicked (the machine, as with the lock, keeps what it had).
    pub async fn apply<R: Send + 'static>(
        &self,
        change: impl FnOnce(&mut M) -> R + Send + 'static,
    ) -> Result<R, Status> {
        let (answer, answered) = oneshot::channel();
        let job: Job<M> = Box::new(move |machine| {
            let outcome = change(machine);
            Box::new(move || {
                // The handler may have gone (its caller's deadline passed);
                // the change stands, as it would under the lock.
                let _ = answer.send(outcome);
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| Status::unavailable("the node is stopping"))?;
        answered
            .await
            .map_err(|_| Status::internal("the change failed; see the node's log"))
    }
}

async fn run<M: Machine + Sync>(machine: Arc<Durable<M>>, mut queue: mpsc::Receiver<Job<M>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut deliveries = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        {
            let mut changing = machine.lock();
            for job in batch.drain(..) {
                match catch_unwind(AssertUnwindSafe(|| job(&mut changing))) {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(_) => tracing::error!("a change panicked; its caller is told"),
                }
            }
        } // the lock is released here, which queues the batch for the disk
        for deliver in deliveries.drain(..) {
            deliver();
        }
    }
}

#[cfg(test)]
#[path = "sequencer_tests.rs"]
mod tests;
