//! The `central` binary: flags (also from the environment, for compose),
//! start, announce, run until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use counterpart_domain::clock::parse_day_ms;
use counterpart_domain::policy::Policy;
use counterpart_domain::scenario::{self, PairingMode};

use crate::authority::{ClockPlan, DEFAULT_BARRIER_WAIT_S, DEFAULT_SEED, DEFAULT_STEP_MINUTES};

#[derive(Debug, Parser)]
#[command(
    name = "central",
    about = "The central authority of a Counterpart cluster"
)]
pub struct Args {
    /// Scenario file (TOML).
    #[arg(long, env = "PAIRING_SCENARIO")]
    pub scenario: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "PAIRING_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// Wall milliseconds per scenario day: on the lockstep clock the least
    /// each day takes (0: as fast as the nodes go), on the wall clock its
    /// speed.
    #[arg(long, env = "PAIRING_DAY_MS", default_value_t = 500, value_parser = parse_pace)]
    pub day_ms: i64,
    #[command(flatten)]
    pub clock: ClockArgs,
    /// Override the scenario's pairing mode: historical or optimized.
    #[arg(long, env = "PAIRING_MODE", value_parser = parse_mode)]
    pub pairing_mode: Option<PairingMode>,
    /// How central acts (docs/POLICY.md): historical, optimized, none,
    /// delay:N, no-supervision, cap:X, joined with `+`. Default: the
    /// scenario's rules.
    #[arg(long, env = "PAIRING_POLICY")]
    pub policy: Option<Policy>,
    /// Serve and call over mutual TLS with DIR/ca.pem, DIR/central.pem and
    /// DIR/central.key (see `pairctl certs`). Without it: plain TCP.
    #[arg(long, env = "PAIRING_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Directory for central's durable state (created if missing). A
    /// restarted central resumes from it; without it, state is in memory.
    #[arg(long, env = "PAIRING_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// With a data dir: `normal` survives the death of the process (SQLite
    /// synchronous=NORMAL); `full` also a power cut (an fsync per commit).
    #[arg(long, env = "PAIRING_DURABILITY", value_enum, default_value_t)]
    pub durability: node_kit::durable::Durability,
    /// How handlers reach the authority: `lock` (each takes its lock) or
    /// `sequencer` (one task applies their changes in batches). Both
    /// decide alike; BENCHMARKS.md table 1 measures them.
    #[arg(long, env = "PAIRING_CONCURRENCY", default_value = "lock")]
    pub concurrency: node_kit::sequencer::Concurrency,
}

/// How central runs the scenario clock: the flags of `central` and of
/// `pairctl up`, `pairctl node central`, whose values these are.
#[derive(Debug, Clone, clap::Args)]
pub struct ClockArgs {
    /// `lockstep`: central grants each step of scenario time and waits
    /// for every node (the story does not depend on the machine's load).
    /// `wall`: scenario time is wall time x day-ms.
    #[arg(long, env = "PAIRING_CLOCK", value_enum, default_value_t = ClockMode::Lockstep)]
    pub clock: ClockMode,
    /// Scenario minutes per lockstep step.
    #[arg(long, env = "PAIRING_STEP_MINUTES", default_value_t = DEFAULT_STEP_MINUTES,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub step_minutes: u32,
    /// The run's seed: every random draw of the protocol comes from it.
    #[arg(long, env = "PAIRING_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Lockstep: wall seconds to wait for a node to finish its step before
    /// the clock stalls with an error naming it.
    #[arg(long, env = "PAIRING_BARRIER_WAIT_S", default_value_t = DEFAULT_BARRIER_WAIT_S,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub barrier_wait_s: u32,
}

impl ClockArgs {
    pub fn plan(&self) -> ClockPlan {
        self.clock
            .plan(self.step_minutes, self.seed)
            .waiting(self.barrier_wait_s)
    }

    /// The same settings for a child central (`pairctl up`), as the
    /// environment its flags read: a central of a release before them
    /// ignores variables it does not know, where it would refuse a flag.
    pub fn to_env(&self) -> [(&'static str, String); 4] {
        let mode = match self.clock {
            ClockMode::Lockstep => "lockstep",
            ClockMode::Wall => "wall",
        };
        [
            ("PAIRING_CLOCK", mode.to_string()),
            ("PAIRING_STEP_MINUTES", self.step_minutes.to_string()),
            ("PAIRING_SEED", self.seed.to_string()),
            ("PAIRING_BARRIER_WAIT_S", self.barrier_wait_s.to_string()),
        ]
    }
}

/// How scenario time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    Lockstep,
    Wall,
}

impl ClockMode {
    /// The plan central runs the clock by.
    pub fn plan(self, step_minutes: u32, seed: u64) -> ClockPlan {
        match self {
            ClockMode::Lockstep => ClockPlan::lockstep(step_minutes, seed),
            ClockMode::Wall => ClockPlan::wall(seed),
        }
    }
}

/// `--day-ms`: 0 (lockstep, as fast as it goes) up to real time; whether
/// 0 suits the clock is checked at start.
pub fn parse_pace(text: &str) -> Result<i64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    parse_day_ms(text)
}

pub fn parse_mode(s: &str) -> Result<PairingMode, String> {
    match s {
        "historical" => Ok(PairingMode::Historical),
        "optimized" => Ok(PairingMode::Optimized),
        other => Err(format!("{other:?} is not historical or optimized")),
    }
}

/// The policy of `--policy` and `--pairing-mode` together; both may name
/// the pairing only if they name the same one.
pub fn policy_of(policy: Option<Policy>, mode: Option<PairingMode>) -> Result<Policy, String> {
    match (policy, mode) {
        (None, mode) => Ok(Policy::with_pairing(mode)),
        (Some(p), None) => Ok(p),
        (Some(p), Some(m)) if p.pairing.is_none_or(|pm| pm == m) => {
            let mut p = p;
            p.pairing = Some(m);
            Ok(p)
        }
        (Some(p), Some(m)) => Err(format!(
            "--policy {p} and --pairing-mode {} choose different pairings",
            m.as_str()
        )),
    }
}

/// Runs central with `args` until a shutdown signal.
pub async fn run(args: Args) -> ExitCode {
    let telemetry = node_kit::telemetry::init("central");
    let scenario = match scenario::load(&args.scenario) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("central: {e}");
            return ExitCode::from(2);
        }
    };
    let tls = match args
        .tls_dir
        .as_deref()
        .map(|dir| node_kit::tls::NodeTls::load(dir, node_kit::tls::CENTRAL_ID))
    {
        None => None,
        Some(Ok(tls)) => Some(tls),
        Some(Err(e)) => {
            eprintln!("central: {e}");
            return ExitCode::from(2);
        }
    };
    let policy = match policy_of(args.policy.clone(), args.pairing_mode) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("central: {e}");
            return ExitCode::from(2);
        }
    };
    let clock = args.clock.plan();
    eprintln!(
        "central: {} clock, seed {}{}",
        clock.mode(),
        clock.seed,
        clock
            .step_minutes
            .map(|m| format!(", {m}-minute steps"))
            .unwrap_or_default()
    );
    let config = crate::CentralConfig {
        scenario,
        listen_addr: args.listen,
        day_ms: args.day_ms,
        clock,
        policy,
        tls,
        data_dir: args.data_dir,
        durability: args.durability,
        faults: None,
        concurrency: args.concurrency,
    };
    let node = match crate::start(config).await {
        Ok(node) => node,
        Err(e) => {
            eprintln!("central: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = node_kit::server::run_until_signalled("central", node).await;
    telemetry.shutdown().await;
    code
}
