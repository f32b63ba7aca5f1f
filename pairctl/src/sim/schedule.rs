//! What one seed does to a run: the faults, drawn from the seed alone.
//!
//! Faults fall in the first part of the run (the fault window, a share of
//! the scenario's fault-free simulated time) and every one heals: a crashed
//! host restarts, a cut link is repaired, a slow link is fast again, held
//! messages are released. Message faults (refused, answered-then-lost so
//! the sender resends, delayed, handled twice) run at the seed's rates
//! until the window closes. Then the run goes on to its end, which the
//! liveness check bounds.

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
                    format!("--faults: unknown fault {name:?}; known: {}, all, none", known.join(", "))
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
/// for the window. `hosts` are every host's name, central's first.
pub fn draw(seed: u64, kinds: &[FaultKind], hosts: &[String], window_ms: u64) -> Schedule {
    let mut rng = StdRng::seed_from_u64(seed);
    let window_ms = window_ms.max(1);
    let mut faults = Vec::new();
    let mut messages = MessageRates::default();
    for &kind in kinds {
        match kind {
            FaultKind::Drop => messages.drop = rng.random_range(0.0..MAX_MESSAGE_RATE),
            FaultKind::Duplicate => messages.duplicate = rng.random_range(0.0..MAX_MESSAGE_RATE),
            FaultKind::Reorder => messages.reorder = rng.random_range(0.0..MAX_MESSAGE_RATE),
            _ => {
                for _ in 0..rng.random_range(0..=MAX_FAULTS_PER_KIND) {
                    faults.push(one(&mut rng, kind, hosts, window_ms));
                }
            }
        }
    }
    faults.sort_by(|x, y| (x.at_ms, &x.a, &x.b).cmp(&(y.at_ms, &y.a, &y.b)));
    Schedule {
        seed,
        faults,
        messages,
        messages_until_ms: window_ms,
    }
}

fn one(rng: &mut StdRng, kind: FaultKind, hosts: &[String], window_ms: u64) -> Fault {
    let host = |rng: &mut StdRng| hosts[rng.random_range(0..hosts.len())].clone();
    let a = host(rng);
    // A link's other end: central half the time (every node talks to it),
    // any other host otherwise.
    let b = if kind == FaultKind::Crash {
        String::new()
    } else {
        let mut b = if rng.random_bool(0.5) { hosts[0].clone() } else { host(rng) };
        while b == a {
            b = host(rng);
        }
        b
    };
    let max_ms = if kind == FaultKind::Crash { MAX_DOWN_MS } else { MAX_CUT_MS };
    Fault {
        kind,
        a,
        b,
        at_ms: rng.random_range(0..window_ms),
        for_ms: rng.random_range(10..=max_ms),
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
        ["central", "p1", "p2", "c1", "c2"].map(String::from).to_vec()
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
                assert!(x.at_ms < 10_000 && x.for_ms >= 10, "{x:?}");
                assert_eq!(x.kind == FaultKind::Crash, x.b.is_empty(), "{x:?}");
                assert_ne!(x.a, x.b);
            }
            assert!(s.healed_at_ms() <= 10_000 + MAX_CUT_MS);
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
        assert!(FaultKind::parse_list("crash,meteor").unwrap_err().contains("meteor"));
        assert!(FaultKind::parse_list("none").unwrap().is_empty());
    }
}
