//! Launch: nodes register, central starts the clock, provinces report their
//! standing capacity and their own outbreak.

use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::clock::Clock;
use counterpart_domain::scenario::checked_outbreak_level;
use pairing_proto::v1::{
    Ack, CapacityReport, ClockStart, RegisterNode, Registration, Role, ScenarioClock,
};
use pairing_proto::version;

use super::outbound::{Message, ToCity, ToProvince};
use super::persist::kind;
use super::{Authority, DonorStanding, NodeEntry, Now};

/// Wall milliseconds between starting the clock and scenario time 0, so
/// every node hears of the epoch before it arrives.
pub const CLOCK_LEAD_MS: i64 = 300;
/// Pools a capacity report may list: one per resource type at most.
const MAX_POOLS: usize = 16;
/// Optional features a node may declare: far above the few a version adds.
const MAX_FEATURES: usize = 32;

/// How central runs the scenario clock, from its command line (not saved:
/// a clock once started is saved with the authority and kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockPlan {
    /// Lockstep: scenario minutes per step. `None`: the wall clock.
    pub step_minutes: Option<u32>,
    /// The run's seed, for every random draw of the protocol.
    pub seed: u64,
    /// Lockstep: wall ms each scenario day takes at least (0: as fast as
    /// the nodes go). On the wall clock, the clock's own `day_ms`.
    pub pace_day_ms: i64,
    /// Lockstep: wall seconds the barrier waits for one node before the
    /// clock stalls.
    pub barrier_wait_s: u32,
}

/// How long the barrier waits for a node by default: a supervisor or a
/// container's restart policy brings a dead node back in seconds (4-5 s
/// measured for a container), a restart with a long journal to replay in
/// tens of seconds.
pub const DEFAULT_BARRIER_WAIT_S: u32 = 120;

/// The seed of a run that names none: fixed, so two runs of one command
/// tell the same story (the year of the hubei-2020 scenario).
pub const DEFAULT_SEED: u64 = 2020;
/// Scenario minutes per lockstep step by default: the finest time the
/// sources give is the hour (Jiangsu's team "arrived about 22:00"), the
/// shortest delay of the scenario (transit, 0.3 days) spans 7 steps, and
/// a 60-day run is about 1,400 steps.
pub const DEFAULT_STEP_MINUTES: u32 = 60;
/// Longest step: a day. Shorter steps than a minute tell nothing more.
pub const STEP_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=1_440;

impl Default for ClockPlan {
    fn default() -> Self {
        ClockPlan::lockstep(DEFAULT_STEP_MINUTES, DEFAULT_SEED)
    }
}

impl ClockPlan {
    pub fn lockstep(step_minutes: u32, seed: u64) -> Self {
        assert!(
            STEP_MINUTES_RANGE.contains(&step_minutes),
            "step_minutes {step_minutes}: the command line checks it first"
        );
        ClockPlan {
            step_minutes: Some(step_minutes),
            seed,
            pace_day_ms: 0,
            barrier_wait_s: DEFAULT_BARRIER_WAIT_S,
        }
    }

    pub fn wall(seed: u64) -> Self {
        ClockPlan {
            step_minutes: None,
            seed,
            pace_day_ms: 0,
            barrier_wait_s: DEFAULT_BARRIER_WAIT_S,
        }
    }

    /// The same plan, its barrier waiting `seconds` for a node.
    pub fn waiting(self, seconds: u32) -> Self {
        ClockPlan {
            barrier_wait_s: seconds,
            ..self
        }
    }

    /// The same plan, pacing each scenario day to at least `day_ms` wall
    /// ms (lockstep).
    pub fn paced(self, day_ms: i64) -> Self {
        ClockPlan {
            pace_day_ms: day_ms.max(0),
            ..self
        }
    }

    /// The length of a step in scenario ms (lockstep).
    pub fn step_ms(&self) -> Option<i64> {
        self.step_minutes.map(|m| i64::from(m) * 60_000)
    }

    /// "lockstep" or "wall", as the report and the operator read it.
    pub fn mode(&self) -> &'static str {
        match self.step_minutes {
            Some(_) => "lockstep",
            None => "wall",
        }
    }
}

