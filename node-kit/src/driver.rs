//! The one tick loop every node runs. Each node used to carry its own copy;
//! the steps are the same for every role:
//!
//! 1. wait for the next tick, or stop when `shutdown` trips. On the wall
//!    clock a tick comes with time; on the lockstep clock it comes with
//!    central's grant (a [`StepOrder`]), and never otherwise;
//! 2. lock the machine and ask it what is due now (the role's closure: it
//!    reads its own time and may pair each message with what its sender
//!    span needs from the machine); a tick that changed nothing is released
//!    without asking the machine for changes;
//! 3. wait until what the tick decided is on disk: a restarted node never
//!    contradicts what it already sent;
//! 4. hand each message to the role's `dispatch` (the courier, which feeds
//!    the outcome back to the machine's `on_sent`);
//! 5. lockstep only: wait until every message has its outcome, then answer
//!    the grant. The courier keeps order then: one message at a time.
//!
//! The lock is released before the wait, and the loop runs outside any
//! span, so messages about no case start traces of their own. How a role
//! builds a message's span and which client carries it stay in its crate.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::courier::Courier;
use crate::durable::Durable;
use crate::lockstep::{StepOrder, StepReceiver};
use crate::machine::Machine;
use crate::registration::tick_period;

/// How often the loop ticks on the wall clock.
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

/// What a tick loop drives: the machine, how it paces itself on the wall
/// clock, the courier its messages go through, and (for a province or a
/// city) the grants of the lockstep clock.
pub struct TickLoop<'a, M> {
    pub machine: &'a Durable<M>,
    pub pace: Pace,
    pub shutdown: &'a CancellationToken,
    pub courier: &'a Courier,
    pub steps: Option<StepReceiver>,
    /// The fault tests' crash point ([`crate::lockstep::dies_at`]): this
    /// node's id and data directory.
    pub mortal: Option<(String, Option<PathBuf>)>,
}

enum Wake {
    Time,
    Step(StepOrder),
}

impl<M: Machine> TickLoop<'_, M> {
    /// Ticks until `shutdown` trips. `tick` runs under the machine's lock
    /// and returns what to send now (`None`: the machine does not tick
    /// yet); `dispatch` then gets each message, once the tick's changes
    /// are saved.
    pub async fn run<Out>(
        mut self,
        mut tick: impl FnMut(&mut M) -> Option<Vec<Out>>,
        mut dispatch: impl FnMut(Out),
    ) {
        let mut interval = match self.pace {
            Pace::Every(period) => {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                Some(interval)
            }
            Pace::ByClock { .. } => None,
        };
        loop {
            let lockstep = self.lockstep();
            self.courier.keep_order(lockstep);
            let period = self.wall_period();
            let wall = async {
                if lockstep {
                    return std::future::pending().await;
                }
                match &mut interval {
                    Some(interval) => {
                        interval.tick().await;
                    }
                    None => tokio::time::sleep(period).await,
                }
            };
            let granted = async {
                match &mut self.steps {
                    Some(steps) => steps.0.recv().await,
                    None => std::future::pending().await,
                }
            };
            // Biased, shutdown first: a tick overdue when shutdown comes
            // must not run after it (an unbiased select picks at random
            // among the ready branches, and under load ran one more).
            let wake = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return,
                _ = wall => Wake::Time,
                order = granted => match order {
                    Some(order) => Wake::Step(order),
                    None => return,
                },
            };
            match wake {
                Wake::Time => {
                    // The clock may have turned lockstep while the loop
                    // slept: from then on only a grant ticks the machine
                    // (checked under the machine's lock, with the tick).
                    let mut on_the_wall = |machine: &mut M| {
                        let lockstep = machine.clock().is_some_and(|c| c.is_lockstep());
                        if lockstep {
                            None
                        } else {
                            tick(machine)
                        }
                    };
                    step(self.machine, &mut on_the_wall, &mut dispatch, || false).await;
                }
                Wake::Step(order) => {
                    self.courier.keep_order(true);
                    let dies = || self.dies_at(order.granted.step);
                    let sent = step(self.machine, &mut tick, &mut dispatch, dies).await;
                    self.courier.drained().await;
                    let _ = order.done.send(sent);
                }
            }
        }
    }

    fn lockstep(&self) -> bool {
        self.machine
            .read()
            .clock()
            .is_some_and(|clock| clock.is_lockstep())
    }

    fn wall_period(&self) -> Duration {
        let idle = match self.pace {
            Pace::ByClock { idle } => idle,
            Pace::Every(period) => period,
        };
        self.machine
            .read()
            .clock()
            .map_or(idle, |clock| tick_period(clock.day_ms))
    }

    fn dies_at(&self, step: u64) -> bool {
        self.mortal
            .as_ref()
            .is_some_and(|(id, dir)| crate::lockstep::dies_at(id, step, dir.as_deref()))
    }
}

/// One tick: what is due under the lock, saved, then dispatched. Returns
/// how many messages went out. `dies` is the fault tests' crash point,
/// between the save and the first delivery.
pub async fn step<M: Machine, Out>(
    machine: &Durable<M>,
    tick: &mut impl FnMut(&mut M) -> Option<Vec<Out>>,
    dispatch: &mut impl FnMut(Out),
    dies: impl FnOnce() -> bool,
) -> u32 {
    let outbound = {
        let mut machine = machine.lock();
        let outbound = tick(&mut machine);
        if outbound.is_none() || !machine.last_tick_changed() {
            machine.release_unchanged();
        }
        outbound.unwrap_or_default()
    };
    if outbound.is_empty() {
        return 0;
    }
    machine.flushed().await;
    if dies() {
        tracing::error!("PAIRING_DIE_AT_STEP: dying in the middle of the step");
        std::process::abort();
    }
    let sent = outbound.len() as u32;
    for message in outbound {
        dispatch(message);
    }
    sent
}

/// Ticks `machine` on the wall clock until `shutdown` trips (central's
/// loop in wall mode, and tests): [`TickLoop`] without grants.
pub async fn run_ticks<M: Machine, Out>(
    machine: &Durable<M>,
    pace: Pace,
    shutdown: &CancellationToken,
    courier: &Courier,
    tick: impl FnMut(&mut M) -> Option<Vec<Out>>,
    dispatch: impl FnMut(Out),
) {
    let ticks = TickLoop {
        machine,
        pace,
        shutdown,
        courier,
        steps: None,
        mortal: None,
    };
    ticks.run(tick, dispatch).await;
}
