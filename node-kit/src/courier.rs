//! The courier: sends a node's outgoing protocol messages in the background,
//! each with bounded retries, with a bound on how many are in flight and how
//! many may wait.
//!
//! State machines decide *what* to send; the courier only carries it and
//! reports the outcome back through a callback, so the machine can mark the
//! message delivered or plan a resend.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;
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
            shutdown,
            policy,
        }
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
            tracing::error!(%what, "courier queue full, message not sent");
            on_done(Err(Status::resource_exhausted("courier queue full")));
            return;
        }
        let courier = self.clone();
        // The send runs in the dispatcher's span, so every attempt carries
        // that span's trace context.
        let span = tracing::Span::current();
        let task = async move {
            let outcome = tokio::select! {
                _ = courier.shutdown.cancelled() => None,
                outcome = courier.carry(call) => Some(outcome),
            };
            courier.waiting.fetch_sub(1, Ordering::SeqCst);
            let Some(outcome) = outcome else { return };
            if let Err(status) = &outcome {
                tracing::warn!(%what, code = ?status.code(), message = status.message(), "send failed");
            }
            on_done(outcome);
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
}