/// The version a node that stated `stated` speaks.
pub fn spoken_version(stated: u32) -> u32 {
    if stated == 0 {
        version::UNSTATED
    } else {
        stated
    }
}

/// The version a registering node speaks, if central supports it.
fn supported_version(stated: u32) -> Result<u32, Refusal> {
    let speaks = spoken_version(stated);
    let window = version::OLDEST_SUPPORTED..=version::PROTOCOL_VERSION;
    if window.contains(&speaks) {
        return Ok(speaks);
    }
    Err(Refusal::failed_precondition(format!(
        "protocol_version: the node speaks version {speaks}; central speaks {} and accepts {}..={}",
        version::PROTOCOL_VERSION,
        version::OLDEST_SUPPORTED,
        version::PROTOCOL_VERSION
    )))
}

impl Authority {
    pub fn register(&mut self, msg: &RegisterNode, now: Now) -> Result<Registration, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        validate::text("endpoint", &msg.endpoint)?;
        if !msg.endpoint.starts_with("http://") && !msg.endpoint.starts_with("https://") {
            return Err(Refusal::invalid_argument(format!(
                "endpoint: {:?} is not an http(s) URL",
                msg.endpoint
            )));
        }
        let role = Role::try_from(msg.role)
            .ok()
            .filter(|r| *r != Role::Unspecified && *r != Role::Central)
            .ok_or_else(|| {
                Refusal::invalid_argument(format!("role: {} is not PROVINCE or CITY", msg.role))
            })?;
        let id = &header.sender_id;
        let expected = self.scenario_role(id).ok_or_else(|| {
            Refusal::not_found(format!(
                "header.sender_id: {id:?} is no node of scenario {:?}",
                self.scenario.name
            ))
        })?;
        if expected != role {
            return Err(Refusal::permission_denied(format!(
                "role: {id:?} is a {expected:?} in the scenario, not a {role:?}"
            )));
        }
        supported_version(msg.protocol_version)?;
        validate::list_len("features", msg.features.len(), MAX_FEATURES)?;
        for feature in &msg.features {
            validate::text("features", feature)?;
        }
        self.takes_steps(&msg.features)?;
        let entry = NodeEntry {
            role,
            endpoint: msg.endpoint.clone(),
            protocol_version: msg.protocol_version,
            features: msg.features.clone(),
        };
        self.unsaved.mark(kind::NODE, id);
        let is_new = self.nodes.insert(id.clone(), entry).is_none();
        if is_new {
            // One line per node, at debug: ten thousand at info drown the
            // lines that matter (the clock's start names the node count).
            tracing::debug!(node = %id, endpoint = %msg.endpoint, "registered");
        }
        if self.clock.is_none() && self.everyone_registered() {
            self.start_clock(now);
        }
        Ok(Registration {
            scenario: self.scenario.name.clone(),
            clock: self.clock.map(|c| self.wire_clock(c)),
            protocol_version: version::PROTOCOL_VERSION,
        })
    }

    pub fn report_capacity(&mut self, msg: &CapacityReport, now: Now) -> Result<Ack, Refusal> {
        let header = validate::header(msg.header.as_ref())?;
        if let Some(ack) = self.replay(header) {
            return Ok(ack);
        }
        self.registered_sender(header, Role::Province)?;
        let standing = validate_capacity(msg)?;
        let province = header.sender_id.clone();
        let level = standing.outbreak_level;
        self.unsaved.mark(kind::DONOR, &province);
        self.donors.insert(province.clone(), standing);
        if self.scenario.rules.must_release(level) {
            self.release_donor_everywhere(&province, level, now.scenario);
        }
        Ok(self.remember(header))
    }

    fn scenario_role(&self, id: &str) -> Option<Role> {
        self.roster.role(id)
    }

    /// On the lockstep clock, a node must take its steps: one of a release
    /// without them would stall the first step, so it is refused now.
    fn takes_steps(&self, features: &[String]) -> Result<(), Refusal> {
        let lockstep = self
            .clock
            .map_or(self.plan.step_minutes.is_some(), |c| c.is_lockstep());
        let feature = crate::catalog::LOCKSTEP_FEATURE;
        if lockstep && !features.iter().any(|f| f == feature) {
            return Err(Refusal::failed_precondition(format!(
                "features: the node does not declare {feature:?}, and central runs the lockstep clock; \
                 run central with --clock wall for nodes of a release before it"
            )));
        }
        Ok(())
    }

    fn everyone_registered(&self) -> bool {
        let s = &self.scenario;
        // Only the scenario's nodes register, so while there are fewer
        // entries than nodes someone is missing. Without this count first,
        // nodes registering in scenario order made every registration walk
        // the nodes before it: quadratic start-up.
        if self.nodes.len() < s.provinces.len() + s.cities.len() {
            return false;
        }
        s.provinces.iter().all(|p| self.nodes.contains_key(&p.id))
            && s.cities.iter().all(|c| self.nodes.contains_key(&c.id))
    }

    fn start_clock(&mut self, now: Now) {
        let wall = Clock::new(
            now.unix_ms + CLOCK_LEAD_MS,
            self.day_ms,
            self.scenario.start_date,
        );
        let clock = match self.plan.step_minutes {
            Some(_) => wall.lockstep(self.plan.seed),
            None => Clock {
                seed: self.plan.seed,
                ..wall
            },
        };
        self.clock = Some(clock);
        tracing::info!(
            day_ms = self.day_ms,
            clock = self.plan.mode(),
            seed = self.plan.seed,
            nodes = self.nodes.len(),
            "every node registered: clock started"
        );
        let wire = self.wire_clock(clock);
        let ids: Vec<(String, Role)> = self
            .nodes
            .iter()
            .map(|(id, n)| (id.clone(), n.role))
            .collect();
        for (id, role) in ids {
            let start = ClockStart {
                header: Some(self.header(now.scenario)),
                clock: Some(wire.clone()),
            };
            let message = match role {
                Role::Province => Message::Province(ToProvince::ClockStart(start)),
                _ => Message::City(ToCity::ClockStart(start)),
            };
            self.send(&id, message);
        }
    }

    pub(super) fn wire_clock(&self, clock: Clock) -> ScenarioClock {
        ScenarioClock {
            epoch_unix_ms: clock.epoch_unix_ms,
            day_ms: clock.day_ms,
            start_date: clock.start_date.format("%Y-%m-%d").to_string(),
            lockstep: clock.is_lockstep(),
            granted_ms: clock.granted.unwrap_or_default().0,
            seed: clock.seed,
        }
    }
}

