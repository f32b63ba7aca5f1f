//! Bounded retries with jittered exponential backoff.
//!
//! Only failures that a resend can cure are retried (the peer is down, slow
//! or overloaded); a refusal (INVALID_ARGUMENT, PERMISSION_DENIED...) is
//! final. Resends are harmless because every message carries its id.

use counterpart_protocol::RoundOutcome;
use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tonic::{Code, Status};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl RetryPolicy {
    /// For protocol messages between nodes: about a minute of wall time in
    /// all before giving up.
    pub const PROTOCOL: RetryPolicy = RetryPolicy {
        max_attempts: 12,
        initial_backoff_ms: 50,
        max_backoff_ms: 8_000,
    };

    /// Backoff before attempt `attempt` (1-based; attempt 1 has none), with
    /// full jitter in [backoff/2, backoff].
    pub fn backoff(&self, attempt: u32) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let exp = self
            .initial_backoff_ms
            .saturating_mul(1u64 << (attempt - 2).min(20));
        let cap = exp.min(self.max_backoff_ms).max(1);
        Duration::from_millis(jitter(cap / 2..=cap))
    }
}

thread_local! {
    /// The seeded source of jitter of a simulation: one thread runs a
    /// whole simulation, its hosts in a fixed order, so draws from one
    /// seeded generator come in the same order on every run of a seed.
    static SEEDED_JITTER: std::cell::RefCell<Option<rand::rngs::StdRng>> =
        const { std::cell::RefCell::new(None) };
}

/// Draws every later backoff of this thread from `seed` (`pairctl sim`);
/// `None` goes back to the unseeded source every node uses.
pub fn seed_jitter(seed: Option<u64>) {
    use rand::SeedableRng;
    SEEDED_JITTER.with(|rng| *rng.borrow_mut() = seed.map(rand::rngs::StdRng::seed_from_u64));
}

fn jitter(range: std::ops::RangeInclusive<u64>) -> u64 {
    SEEDED_JITTER.with(|seeded| match seeded.borrow_mut().as_mut() {
        Some(rng) => rng.random_range(range),
        None => rand::rng().random_range(range),
    })
}

/// Whether a failed call may succeed if sent again.
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Unknown
            | Code::Cancelled
    )
}

/// How a round ended, for the protocol's resend policy: the one place a
/// gRPC status becomes a [`RoundOutcome`].
pub fn round_outcome<T>(result: &Result<T, Status>) -> RoundOutcome {
    match result {
        Ok(_) => RoundOutcome::Accepted,
        Err(status) if is_transient(status) => RoundOutcome::Transient,
        Err(_) => RoundOutcome::Refused,
    }
}

/// Calls `op` until it succeeds, fails with a final status, or the policy's
/// attempts run out; returns the last outcome.
pub async fn retry<T, F, Fut>(policy: RetryPolicy, mut op: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    assert!(policy.max_attempts >= 1);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(status) if attempt < policy.max_attempts && is_transient(&status) => {
                attempt += 1;
                tokio::time::sleep(policy.backoff(attempt)).await;
            }
            Err(status) => return Err(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const FAST: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        initial_backoff_ms: 1,
        max_backoff_ms: 2,
    };

    #[tokio::test]
    async fn retries_transient_failures_up_to_the_bound() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Status> = retry(FAST, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::unavailable("down")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Code::Unavailable);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_final() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Status> = retry(FAST, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::invalid_argument("bad")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::PROTOCOL;
        assert_eq!(p.backoff(1), Duration::ZERO);
        assert!(p.backoff(2) <= Duration::from_millis(50));
        assert!(p.backoff(30) <= Duration::from_millis(8_000));
        assert!(p.backoff(30) >= Duration::from_millis(4_000));
    }
}
