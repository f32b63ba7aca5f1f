//! Scenario time: milliseconds since 00:00 of the scenario's first day.
//!
//! Central owns the clock, which runs in one of two ways ([`Clock::granted`]):
//! - **lockstep** (the default): central grants each step of scenario time
//!   and every node reads the time it was last granted, whatever the wall
//!   says, so a run's story does not depend on how busy the machine is;
//! - **wall**: central picks the wall-clock epoch and the speed (`day_ms`,
//!   wall milliseconds per scenario day) and each node reads scenario time
//!   off its own wall clock, with no message per tick.

use chrono::{Duration, NaiveDate};

/// Milliseconds in one scenario day.
pub const DAY_MS: i64 = 86_400_000;

/// The speeds a clock may run at, in wall milliseconds per scenario day:
/// from 1 (the finest a millisecond clock tells apart) to [`DAY_MS`] (real
/// time; a drill never runs slower than the crisis itself). The one bound
/// every node, central's start-up and pairctl check `day_ms` against.
pub const DAY_MS_RANGE: std::ops::RangeInclusive<i64> = 1..=DAY_MS;

/// `day_ms` if it is in [`DAY_MS_RANGE`]; otherwise an error naming `field`.
pub fn checked_day_ms(field: &str, day_ms: i64) -> Result<i64, String> {
    crate::bounds::within(field, day_ms, &DAY_MS_RANGE, "wall ms per scenario day")
}

/// `day_ms` from a command line or the environment (a clap value parser).
pub fn parse_day_ms(text: &str) -> Result<i64, String> {
    let day_ms = text
        .trim()
        .parse::<i64>()
        .map_err(|e| format!("{text:?} is not a whole number: {e}"))?;
    checked_day_ms("day_ms", day_ms)
}

/// A point in scenario time, in scenario milliseconds since the start.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct ScenarioTime(pub i64);

impl ScenarioTime {
    pub fn from_days(days: f64) -> Self {
        ScenarioTime((days * DAY_MS as f64).round() as i64)
    }

    pub fn days(self) -> f64 {
        self.0 as f64 / DAY_MS as f64
    }

    pub fn plus_days(self, days: f64) -> Self {
        ScenarioTime(self.0 + (days * DAY_MS as f64).round() as i64)
    }

    /// Whole scenario days since the start (day 0 is the first day).
    pub fn day_index(self) -> i64 {
        self.0.div_euclid(DAY_MS)
    }

    /// Calendar rendering, e.g. "2020-02-11 06:00".
    pub fn format(self, start_date: NaiveDate) -> String {
        let at = start_date.and_hms_opt(0, 0, 0).expect("midnight exists")
            + Duration::milliseconds(self.0);
        at.format("%Y-%m-%d %H:%M").to_string()
    }

    /// Scenario time of 00:00 on `date`.
    pub fn of_date(start_date: NaiveDate, date: NaiveDate) -> Self {
        ScenarioTime((date - start_date).num_days() * DAY_MS)
    }
}

/// The mapping between wall time and scenario time that central hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Clock {
    pub epoch_unix_ms: i64,
    /// Wall milliseconds per scenario day, in [`DAY_MS_RANGE`]. In lockstep
    /// only central's pace reads it.
    pub day_ms: i64,
    pub start_date: NaiveDate,
    /// Lockstep: the scenario time central granted last, which is the
    /// present for every reader of this clock. `None`: the wall clock.
    /// (Absent in the saved state of a release before the lockstep clock,
    /// which ran on the wall.)
    #[serde(default)]
    pub granted: Option<ScenarioTime>,
    /// The run's seed: every random draw of the protocol comes from it
    /// (with the drawing node's id and what is drawn for), never from an
    /// unseeded source. 0 in the state of a release before it.
    #[serde(default)]
    pub seed: u64,
}

impl Clock {
    pub fn new(epoch_unix_ms: i64, day_ms: i64, start_date: NaiveDate) -> Self {
        // Callers check untrusted input with `checked_day_ms` first.
        assert!(
            DAY_MS_RANGE.contains(&day_ms),
            "day_ms {day_ms} out of range"
        );
        Clock {
            epoch_unix_ms,
            day_ms,
            start_date,
            granted: None,
            seed: 0,
        }
    }

