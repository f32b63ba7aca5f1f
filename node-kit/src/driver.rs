//! The one tick loop every node runs. Each node used to carry its own copy;
//! the steps are the same for every role:
//!
//! 1. wait for the next tick, or stop when `shutdown` trips;
//! 2. lock the machine and ask it what is due now (the role's closure: it
//!    reads its own time and may pair each message with what its sender
//!    span needs from the machine); a tick that changed nothing is released
//!    without asking the machine for changes;
//! 3. wait until what the tick decided is on disk: a restarted node never
//!    contradicts what it already sent;
//! 4. hand each message to the role's `dispatch` (the courier, which feeds
//!    the outcome back to the machine's `on_sent`).
//!
//! The lock is released before the wait, and the loop runs outside any
//! span, so messages about no case start traces of their own. How a role
//! builds a message's span and which client carries it stay in its crate.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::durable::Durable;
use crate::machine::Machine;
use crate::registration::tick_period;

/// How often the loop ticks.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// On a fixed interval, the first tick at once, a missed tick skipped
    /// (central, whose tick comes from its command line).
    Every(Duration),
    /// A sleep between ticks, as long as the machine's clock asks for
    /// ([`tick_period`]), `idle` until the clock has started (provinces
    /// and cities learn the speed only with the clock).
    ByClock { idle: Duration },
}

/// Ticks `machine` until `shutdown` trips. `tick` runs under the machine's
/// lock and returns what to send now (`None`: the machine does not tick
/// yet); `dispatch` then gets each message, once the tick's changes are
/// saved.
pub async fn run_ticks<M: Machine, Out>(
    machine: &Durable<M>,
    pace: Pace,
    shutdown: &CancellationToken,
    mut tick: impl FnMut(&mut M) -> Option<Vec<Out>>,
    mut dispatch: impl FnMut(Out),
) {
    let (mut interval, idle) = match pace {
        Pace::Every(period) => {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            (Some(interval), period)
        }
        Pace::ByClock { idle } => (None, idle),
    };
    loop {
        let next = async {
            match &mut interval {
                Some(interval) => {
                    interval.tick().await;
                }
                None => {
                    let period = machine
                        .read()
                        .clock()
                        .map_or(idle, |clock| tick_period(clock.day_ms));
                    tokio::time::sleep(period).await;
                }
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = next => {}
        }
        let outbound = {
            let mut machine = machine.lock();
            let outbound = tick(&mut machine);
            if outbound.is_none() || !machine.last_tick_changed() {
                machine.release_unchanged();
            }
            outbound.unwrap_or_default()
        };
        if outbound.is_empty() {
            continue;
        }
        machine.flushed().await;
        for message in outbound {
            dispatch(message);
        }
    }
}
