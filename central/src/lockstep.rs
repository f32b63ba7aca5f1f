//! Central's side of the lockstep clock (docs/PROTOCOL.md, "The lockstep
//! clock"): the [`Stepper`] grants scenario time one step at a time and
//! waits, at a barrier, for every node to finish each step.
//!
//! A step at time T:
//! 1. central's own clock moves to T (saved: a restarted central resumes
//!    at the step it was granting, and grants are harmless to repeat);
//! 2. central ticks at T and delivers what that sends, one message at a
//!    time, each acknowledged before the next;
//! 3. each node in turn, in the order of their ids, is granted T: it ticks
//!    at T, delivers what it sends the same way, moves its clock on to the
//!    next step's time and answers. A node that cannot be reached is asked
//!    again, with backoff, for `--barrier-wait-s` (default 120 s); past it
//!    the clock stalls with a named error (in the log, the status and the
//!    report), not a hang.
//!
//! So no message is in flight when a step ends, and every receiver handles
//! messages in one order: central's first, then each node's in id order,
//! each sender's in the order its machine decided. A message reaches a
//! node that has not had its turn yet at T, and one that has at the next
//! step's time, the time it will next act at.
//!
//! The run ends when central has seen it finished and owes nothing: the
//! clock stops there, so the report of a finished run is always the same.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use node_kit::client;
use node_kit::retry::RetryPolicy;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{MessageHeader, Role, ScenarioClock, StepGrant};

use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;

use crate::authority::CENTRAL_ID;
use crate::driver::Driver;

/// How long central waits for one grant call: a node's whole step, each of
/// its messages with its own retries (`RetryPolicy::PROTOCOL`). A node's
/// own server cuts every call sooner (`node_kit::server`, 30 s), so a
/// living node's step that runs longer is answered "Timeout expired" and
/// granted again.
pub const GRANT_DEADLINE: Duration = Duration::from_secs(60);
/// Backoff between grants to a node that did not answer.
const REGRANT: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    initial_backoff_ms: 50,
    max_backoff_ms: 2_000,
};
/// How often the stepper looks whether every node has registered.
const CLOCK_POLL: Duration = Duration::from_millis(20);

/// A node as the stepper grants it time.
#[derive(Debug, Clone)]
struct Grantee {
    id: String,
    role: Role,
    endpoint: String,
}

/// Grants steps of scenario time (see the module doc).
pub struct Stepper {
    driver: Driver,
    shutdown: CancellationToken,
    /// One channel per node endpoint, with the grant's long deadline.
    channels: HashMap<String, Channel>,
    barrier_wait: Duration,
    /// Scenario ms per step.
    step_ms: i64,
    /// Grants answered so far (for the log's figures).
    grants: u64,
}

impl Stepper {
    pub fn new(driver: Driver, shutdown: CancellationToken) -> Self {
        Stepper {
            driver,
            shutdown,
            channels: HashMap::new(),
            barrier_wait: Duration::ZERO,
            step_ms: 0,
            grants: 0,
        }
    }