    /// A lockstep clock at scenario time 0 (nothing granted yet is the
    /// same as time 0: no node acts before its first grant).
    pub fn lockstep(self, seed: u64) -> Self {
        Clock {
            granted: Some(ScenarioTime(0)),
            seed,
            ..self
        }
    }

    /// Whether central grants this clock's time step by step.
    pub fn is_lockstep(&self) -> bool {
        self.granted.is_some()
    }

    /// The present at wall time `unix_ms`: the granted time in lockstep
    /// (the wall is not read), else the wall's scenario time.
    pub fn present(&self, unix_ms: i64) -> ScenarioTime {
        match self.granted {
            Some(granted) => granted,
            None => self.scenario_at(unix_ms),
        }
    }

    /// Lockstep: takes a grant up to `t`. Time never goes back: an older
    /// grant (a resend) leaves the clock as it is. Returns whether the
    /// clock moved. A wall clock is not granted time and stays as it is.
    pub fn grant(&mut self, t: ScenarioTime) -> bool {
        match &mut self.granted {
            Some(granted) if *granted < t => {
                *granted = t;
                true
            }
            _ => false,
        }
    }

    /// Whether `other` is this clock of the same run, whatever time each
    /// has been granted (a resent clock start, a registration's answer).
    pub fn same_run(&self, other: &Clock) -> bool {
        Clock {
            granted: other.granted.map(|_| ScenarioTime(0)),
            ..*other
        } == Clock {
            granted: self.granted.map(|_| ScenarioTime(0)),
            ..*self
        }
    }

    /// Scenario time at wall time `unix_ms` (negative before the epoch).
    pub fn scenario_at(&self, unix_ms: i64) -> ScenarioTime {
        let wall = (unix_ms - self.epoch_unix_ms) as i128;
        ScenarioTime((wall * DAY_MS as i128 / self.day_ms as i128) as i64)
    }

    /// Wall time at which scenario time `t` is reached.
    pub fn wall_at(&self, t: ScenarioTime) -> i64 {
        self.epoch_unix_ms + (t.0 as i128 * self.day_ms as i128 / DAY_MS as i128) as i64
    }

    /// Wall milliseconds that `days` scenario days take.
    pub fn wall_ms_for_days(&self, days: f64) -> u64 {
        (days * self.day_ms as f64).max(0.0).round() as u64
    }
}

/// Wall-clock now in unix milliseconds.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feb7() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 2, 7).unwrap()
    }

    /// One bound for every reader of `day_ms`: real time is the slowest
    /// speed, 1 ms a day the fastest; the error names the field.
    #[test]
    fn day_ms_is_checked_against_one_bound() {
        assert_eq!(checked_day_ms("day_ms", 1), Ok(1));
        assert_eq!(checked_day_ms("day_ms", DAY_MS), Ok(DAY_MS));
        for bad in [0, -5, DAY_MS + 1] {
            let why = checked_day_ms("clock.day_ms", bad).unwrap_err();
            assert!(why.starts_with("clock.day_ms: "), "{why}");
            assert!(why.contains("outside 1..=86400000"), "{why}");
        }
        assert_eq!(parse_day_ms(" 50 "), Ok(50));
        assert!(parse_day_ms("86400001").unwrap_err().contains("outside"));
        assert!(parse_day_ms("fast")
            .unwrap_err()
            .contains("not a whole number"));
    }

    #[test]
    fn wall_and_scenario_time_are_inverse_to_one_wall_ms() {
        let clock = Clock::new(1_000_000, 50, feb7());
        let t = ScenarioTime::from_days(4.25);
        assert_eq!(clock.wall_at(t) - clock.epoch_unix_ms, 212); // 4.25 * 50 ms, rounded down
        let back = clock.scenario_at(clock.wall_at(t));
        let one_wall_ms = DAY_MS / clock.day_ms;
        assert!(back <= t && t.0 - back.0 < one_wall_ms, "{back:?} vs {t:?}");
    }

    #[test]
    fn formats_as_calendar_time() {
        let t = ScenarioTime::of_date(feb7(), NaiveDate::from_ymd_opt(2020, 2, 11).unwrap())
            .plus_days(22.0 / 24.0);
        assert_eq!(t.format(feb7()), "2020-02-11 22:00");
        assert_eq!(t.day_index(), 4);
    }
}
