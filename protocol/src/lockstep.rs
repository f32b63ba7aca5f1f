//! The lockstep clock as a province or a city takes it: one rule for both
//! roles (docs/PROTOCOL.md, "The lockstep clock").
//!
//! Central grants each step of scenario time with a [`StepGrant`]. A node
//! whose clock is lockstep reads the present as the time it was granted
//! last ([`Clock::present`]); the wall clock is never read for a protocol
//! decision. Grants are harmless to repeat: time never goes back, and a
//! grant for a time already reached changes nothing.

use chrono::NaiveDate;
use counterpart_domain::clock::{Clock, ScenarioTime};
use pairing_proto::v1::StepGrant;

use crate::central::authority::CENTRAL_ID;
use crate::refusal::Refusal;
use crate::validate;

/// What a node took from a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub step: u64,
    /// The node's present while it acts.
    pub until: ScenarioTime,
    /// Its present once it has acted ([`finish_step`]).
    pub next: ScenarioTime,
}

/// Takes `grant` into `clock`: checks it came from central with a lockstep
/// clock of this run (adopting that clock if the node had none: it missed
/// ClockStart), then moves the clock to the grant's time.
pub fn take_grant(
    clock: &mut Option<Clock>,
    grant: &StepGrant,
    scenario_start: NaiveDate,
) -> Result<Granted, Refusal> {
    let header = validate::header(grant.header.as_ref())?;
    if header.sender_id != CENTRAL_ID {
        return Err(Refusal::permission_denied(format!(
            "header.sender_id: {:?} is not {CENTRAL_ID:?}; only central grants time",
            header.sender_id
        )));
    }
    let wire = validate::clock("clock", grant.clock.as_ref(), scenario_start)?;
    if !wire.is_lockstep() {
        return Err(Refusal::invalid_argument(
            "clock.lockstep: false; a step is granted only on a lockstep clock",
        ));
    }
    let until = validate::scenario_time("until_ms", grant.until_ms)?;
    let next = validate::scenario_time("next_ms", grant.next_ms)?;
    if next < until {
        return Err(Refusal::invalid_argument(format!(
            "next_ms: {} is before until_ms {}; time never goes back",
            grant.next_ms, grant.until_ms
        )));
    }
    adopt(clock, wire)?;
    let known = clock.as_mut().expect("adopted above");
    known.grant(until);
    Ok(Granted {
        step: grant.step,
        until,
        next,
    })
}

/// The node has acted and delivered: its clock moves on to the next
/// step's time, at which it handles whatever reaches it until its next
/// turn.
pub fn finish_step(clock: &mut Option<Clock>, granted: &Granted) {
    if let Some(clock) = clock {
        clock.grant(granted.next);
    }
}

/// Sets `clock` to `wire` if it had none. A clock of the same run keeps
/// the later of the two granted times (a resent ClockStart must not turn
/// time back); a clock of another run is refused. Returns whether the
/// clock was new.
pub fn adopt(clock: &mut Option<Clock>, wire: Clock) -> Result<bool, Refusal> {
    match clock {
        None => {
            *clock = Some(wire);
            Ok(true)
        }
        Some(known) if known.same_run(&wire) => {
            if let Some(granted) = wire.granted {
                known.grant(granted);
            }
            Ok(false)
        }
        Some(known) => Err(Refusal::failed_precondition(format!(
            "clock: already started with epoch {} and day_ms {}{}; a running scenario keeps its clock",
            known.epoch_unix_ms,
            known.day_ms,
            if known.is_lockstep() { ", lockstep" } else { "" }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::{MessageHeader, ScenarioClock};

    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 2, 7).unwrap()
    }

    fn grant(sender: &str, until_ms: i64) -> StepGrant {
        StepGrant {
            header: Some(MessageHeader {
                message_id: format!("g-{until_ms}"),
                sender_id: sender.into(),
                scenario_time_ms: 0,
            }),
            clock: Some(ScenarioClock {
                epoch_unix_ms: 1_700_000_000_000,
                day_ms: 1,
                start_date: "2020-02-07".into(),
                lockstep: true,
                granted_ms: 0,
                seed: 7,
            }),
            step: 3,
            until_ms,
            next_ms: until_ms + 3_600_000,
        }
    }

    #[test]
    fn a_grant_moves_the_clock_forward_never_back() {
        let mut clock = None;
        let g = take_grant(&mut clock, &grant("central", 3_600_000), start()).unwrap();
        assert_eq!(g.until, ScenarioTime(3_600_000));
        assert_eq!(
            clock.unwrap().present(0),
            ScenarioTime(3_600_000),
            "acting at until"
        );
        let c = clock.unwrap();
        assert_eq!(c.present(0), ScenarioTime(3_600_000));
        assert_eq!(
            c.present(i64::MAX / 2),
            ScenarioTime(3_600_000),
            "the wall is not read"
        );
        assert_eq!(c.seed, 7);
        finish_step(&mut clock, &g);
        assert_eq!(
            clock.unwrap().present(0),
            ScenarioTime(7_200_000),
            "then at next"
        );
        take_grant(&mut clock, &grant("central", 0), start()).unwrap();
        assert_eq!(clock.unwrap().present(0), ScenarioTime(7_200_000));
    }

    #[test]
    fn a_resent_clock_start_keeps_the_granted_time() {
        let mut clock = None;
        take_grant(&mut clock, &grant("central", 7_200_000), start()).unwrap();
        let fresh = Clock::new(1_700_000_000_000, 1, start()).lockstep(7);
        assert_eq!(adopt(&mut clock, fresh), Ok(false));
        assert_eq!(clock.unwrap().granted, Some(ScenarioTime(7_200_000)));
        let other_run = Clock::new(1_700_000_000_000, 1, start()).lockstep(8);
        assert!(adopt(&mut clock, other_run).is_err());
    }

    #[test]
    fn only_central_grants_and_only_on_a_lockstep_clock() {
        let mut clock = None;
        let refused = take_grant(&mut clock, &grant("jiangsu", 0), start()).unwrap_err();
        assert!(
            refused.message().contains("header.sender_id"),
            "{refused:?}"
        );
        let mut wall = grant("central", 0);
        wall.clock.as_mut().unwrap().lockstep = false;
        let refused = take_grant(&mut clock, &wall, start()).unwrap_err();
        assert!(refused.message().contains("clock.lockstep"), "{refused:?}");
        let mut back = grant("central", 7_200_000);
        back.next_ms = 0;
        let refused = take_grant(&mut clock, &back, start()).unwrap_err();
        assert!(refused.message().contains("next_ms"), "{refused:?}");
        let refused = take_grant(&mut clock, &grant("central", -1), start()).unwrap_err();
        assert!(refused.message().contains("until_ms"), "{refused:?}");
        assert_eq!(clock, None, "a refused grant changes nothing");
    }
}