/// Checks a capacity report field by field; returns the standing it states.
fn validate_capacity(msg: &CapacityReport) -> Result<DonorStanding, Refusal> {
    checked_outbreak_level("outbreak_level", msg.outbreak_level)
        .map_err(Refusal::invalid_argument)?;
    validate::list_len("pools", msg.pools.len(), MAX_POOLS)?;
    let mut standing = DonorStanding {
        outbreak_level: msg.outbreak_level,
        ..Default::default()
    };
    for (i, pool) in msg.pools.iter().enumerate() {
        let t = validate::resource_type(
            format_args!("pools[{i}].resource_type"),
            &pool.resource_type,
        )?;
        let q = validate::quantity(format_args!("pools[{i}].quantity"), t, pool.quantity)?;
        validate::list_len(
            format_args!("pools[{i}].contributions"),
            pool.contributions.len(),
            validate::MAX_LINES,
        )?;
        let mut sum: i64 = 0;
        for (k, c) in pool.contributions.iter().enumerate() {
            validate::text(
                format_args!("pools[{i}].contributions[{k}].prefecture"),
                &c.prefecture,
            )?;
            sum += validate::quantity(
                format_args!("pools[{i}].contributions[{k}].quantity"),
                t,
                c.quantity,
            )?;
        }
        if sum != q {
            return Err(Refusal::invalid_argument(format!(
                "pools[{i}].contributions: sum to {sum}, but the pool of {t} is {q}"
            )));
        }
        if standing.pool.insert(t, q).is_some() {
            return Err(Refusal::invalid_argument(format!(
                "pools[{i}].resource_type: {t} appears more than once"
            )));
        }
    }
    Ok(standing)
}