    /// Grants steps until the run has finished, the clock stalls, or
    /// central shuts down.
    pub async fn run(mut self) {
        if !self.clock_started().await {
            return;
        }
        let plan = self.driver.authority().read().clock_plan();
        let step_ms = plan.step_ms().expect("the stepper runs a lockstep plan");
        self.step_ms = step_ms;
        self.barrier_wait = Duration::from_secs(plan.barrier_wait_s.into());
        let wall_per_step = Duration::from_millis(
            (plan.pace_day_ms.max(0) * step_ms / DAY_MS)
                .try_into()
                .unwrap_or(0),
        );
        let granted = self.present();
        // A restarted central grants the step it was granting again.
        let mut step = (granted.0 / step_ms) as u64;
        tracing::info!(
            step,
            step_ms,
            pace_day_ms = plan.pace_day_ms,
            "lockstep clock running"
        );
        let (first_step, running_since) = (step, Instant::now());
        loop {
            let began = Instant::now();
            let until = ScenarioTime(step as i64 * step_ms);
            if let Err(why) = self.take_step(step, until).await {
                if !self.shutdown.is_cancelled() {
                    tracing::error!(%why, "lockstep clock stalled");
                    self.driver.authority().lock().stall(why);
                }
                return;
            }
            if self.finished() {
                let steps = step + 1 - first_step;
                let wall_ms = running_since.elapsed().as_millis() as u64;
                tracing::info!(
                    step,
                    at = until.0,
                    steps,
                    grants = self.grants,
                    wall_ms,
                    step_wall_us = wall_ms * 1_000 / steps.max(1),
                    "run finished: the lockstep clock stops"
                );
                self.driver.authority().lock().stop_clock();
                return;
            }
            step += 1;
            let rest = wall_per_step.saturating_sub(began.elapsed());
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(rest) => {}
            }
        }
    }

    /// Waits until every node has registered and central has started the
    /// clock; false if central shuts down first.
    async fn clock_started(&self) -> bool {
        loop {
            if self.driver.authority().read().clock().is_some() {
                return true;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = tokio::time::sleep(CLOCK_POLL) => {}
            }
        }
    }

    fn present(&self) -> ScenarioTime {
        let authority = self.driver.authority().read();
        authority
            .clock()
            .and_then(|c| c.granted)
            .unwrap_or_default()
    }

    fn finished(&self) -> bool {
        let authority = self.driver.authority().read();
        authority.finished_at().is_some() && !authority.owes_messages()
    }

    /// One step at `until` (see the module doc). An error names the node
    /// that did not finish it.
    async fn take_step(&mut self, step: u64, until: ScenarioTime) -> Result<(), String> {
        let (clock, grantees) = {
            let mut authority = self.driver.authority().lock();
            let clock = authority.grant(until).expect("the clock has started");
            let grantees: Vec<Grantee> = authority
                .nodes()
                .map(|(id, node)| Grantee {
                    id: id.clone(),
                    role: node.role,
                    endpoint: node.endpoint.clone(),
                })
                .collect();
            (clock, grantees)
        };
        self.driver.authority().flushed().await;
        self.driver.act().await;
        let next = ScenarioTime(until.0 + self.step_ms);
        for node in &grantees {
            let grant = grant(&clock, step, until, next);
            self.barrier(node, grant).await?;
        }
        Ok(())
    }

    /// Grants `grant` to `node` until it answers, for at most the barrier's
    /// wait. Each attempt dials the endpoint the node last registered: a
    /// node restarted in the middle of the step may come back elsewhere.
    async fn barrier(&mut self, node: &Grantee, grant: StepGrant) -> Result<(), String> {
        // Tokio's clock, not std's: a simulation's barrier waits in
        // simulated time (the two are the same clock in production).
        let deadline = tokio::time::Instant::now() + self.barrier_wait;
        let mut attempt = 0u32;
        loop {
            let endpoint = self.endpoint_of(node);
            let status = match self.channel(&endpoint) {
                Ok(channel) => match advance(node.role, channel, grant.clone()).await {
                    Ok(()) => {
                        self.grants += 1;
                        return Ok(());
                    }
                    Err(status) => status,
                },
                Err(status) => status,
            };
            if self.shutdown.is_cancelled() {
                return Err("central is shutting down".into());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "lockstep barrier: node {} did not finish step {} (scenario time {} ms) within {} s: {:?} {}",
                    node.id,
                    grant.step,
                    grant.until_ms,
                    self.barrier_wait.as_secs(),
                    status.code(),
                    status.message()
                ));
            }
            attempt += 1;
            if attempt == 1 || attempt.is_multiple_of(20) {
                tracing::warn!(node = %node.id, step = grant.step, code = ?status.code(), message = status.message(), "node did not take its step; granting again");
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return Err("central is shutting down".into()),
                _ = tokio::time::sleep(REGRANT.backoff(attempt + 1)) => {}
            }
        }
    }

    /// Where `node` is now: the endpoint it registered last.
    fn endpoint_of(&self, node: &Grantee) -> String {
        let authority = self.driver.authority().read();
        let endpoint = authority
            .nodes()
            .find(|(id, _)| **id == node.id)
            .map_or_else(|| node.endpoint.clone(), |(_, n)| n.endpoint.clone());
        endpoint
    }

    fn channel(&mut self, endpoint: &str) -> Result<Channel, Status> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = self
            .driver
            .dialer()
            .channel_with_deadline(endpoint, GRANT_DEADLINE)?;
        self.channels.insert(endpoint.to_string(), channel.clone());
        Ok(channel)
    }
}

/// The grant of `step` at `until`, then `next`. Its id names the step:
/// the same grant sent again is the same message.
fn grant(clock: &ScenarioClock, step: u64, until: ScenarioTime, next: ScenarioTime) -> StepGrant {
    StepGrant {
        header: Some(MessageHeader {
            message_id: format!("step-{step}"),
            sender_id: CENTRAL_ID.to_string(),
            scenario_time_ms: until.0,
        }),
        clock: Some(clock.clone()),
        step,
        until_ms: until.0,
        next_ms: next.0,
    }
}

/// One grant call to a node of `role`.
async fn advance(role: Role, channel: Channel, grant: StepGrant) -> Result<(), Status> {
    let request = client::request_from_with_deadline(CENTRAL_ID, grant, GRANT_DEADLINE);
    match role {
        Role::Province => DonorProvinceClient::new(channel)
            .advance(request)
            .await
            .map(drop),
        _ => RecipientCityClient::new(channel)
            .advance(request)
            .await
            .map(drop),
    }
}
