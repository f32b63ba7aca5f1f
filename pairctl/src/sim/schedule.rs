//! What one seed does to a run: the faults, drawn from the seed alone.
//!
//! Faults fall in the first part of the run (the fault window, a share of
//! the scenario's fault-free simulated time) and every one heals: a crashed
//! host restarts, a cut link is repaired, a slow link is fast again, held
//! messages are released. Message faults (refused, answered-then-lost so
//! the sender resends, delayed, handled twice) run at the seed's rates
//! until the window closes. Then the run goes on to its end, which the
//! liveness check bounds. Faults still to come or still in force when the
//! run is over happen at once (`world::run`): a schedule says what
//! happens, and in what order, not how long an idle cluster waits.

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The kinds of fault a run may be given (`--faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A host (central, a province, a city) dies and restarts from what it
    /// had saved.
    Crash,
    /// A link is cut both ways.
    Partition,
    /// A link is cut one way: requests go, answers do not (or the reverse).
    OneWay,
    /// A link's latency rises tenfold or more.
    Latency,
    /// A link's messages are held, then released at once (they arrive out
    /// of order with other links' messages).
    Hold,
    /// A request is refused before it is handled.
    Drop,
    /// A request is handled and its answer lost: the sender resends.
    Duplicate,
    /// A request is delayed before it is handled, so others overtake it.
    Reorder,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Crash,
        FaultKind::Partition,
        FaultKind::OneWay,
        FaultKind::Latency,
        FaultKind::Hold,
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::Reorder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Partition => "partition",
            FaultKind::OneWay => "one-way",
            FaultKind::Latency => "latency",
            FaultKind::Hold => "hold",
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder => "reorder",
        }
    }

    /// The kinds named in `list` (comma-separated; "all" or "none").
    pub fn parse_list(list: &str) -> Result<Vec<FaultKind>, String> {
        match list.trim() {
            "all" => return Ok(FaultKind::ALL.to_vec()),
            "none" | "" => return Ok(Vec::new()),
            _ => {}
        }
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim) {
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                    format!(
                        "--faults: unknown fault {name:?}; known: {}, all, none",
                        known.join(", ")
                    )
                })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds.sort();
        Ok(kinds)
    }
}

/// One fault on the network or a host, from `at_ms` for `for_ms`
/// (simulated milliseconds since the simulation started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The host crashed, or the link's first end.
    pub a: String,
    /// The link's other end (empty for a crash).
    pub b: String,
    pub at_ms: u64,
    pub for_ms: u64,
}

impl Fault {
    pub fn heals_at_ms(&self) -> u64 {
        self.at_ms + self.for_ms
    }
}

/// Per-request probabilities of the message faults, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MessageRates {
    pub drop: f64,
    pub duplicate: f64,
    pub reorder: f64,
}

/// Everything one seed does to a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub seed: u64,
    pub faults: Vec<Fault>,
    pub messages: MessageRates,
    /// Message faults stop here (simulated ms).
    pub messages_until_ms: u64,
}

/// At most this many faults of each network or host kind per seed.
pub const MAX_FAULTS_PER_KIND: u32 = 3;
/// Longest a crashed host stays down (simulated ms).
pub const MAX_DOWN_MS: u64 = 5_000;
/// Longest a link stays cut, slow or held (simulated ms).
pub const MAX_CUT_MS: u64 = 8_000;
/// The share of cuts that are long, and how long they are (simulated ms).
pub const LONG_CUT_SHARE: f64 = 0.25;
pub const LONG_CUT_MS: std::ops::RangeInclusive<u64> = 20_000..=90_000;
/// Highest per-request rate of each message fault.
pub const MAX_MESSAGE_RATE: f64 = 0.05;

impl Schedule {
    /// When the last fault heals, message faults included.
    pub fn healed_at_ms(&self) -> u64 {
        self.faults
            .iter()
            .map(Fault::heals_at_ms)
            .fold(self.messages_until_ms, u64::max)
    }

    /// How many faults of each kind the schedule holds (each message-fault
    /// kind counts once when its rate is above 0).
    pub fn count(&self, kind: FaultKind) -> u64 {
        let rate = |r: f64| u64::from(r > 0.0);
        match kind {
            FaultKind::Drop => rate(self.messages.drop),
            FaultKind::Duplicate => rate(self.messages.duplicate),
            FaultKind::Reorder => rate(self.messages.reorder),
            _ => self.faults.iter().filter(|f| f.kind == kind).count() as u64,
        }
    }
}

/// The schedule of `seed`: for each of `kinds`, up to
/// [`MAX_FAULTS_PER_KIND`] faults on random hosts and links, starting in
/// `[0, window_ms)`; message faults at up to [`MAX_MESSAGE_RATE`] each,
/// for the window or until the last network fault heals, whichever is later. `hosts` are every host's name, central's first.
pub fn draw(seed: u64, kinds: &[FaultKind], hosts: &[String], window_ms: u64) -> Schedule {
    let mut rng = StdRng::seed_from_u64(seed);
    let window_ms = window_ms.max(1);
    let mut faults = Vec::new();
    let mut messages = MessageRates::default();
    // Crashes last: some of them fall inside a cut drawn before them.
    let (crashes, others): (Vec<FaultKind>, Vec<FaultKind>) =
        kinds.iter().partition(|&&k| k == FaultKind::Crash);
    for kind in others.into_iter().chain(crashes) {
        match kind {
            FaultKind::Drop => messages.drop = rng.random_range(0.0..MAX_MESSAGE_RATE),
            FaultKind::Duplicate => messages.duplicate = rng.random_range(0.0..MAX_MESSAGE_RATE),
            FaultKind::Reorder => messages.reorder = rng.random_range(0.0..MAX_MESSAGE_RATE),
            FaultKind::Crash => {
                for _ in 0..rng.random_range(0..=MAX_FAULTS_PER_KIND) {
                    let crash = crash_in_a_cut(&mut rng, &faults)
                        .unwrap_or_else(|| one(&mut rng, kind, hosts, window_ms));
                    faults.push(crash);
                }
            }
            _ => {
                for _ in 0..rng.random_range(0..=MAX_FAULTS_PER_KIND) {
                    faults.push(one(&mut rng, kind, hosts, window_ms));
                }
            }
        }
    }
    faults.sort_by(|x, y| (x.at_ms, &x.a, &x.b).cmp(&(y.at_ms, &y.a, &y.b)));
    // Message faults last as long as the network's: a run the network
    // faults slowed down still meets them in its later stages.
    let messages_until_ms = faults
        .iter()
        .map(Fault::heals_at_ms)
        .fold(window_ms, u64::max);
    Schedule {
        seed,
        faults,
        messages,
        messages_until_ms,
    }
}

/// Half the time, when a cut was drawn: a crash of one end of a cut while
/// it lasts. A node that cannot reach its peers still owes them messages
/// (they wait for the machine's next resend), so this is the crash that
/// finds the most in its outbox: what a node must not forget on restart.
fn crash_in_a_cut(rng: &mut StdRng, drawn: &[Fault]) -> Option<Fault> {
    let cuts: Vec<&Fault> = drawn
        .iter()
        .filter(|f| matches!(f.kind, FaultKind::Partition | FaultKind::OneWay))
        .collect();
    if cuts.is_empty() || !rng.random_bool(0.5) {
        return None;
    }
    let cut = cuts[rng.random_range(0..cuts.len())];
    Some(Fault {
        kind: FaultKind::Crash,
        a: cut.a.clone(),
        b: String::new(),
        at_ms: cut.at_ms + rng.random_range(0..cut.for_ms),
        for_ms: rng.random_range(10..=MAX_DOWN_MS),
    })
}

fn one(rng: &mut StdRng, kind: FaultKind, hosts: &[String], window_ms: u64) -> Fault {
    let host = |rng: &mut StdRng| hosts[rng.random_range(0..hosts.len())].clone();
    let a = host(rng);
    // A link's other end: central half the time (every node talks to it),
    // any other host otherwise.
    let b = if kind == FaultKind::Crash {
        String::new()
    } else {
        let mut b = if rng.random_bool(0.5) {
            hosts[0].clone()
        } else {
            host(rng)
        };
        while b == a {
            b = host(rng);
        }
        b
    };
    let for_ms = match kind {
        FaultKind::Crash => rng.random_range(10..=MAX_DOWN_MS),
        // One cut in four outlasts a courier's whole round of resends (about
        // a minute): the message is given up and the machine's own resend
        // policy sends it again later, behind messages sent after it.
        FaultKind::Partition | FaultKind::OneWay if rng.random_bool(LONG_CUT_SHARE) => {
            rng.random_range(LONG_CUT_MS)
        }
        _ => rng.random_range(10..=MAX_CUT_MS),
    };
    Fault {
        kind,
        a,
        b,
        at_ms: rng.random_range(0..window_ms),
        for_ms,
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.messages;
        writeln!(
            f,
            "seed {}: drop {:.1}%, duplicate {:.1}%, reorder {:.1}% until {} ms",
            self.seed,
            m.drop * 100.0,
            m.duplicate * 100.0,
            m.reorder * 100.0,
            self.messages_until_ms
        )?;
        for x in &self.faults {
            let what = match x.kind {
                FaultKind::Crash => format!("crash {}", x.a),
                FaultKind::Partition => format!("cut {} <-> {}", x.a, x.b),
                FaultKind::OneWay => format!("cut {} -> {}", x.a, x.b),
                FaultKind::Latency => format!("slow {} <-> {}", x.a, x.b),
                FaultKind::Hold => format!("hold {} <-> {}", x.a, x.b),
                _ => x.kind.name().to_string(),
            };
            writeln!(f, "  at {:>7} ms for {:>5} ms: {what}", x.at_ms, x.for_ms)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        ["central", "p1", "p2", "c1", "c2"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_seed_draws_the_same_schedule_every_time_and_another_seed_another() {
        let a = draw(7, &FaultKind::ALL, &hosts(), 60_000);
        assert_eq!(a, draw(7, &FaultKind::ALL, &hosts(), 60_000));
        assert_ne!(a, draw(8, &FaultKind::ALL, &hosts(), 60_000));
    }

    #[test]
    fn faults_start_in_the_window_name_two_ends_and_heal() {
        for seed in 0..200 {
            let s = draw(seed, &FaultKind::ALL, &hosts(), 10_000);
            for x in &s.faults {
                // A crash inside a cut may start after the window.
                let starts_by = if x.kind == FaultKind::Crash {
                    10_000 + LONG_CUT_MS.end()
                } else {
                    10_000
                };
                assert!(x.at_ms < starts_by && x.for_ms >= 10, "{x:?}");
                assert_eq!(x.kind == FaultKind::Crash, x.b.is_empty(), "{x:?}");
                assert_ne!(x.a, x.b);
            }
            assert!(s.healed_at_ms() <= 10_000 + LONG_CUT_MS.end() + MAX_DOWN_MS);
        }
    }

    #[test]
    fn only_the_kinds_asked_for_are_drawn() {
        let kinds = FaultKind::parse_list("crash,drop").unwrap();
        for seed in 0..50 {
            let s = draw(seed, &kinds, &hosts(), 10_000);
            assert!(s.faults.iter().all(|f| f.kind == FaultKind::Crash));
            assert_eq!((s.messages.duplicate, s.messages.reorder), (0.0, 0.0));
        }
        assert!(FaultKind::parse_list("crash,meteor")
            .unwrap_err()
            .contains("meteor"));
        assert!(FaultKind::parse_list("none").unwrap().is_empty());
    }
}
