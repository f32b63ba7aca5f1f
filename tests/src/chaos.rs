//! Seeded fault schedules: which node crashes when and for how long, which
//! links are cut, how often messages are dropped, duplicated or delayed.
//! The same seed gives the same schedule, so a failure prints its seed and
//! replays with `FAULT_SEED=<seed>`.
//!
//! The schedule is plain data made by [`schedule`]; the fault suite
//! (`tests/tests/suites/fault_suite.rs`) plays it against a [`crate::resilient`]
//! cluster.

use std::fmt;

use counterpart_domain::scenario::Scenario;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Crashes per run: enough to hit central, donors and cities across seeds.
pub const CRASHES_PER_RUN: usize = 3;
/// Link cuts per run.
pub const PARTITIONS_PER_RUN: usize = 2;
/// Faults fall in the busy part of a run: requests, pairing, shipments.
pub const FIRST_FAULT_DAY: f64 = 2.0;
pub const LAST_FAULT_DAY: f64 = 14.0;
/// Highest rate of each message fault (delays: twice this): high enough to
/// hit most runs' messages, low enough that bounded retries get through.
pub const MAX_RATE: f64 = 0.12;
/// A crashed node stays down this long at most (scenario days).
pub const MAX_DOWN_DAYS: f64 = 3.0;
/// A cut link stays cut this long at most (scenario days).
pub const MAX_CUT_DAYS: f64 = 4.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The node dies at `at_day` and starts again `down_days` later.
    Crash {
        node: String,
        at_day: f64,
        down_days: f64,
    },
    /// Messages from `from` to `to` (and back, if `both_ways`) are lost for
    /// `cut_days` from `at_day`.
    Partition {
        from: String,
        to: String,
        both_ways: bool,
        at_day: f64,
        cut_days: f64,
    },
}

impl Fault {
    pub fn at_day(&self) -> f64 {
        match self {
            Fault::Crash { at_day, .. } | Fault::Partition { at_day, .. } => *at_day,
        }
    }

    /// When the fault heals.
    pub fn heals_at_day(&self) -> f64 {
        match self {
            Fault::Crash {
                at_day, down_days, ..
            } => at_day + down_days,
            Fault::Partition {
                at_day, cut_days, ..
            } => at_day + cut_days,
        }
    }
}

/// Per-message fault rates, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageFaults {
    pub drop_request: f64,
    pub drop_reply: f64,
    pub duplicate: f64,
    pub delay: f64,
}

/// Everything one seed does to a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub seed: u64,
    pub faults: Vec<Fault>,
    pub messages: MessageFaults,
}

impl Schedule {
    /// The day the last fault heals.
    pub fn healed_by_day(&self) -> f64 {
        self.faults
            .iter()
            .map(Fault::heals_at_day)
            .fold(0.0, f64::max)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.messages;
        writeln!(
            f,
            "seed {}: drop request {:.0}%, drop reply {:.0}%, duplicate {:.0}%, delay {:.0}%",
            self.seed,
            m.drop_request * 100.0,
            m.drop_reply * 100.0,
            m.duplicate * 100.0,
            m.delay * 100.0
        )?;
        for fault in &self.faults {
            match fault {
                Fault::Crash {
                    node,
                    at_day,
                    down_days,
                } => writeln!(
                    f,
                    "  day {at_day:5.2}: crash {node} for {down_days:.2} days"
                )?,
                Fault::Partition {
                    from,
                    to,
                    both_ways,
                    at_day,
                    cut_days,
                } => {
                    let arrow = if *both_ways { "<->" } else { "->" };
                    writeln!(
                        f,
                        "  day {at_day:5.2}: cut {from} {arrow} {to} for {cut_days:.2} days"
                    )?
                }
            }
        }
        Ok(())
    }
}

/// The schedule of `seed` for `scenario`: crashes of central, donors and
/// cities at random moments of the busy days, cut links between random
/// nodes that talk to each other, and message faults at modest rates
/// (below [`MAX_RATE`], so a message's bounded retries get it through).
pub fn schedule(seed: u64, scenario: &Scenario) -> Schedule {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut nodes = vec!["central".to_string()];
    nodes.extend(scenario.provinces.iter().map(|p| p.id.clone()));
    nodes.extend(scenario.cities.iter().map(|c| c.id.clone()));
    let mut faults = Vec::new();
    for _ in 0..CRASHES_PER_RUN {
        faults.push(Fault::Crash {
            node: nodes[rng.random_range(0..nodes.len())].clone(),
            at_day: rng.random_range(FIRST_FAULT_DAY..LAST_FAULT_DAY),
            down_days: rng.random_range(0.1..MAX_DOWN_DAYS),
        });
    }
    for _ in 0..PARTITIONS_PER_RUN {
        // Cut links that carry messages: central and any node, or a
        // province and a city (donor and recipient, if paired).
        let (from, to) = if rng.random_bool(0.5) {
            let other = nodes[rng.random_range(1..nodes.len())].clone();
            ("central".to_string(), other)
        } else {
            let p = &scenario.provinces[rng.random_range(0..scenario.provinces.len())];
            let c = &scenario.cities[rng.random_range(0..scenario.cities.len())];
            (p.id.clone(), c.id.clone())
        };
        let (from, to) = if rng.random_bool(0.5) {
            (from, to)
        } else {
            (to, from)
        };
        faults.push(Fault::Partition {
            from,
            to,
            both_ways: rng.random_bool(0.5),
            at_day: rng.random_range(FIRST_FAULT_DAY..LAST_FAULT_DAY),
            cut_days: rng.random_range(0.5..MAX_CUT_DAYS),
        });
    }
    faults.sort_by(|a, b| a.at_day().total_cmp(&b.at_day()));
    let messages = MessageFaults {
        drop_request: rng.random_range(0.0..MAX_RATE),
        drop_reply: rng.random_range(0.0..MAX_RATE),
        duplicate: rng.random_range(0.0..MAX_RATE),
        delay: rng.random_range(0.0..2.0 * MAX_RATE),
    };
    Schedule {
        seed,
        faults,
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        counterpart_domain::scenario::load(&crate::scenario_path("small")).unwrap()
    }

    #[test]
    fn a_seed_gives_one_schedule_and_seeds_differ() {
        let s = small();
        assert_eq!(schedule(7, &s), schedule(7, &s));
        assert_ne!(schedule(7, &s), schedule(8, &s));
    }

    #[test]
    fn faults_are_in_order_within_the_busy_days_and_never_a_self_cut() {
        let s = small();
        for seed in 0..200 {
            let plan = schedule(seed, &s);
            assert_eq!(plan.faults.len(), CRASHES_PER_RUN + PARTITIONS_PER_RUN);
            let days: Vec<f64> = plan.faults.iter().map(Fault::at_day).collect();
            assert!(days.windows(2).all(|w| w[0] <= w[1]), "{plan}");
            assert!(days
                .iter()
                .all(|d| (FIRST_FAULT_DAY..LAST_FAULT_DAY).contains(d)));
            for fault in &plan.faults {
                if let Fault::Partition { from, to, .. } = fault {
                    assert_ne!(from, to, "{plan}");
                }
            }
            assert!(plan.healed_by_day() <= LAST_FAULT_DAY + MAX_CUT_DAYS);
        }
    }
}
