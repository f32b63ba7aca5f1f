//! A closed-loop load generator: `concurrency` callers, each sending its next
//! call as soon as the previous one answered, until the time is up or the
//! calls run out. Throughput is answered calls over the elapsed time;
//! latency is per call, measured by the caller.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stats::Latencies;

/// How long and how hard to load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    /// At most this many calls in all (calls that need distinct senders).
    pub max_calls: u64,
}

/// What one load run measured.
#[derive(Debug)]
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies: Latencies,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Calls sent, answered or refused.
    pub fn calls(&self) -> u64 {
        self.ok + self.errors
    }

    /// Several runs as one: calls and time add up, latencies pool.
    pub fn merge(parts: Vec<LoadResult>) -> LoadResult {
        let mut ok = 0;
        let mut errors = 0;
        let mut first_error = None;
        let mut elapsed = Duration::ZERO;
        let mut latencies = Vec::with_capacity(parts.len());
        for part in parts {
            ok += part.ok;
            errors += part.errors;
            elapsed += part.elapsed;
            if first_error.is_none() {
                first_error = part.first_error;
            }
            latencies.push(part.latencies);
        }
        LoadResult {
            ok,
            errors,
            first_error,
            elapsed,
            latencies: Latencies::merge(latencies),
        }
    }
}

/// Measures `a` and `b` under the same load in alternating slices, so that
/// a change in the machine's load during the measurement falls on both.
pub fn alternate(
    load: Load,
    slices: usize,
    mut a: impl FnMut(Load) -> LoadResult,
    mut b: impl FnMut(Load) -> LoadResult,
) -> (LoadResult, LoadResult) {
    let slices = slices.max(1);
    let slice = Load {
        duration: load.duration / slices as u32,
        ..load
    };
    let mut a_parts = Vec::with_capacity(slices);
    let mut b_parts = Vec::with_capacity(slices);
    for _ in 0..slices {
        a_parts.push(a(slice));
        b_parts.push(b(slice));
    }
    (LoadResult::merge(a_parts), LoadResult::merge(b_parts))
}

/// Runs `call(i)` for i = 0, 1, 2, ... from `load.concurrency` tasks at
/// once. `call` returns an error text for a refused call.
pub async fn run<F, Fut>(load: Load, call: F) -> LoadResult
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let end = started + load.duration;
    let mut tasks = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let next = next.clone();
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < end {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= load.max_calls {
                    break;
                }
                let t0 = Instant::now();
                match call(i).await {
                    Ok(()) => samples.push(t0.elapsed()),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (samples, errors, first_error)
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (s, e, f) = task.await.expect("load task does not panic");
        samples.extend(s);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let elapsed = started.elapsed();
    LoadResult {
        ok: samples.len() as u64,
        errors,
        first_error,
        elapsed,
        latencies: Latencies::new(samples),
    }
}
