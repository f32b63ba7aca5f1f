//! The three protocol machines as the node edge drives them: their clock,
//! the time a handler is given, and whether a tick changed anything.
//!
//! The machines are pure and take time as an argument; reading the wall
//! clock is I/O, so it happens here, once per message or tick, by one rule
//! per role. On the lockstep clock the wall is not read at all: the
//! present is the time central granted last (`Clock::present`). The rules differ on purpose and are kept as they were:
//! central and the city never date anything before scenario time 0 (a
//! message that arrives early is stamped 0), the province hands its
//! handlers the clock's reading as it is.

use counterpart_domain::clock::{Clock, ScenarioTime};

use crate::net::unix_now_ms;
use counterpart_protocol::central::authority::{Authority, Now};
use counterpart_protocol::donor::Donor;
use counterpart_protocol::persist::Persistent;
use counterpart_protocol::recipient::Recipient;

/// A node's state machine, as its service adapter and its tick loop see it.
pub trait Machine: Persistent + Send + 'static {
    /// The present moment a handler is given.
    type Now: Copy;
    /// The scenario clock, once central has started it.
    fn clock(&self) -> Option<Clock>;
    /// The present moment by the machine's clock (time 0 before it starts;
    /// the machine refuses what needs the clock then).
    fn now(&self) -> Self::Now;
    /// Whether the last tick changed anything that must be saved.
    fn last_tick_changed(&self) -> bool;
}

impl Machine for Authority {
    type Now = Now;
    fn clock(&self) -> Option<Clock> {
        Authority::clock(self)
    }
    /// Scenario time (never before 0) and the wall time it was read at.
    fn now(&self) -> Now {
        let unix_ms = unix_now_ms();
        let scenario = Authority::clock(self)
            .map(|c| c.present(unix_ms).max(ScenarioTime(0)))
            .unwrap_or_default();
        Now { scenario, unix_ms }
    }
    fn last_tick_changed(&self) -> bool {
        Authority::last_tick_changed(self)
    }
}

impl Machine for Donor {
    type Now = ScenarioTime;
    fn clock(&self) -> Option<Clock> {
        Donor::clock(self)
    }
    fn now(&self) -> ScenarioTime {
        Donor::clock(self)
            .map(|c| c.present(unix_now_ms()))
            .unwrap_or_default()
    }
    fn last_tick_changed(&self) -> bool {
        Donor::last_tick_changed(self)
    }
}

impl Machine for Recipient {
    type Now = ScenarioTime;
    fn clock(&self) -> Option<Clock> {
        Recipient::clock(self)
    }
    /// No record is dated before the scenario: an early message is
    /// stamped at 0.
    fn now(&self) -> ScenarioTime {
        Recipient::clock(self)
            .map(|clock| ScenarioTime(clock.present(unix_now_ms()).0.max(0)))
            .unwrap_or_default()
    }
    fn last_tick_changed(&self) -> bool {
        Recipient::last_tick_changed(self)
    }
}
