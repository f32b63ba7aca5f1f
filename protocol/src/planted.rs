//! Planted bugs, for the deterministic simulator's checker tests only.
//!
//! A checker that never fails proves nothing: the simulator (pairctl) runs
//! seeded fault runs with one of these bugs planted and must show that its
//! whole-cluster checks catch each one. The bugs exist only when this crate
//! is built with the feature `planted-bugs`, which no release build turns
//! on, and even then only in a thread that plants one ([`plant`]).
//!
//! Each bug's site in the machines is marked "planted bug, test builds
//! only" and sits beside the normal path, which stays as it is.
//!
//! The switch is per thread, not per process: one simulation runs on one
//! thread, and tests running in parallel each plant their own bug without
//! seeing the others'.

use std::cell::Cell;

/// A bug that can be planted in the machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bug {
    /// The city counts a resent shipment twice (its duplicate check skipped
    /// for shipments).
    CityCountsResentShipmentTwice,
    /// The donor forgets its outbox on restart: shipments (and other
    /// messages) it still owed are dropped when it is restored from saved
    /// state.
    DonorForgetsOutboxOnRestart,
    /// Central closes a case before its last receipt: an implementing
    /// case closes while goods are on their way to the city.
    CentralClosesBeforeLastReceipt,
    /// The city's daily tally counts each day's deaths twice: its books
    /// and central's ledger no longer tell one course.
    CityTalliesDeathsTwice,
}

impl Bug {
    /// Every bug, in declaration order (so a simulator can run them all).
    pub const ALL: [Bug; 4] = [
        Bug::CityCountsResentShipmentTwice,
        Bug::DonorForgetsOutboxOnRestart,
        Bug::CentralClosesBeforeLastReceipt,
        Bug::CityTalliesDeathsTwice,
    ];

    /// The bug's name on a command line and in a report (kebab-case).
    pub fn name(self) -> &'static str {
        match self {
            Bug::CityCountsResentShipmentTwice => "city-counts-resent-shipment-twice",
            Bug::DonorForgetsOutboxOnRestart => "donor-forgets-outbox-on-restart",
            Bug::CentralClosesBeforeLastReceipt => "central-closes-before-last-receipt",
            Bug::CityTalliesDeathsTwice => "city-tallies-deaths-twice",
        }
    }

    /// The bug named `s` (as [`Bug::name`] spells it), if there is one.
    pub fn parse(s: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|bug| bug.name() == s)
    }
}

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

thread_local! {
    /// The bug planted in this thread; one at a time, so a checker's
    /// failure names the bug that caused it.
    static PLANTED: Cell<Option<Bug>> = const { Cell::new(None) };
}

/// Plants `bug` in this thread (thread-local; `None` removes it). One
/// simulation runs on one thread; parallel tests each plant their own.
pub fn plant(bug: Option<Bug>) {
    PLANTED.with(|planted| planted.set(bug));
}

/// Whether `bug` is planted in this thread.
pub fn planted(bug: Bug) -> bool {
    PLANTED.with(|planted| planted.get() == Some(bug))
}
