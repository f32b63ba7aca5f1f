//! The courier: sends a node's outgoing protocol messages in the background,
//! each with bounded retries, with a bound on how many are in flight and how
//! many may wait.
//!
//! State machines decide *what* to send; the courier only carries it and
//! reports the outcome back through a callback, so the machine can mark the
//! message delivered or plan a resend.
//!
//! Under the lockstep clock the courier keeps order ([`Courier::keep_order`]):
//! each message is delivered, and its outcome fed back, before the next one
//! goes, so a receiver handles one sender's messages in the order the
//! machine decided them, whatever the scheduler does; and a step is over
//! when [`Courier::drained`] returns.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::retry::{retry, RetryPolicy};

/// Calls in flight at once per node.
pub const MAX_IN_FLIGHT: usize = 32;
/// Messages waiting for a slot; beyond this a send fails at once with
/// RESOURCE_EXHAUSTED rather than growing memory without bound.
pub const MAX_WAITING: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Courier {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// Woken each time a message's outcome is known.
    settled: Arc<Notify>,
    /// Whether messages go one after another, in dispatch order.
    in_order: Arc<AtomicBool>,
    /// In order: the end of the last message dispatched, which the next
    /// one waits for.
    last: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
    shutdown: CancellationToken,
    policy: RetryPolicy,
}

impl Courier {
    pub fn new(shutdown: CancellationToken) -> Self {
        Courier::with_policy(shutdown, RetryPolicy::PROTOCOL)
    }

    pub fn with_policy(shutdown: CancellationToken, policy: RetryPolicy) -> Self {
        Courier {
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            waiting: Arc::new(AtomicUsize::new(0)),
            settled: Arc::new(Notify::new()),
            in_order: Arc::new(AtomicBool::new(false)),
            last: Arc::new(Mutex::new(None)),
            shutdown,
            policy,
        }
    }

    /// From now on, whether each message waits for the one dispatched
    /// before it (lockstep) or all go at once, up to [`MAX_IN_FLIGHT`].
    pub fn keep_order(&self, in_order: bool) {
        self.in_order.store(in_order, Ordering::SeqCst);
    }

    /// Returns once every message dispatched so far has its outcome fed
    /// back (or the node is shutting down).
    pub async fn drained(&self) {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.waiting.load(Ordering::SeqCst) == 0 || self.shutdown.is_cancelled() {
                return;
            }
            tokio::select! {
                _ = settled => {}
                _ = self.shutdown.cancelled() => return,
            }
        }
    }

    /// In order: the end of the message before, and the signal this one
    /// gives when it ends. Out of order: nothing to wait for.
    fn place_in_line(&self) -> (Option<oneshot::Receiver<()>>, Option<oneshot::Sender<()>>) {
        if !self.in_order.load(Ordering::SeqCst) {
            return (None, None);
        }
        let (done, next) = oneshot::channel();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        (last.replace(next), Some(done))
    }

    /// Sends in the background: `call` makes one attempt (it is called again
    /// for each retry), `on_done` receives the final outcome. `what` names
    /// the message in logs. Nothing is reported if the node shuts down first.
    pub fn dispatch<T, C, Fut, D>(&self, what: String, call: C, on_done: D)
    where
        T: Send + 'static,
        C: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Status>> + Send,
        D: FnOnce(Result<T, Status>) + Send + 'static,
    {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.settled.notify_waiters();
            tracing::error!(%what, "courier queue full, message not sent");
            on_done(Err(Status::resource_exhausted("courier queue full")));
            return;
        }
        let courier = self.clone();
        let (before, done) = self.place_in_line();
        // The send runs in the dispatcher's span, so every attempt carries
        // that span's trace context.
        let span = tracing::Span::current();
        let task = async move {
            if let Some(before) = before {
                // Its sender dropping (the message before ended either
                // way) is the same as its signal.
                let _ = before.await;
            }
            let outcome = tokio::select! {
                _ = courier.shutdown.cancelled() => None,
                outcome = courier.carry(call) => Some(outcome),
            };
            if let Some(outcome) = outcome {
                if let Err(status) = &outcome {
                    tracing::warn!(%what, code = ?status.code(), message = status.message(), "send failed");
                }
                on_done(outcome);
            }
            // Counted out only once its outcome is fed back: `drained`
            // means the machine knows every outcome.
            courier.waiting.fetch_sub(1, Ordering::SeqCst);
            courier.settled.notify_waiters();
            if let Some(done) = done {
                let _ = done.send(());
            }
        };
        tokio::spawn(tracing::Instrument::instrument(task, span));
    }

    async fn carry<T, C, Fut>(&self, call: C) -> Result<T, Status>
    where
        C: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Status::cancelled("courier closed"))?;
        retry(self.policy, call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test]
    async fn reports_the_outcome_after_retrying() {
        let courier = Courier::with_policy(
            CancellationToken::new(),
            RetryPolicy {
                max_attempts: 3,
                initial_backoff_ms: 1,
                max_backoff_ms: 1,
            },
        );
        let attempts = Arc::new(AtomicU32::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let counted = attempts.clone();
        courier.dispatch(
            "test".into(),
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(Status::unavailable("down"))
                    } else {
                        Ok(n)
                    }
                }
            },
            move |outcome| {
                let _ = tx.send(outcome);
            },
        );
        assert_eq!(rx.await.unwrap().unwrap(), 2);
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
    }

    /// In order, the first message's slow delivery holds back the second,
    /// and `drained` waits for both outcomes; out of order, the fast one
    /// overtakes the slow one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn in_order_each_message_waits_for_the_one_before() {
        for in_order in [true, false] {
            let courier = Courier::new(CancellationToken::new());
            courier.keep_order(in_order);
            let outcomes = Arc::new(Mutex::new(Vec::new()));
            for (name, delay_ms) in [("slow", 50u64), ("fast", 0)] {
                let seen = outcomes.clone();
                courier.dispatch(
                    name.into(),
                    move || async move {
                        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                        Ok::<_, Status>(name)
                    },
                    move |outcome| seen.lock().unwrap().push(outcome.unwrap()),
                );
            }
            courier.drained().await;
            let order = outcomes.lock().unwrap().clone();
            let expected = if in_order {
                ["slow", "fast"]
            } else {
                ["fast", "slow"]
            };
            assert_eq!(order, expected, "in order: {in_order}");
        }
    }
}
