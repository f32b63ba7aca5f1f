//! A donor's effort on one assignment: the share of each planned shipment
//! it actually sends when the shipment is due. It answers to incentives,
//! as the paper says central pressure and accountability kept donors
//! working:
//! - it starts whole when the donor acknowledges, and holds for a grace
//!   period (the mandate is fresh, the first team is on its way);
//! - then it falls each day, faster with the donor's own outbreak and with
//!   what the aid has cost it so far;
//! - a commendation holds it until the next evaluation; a warning lifts it
//!   a little, an accountability finding a lot;
//! - without supervision (no evaluations) it only falls.
//!
//! Every parameter is an estimate with no source (docs/POLICY.md); the
//! evaluations are what moves it. Pure: the assignment's history in, the
//! effort out, so a restarted donor computes the same effort again, and so
//! can central for its report.

use crate::clock::ScenarioTime;
use pairing_proto::v1::EvaluationKind;

/// The model's parameters (all estimates, see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffortModel {
    pub grace_days: f64,
    /// Daily fall with no outbreak and no cost.
    pub fall_per_day: f64,
    /// Added to the daily fall per level of the donor's own outbreak.
    pub fall_per_outbreak_level: f64,
    /// Added to the daily fall per CNY 10 million the aid has cost.
    pub fall_per_10m_cny: f64,
    pub lift_on_warning: f64,
    pub lift_on_accountability: f64,
    /// Effort never falls below this: a donor under mandate ships something.
    pub floor: f64,
}

/// The estimates in use.
pub const MODEL: EffortModel = EffortModel {
    grace_days: 7.0,
    fall_per_day: 0.02,
    fall_per_outbreak_level: 0.01,
    fall_per_10m_cny: 0.002,
    lift_on_warning: 0.10,
    lift_on_accountability: 0.25,
    floor: 0.2,
};

/// What central's evaluation said, for the effort model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Commendation,
    Warning,
    Accountability,
}

impl Verdict {
    /// The verdict of an evaluation of `kind`; `None` for UNSPECIFIED.
    pub fn of(kind: EvaluationKind) -> Option<Verdict> {
        match kind {
            EvaluationKind::Commendation => Some(Verdict::Commendation),
            EvaluationKind::Warning => Some(Verdict::Warning),
            EvaluationKind::Accountability => Some(Verdict::Accountability),
            EvaluationKind::Unspecified => None,
        }
    }
}

/// What the model reads of one assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct History<'a> {
    pub acknowledged_at: ScenarioTime,
    /// Evaluations received, in time order.
    pub evaluations: &'a [(ScenarioTime, Verdict)],
    pub outbreak_level: i32,
    pub cost_cny: i64,
}

impl EffortModel {
    /// The effort at `now`, in `floor..=1`, stepping day by day from the
    /// end of the grace period (bounded by the days elapsed).
    pub fn effort_at(&self, history: &History, now: ScenarioTime) -> f64 {
        let start = history.acknowledged_at.days() + self.grace_days;
        let now_days = now.days();
        let fall = self.fall_per_day
            + self.fall_per_outbreak_level * f64::from(history.outbreak_level.max(0))
            + self.fall_per_10m_cny * (history.cost_cny.max(0) as f64 / 1e7);
        let mut effort: f64 = 1.0;
        let mut held = false;
        let mut day = start;
        let mut verdicts = history.evaluations.iter().peekable();
        while day < now_days {
            let next = (day + 1.0).min(now_days);
            while let Some((_, verdict)) = verdicts.next_if(|(at, _)| at.days() <= next) {
                held = *verdict == Verdict::Commendation;
                effort += match verdict {
                    Verdict::Commendation => 0.0,
                    Verdict::Warning => self.lift_on_warning,
                    Verdict::Accountability => self.lift_on_accountability,
                };
            }
            if !held {
                effort -= fall * (next - day);
            }
            effort = effort.clamp(self.floor, 1.0);
            day = next;
        }
        effort
    }

    /// The mean of the daily effort from acknowledgement to `until` (the
    /// effort itself when `until` is not later).
    pub fn mean_effort(&self, history: &History, until: ScenarioTime) -> f64 {
        let from = history.acknowledged_at.days();
        let days = (until.days() - from).ceil().max(0.0) as usize;
        if days == 0 {
            return self.effort_at(history, until);
        }
        let sum: f64 = (0..days)
            .map(|d| self.effort_at(history, ScenarioTime::from_days(from + d as f64 + 0.5)))
            .sum();
        sum / days as f64
    }

    /// `planned` units scaled by `effort`, rounded up: a shipment never
    /// shrinks to nothing.
    pub fn scale(planned: i64, effort: f64) -> i64 {
        if planned <= 0 {
            return 0;
        }
        ((planned as f64 * effort).ceil() as i64).clamp(1, planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: f64) -> ScenarioTime {
        ScenarioTime::from_days(d)
    }

    fn at(evaluations: &[(ScenarioTime, Verdict)], level: i32, now: f64) -> f64 {
        let h = History {
            acknowledged_at: day(0.0),
            evaluations,
            outbreak_level: level,
            cost_cny: 0,
        };
        MODEL.effort_at(&h, day(now))
    }

    #[test]
    fn effort_is_whole_through_the_grace_period_then_falls_unsupervised() {
        assert_eq!(at(&[], 0, 7.0), 1.0);
        let later = at(&[], 0, 17.0);
        assert!((later - 0.8).abs() < 1e-9, "{later}");
        assert_eq!(at(&[], 0, 1000.0), MODEL.floor);
        assert!(
            at(&[], 2, 17.0) < later,
            "an outbreak of its own makes it fall faster"
        );
    }

    #[test]
    fn a_commendation_holds_and_a_finding_lifts() {
        let commended = [(day(7.0), Verdict::Commendation)];
        assert_eq!(at(&commended, 0, 17.0), 1.0);
        // Unsupervised, effort is 0.6 on day 27 and 0.54 on day 30.
        let warned = [(day(27.0), Verdict::Warning)];
        let accountable = [(day(27.0), Verdict::Accountability)];
        let unsupervised = at(&[], 0, 30.0);
        assert!((unsupervised - 0.54).abs() < 1e-9, "{unsupervised}");
        assert!((at(&warned, 0, 30.0) - 0.64).abs() < 1e-9);
        assert!((at(&accountable, 0, 30.0) - 0.79).abs() < 1e-9);
    }

    #[test]
    fn the_mean_runs_over_the_days_since_acknowledgement() {
        let h = History {
            acknowledged_at: day(0.0),
            evaluations: &[],
            outbreak_level: 0,
            cost_cny: 0,
        };
        assert_eq!(MODEL.mean_effort(&h, day(7.0)), 1.0);
        let m = MODEL.mean_effort(&h, day(17.0));
        assert!(m < 1.0 && m > 0.8, "{m}");
    }

    #[test]
    fn scaling_rounds_up_and_never_exceeds_the_plan() {
        assert_eq!(EffortModel::scale(310, 1.0), 310);
        assert_eq!(EffortModel::scale(310, 0.5), 155);
        assert_eq!(EffortModel::scale(3, 0.2), 1);
        assert_eq!(EffortModel::scale(0, 0.5), 0);
    }
}
