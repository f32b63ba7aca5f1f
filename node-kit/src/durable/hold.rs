//! How long handlers wait for a machine's lock and how long they hold it,
//! counted over every [`super::Durable`] of this process: for benchmarks
//! and profiles, to tell a lock that serialises the handlers from a slow
//! disk. Process-wide, like the writer's totals, so a node started
//! in-process needs no handle for them to be read. Timed for these totals
//! only: no decision reads them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Passes through the lock to change the machine, and the time waited for
/// it and held (the change, its records taken and queued for the writer).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LockTotals {
    pub passes: u64,
    pub wait_ns: u64,
    pub held_ns: u64,
}

impl LockTotals {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &LockTotals) -> LockTotals {
        LockTotals {
            passes: self.passes - earlier.passes,
            wait_ns: self.wait_ns - earlier.wait_ns,
            held_ns: self.held_ns - earlier.held_ns,
        }
    }
}

static PASSES: AtomicU64 = AtomicU64::new(0);
static WAIT_NS: AtomicU64 = AtomicU64::new(0);
static HELD_NS: AtomicU64 = AtomicU64::new(0);

/// The totals of every machine's lock in this process since it started.
pub fn totals() -> LockTotals {
    LockTotals {
        passes: PASSES.load(Ordering::Relaxed),
        wait_ns: WAIT_NS.load(Ordering::Relaxed),
        held_ns: HELD_NS.load(Ordering::Relaxed),
    }
}

/// Counts one pass that waited `wait` for the lock and held it `held`.
pub(super) fn record(wait: Duration, held: Duration) {
    PASSES.fetch_add(1, Ordering::Relaxed);
    super::add_nanos(&WAIT_NS, wait);
    super::add_nanos(&HELD_NS, held);
}
