//! In-process fault injection for the seeded fault suite.
//!
//! A [`FaultPlan`] decides, message by message, whether a node's server
//! refuses a request before handling it (drop-request), handles it and then
//! answers UNAVAILABLE so the sender resends (drop-reply: a duplicate
//! delivery), sleeps a bounded random time first (delay: messages
//! overtake each other), or handles it twice (duplicate). On top, links can
//! be cut one way or both ways at runtime (partitions) and healed.
//!
//! Every decision comes from one seeded generator, and every message draws
//! the same number of values whatever the outcome, so the same seed and the
//! same sequence of messages give the same faults. (Nodes send concurrently,
//! so a whole run is not replayable; the rates and counts are.)
//!
//! [`FaultLayer`] applies a plan on the server side, around the node's own
//! service only: health checks and reflection are never faulted. The server
//! knows itself (`to`); the caller is named by the `pairing-sender` metadata
//! that [`crate::client::request_from`] adds. A request without it (an
//! operator's query from `pairctl`) is never faulted.
//!
//! Besides the plan's decisions ([`FaultPlan::counts`]), each node's layer
//! counts what it actually did to the messages it received, and every time
//! the node started ([`FaultPlan::at_nodes`]): a suite shows a fault fired
//! at the nodes, and a crashed node came up again, from the nodes' own
//! counts.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::Status;
use tower::{Layer, Service, ServiceExt};

use crate::client::SENDER_METADATA;

/// Longest delay a plan may inject: long enough to reorder messages, well
/// below the callers' deadline (`client::CALL_DEADLINE`, 3 s).
pub const MAX_DELAY: Duration = Duration::from_millis(1_000);

/// Methods that stream: only faulted when the stream starts (drop or
/// delay); a drop-reply or duplicate makes no sense for a stream.
pub const STREAMING_METHODS: &[&str] = &["/pairing.v1.DonorProvince/NegotiatePlan"];

/// Per-message probabilities, each in 0..=1 (out of range is clamped).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultRates {
    /// Refuse before handling, with UNAVAILABLE.
    pub drop_request: f64,
    /// Handle, then answer UNAVAILABLE: the sender resends.
    pub drop_reply: f64,
    /// Sleep up to `max_delay` before handling.
    pub delay: f64,
    /// Handle the same request twice.
    pub duplicate: f64,
    /// Upper bound of an injected delay (capped at [`MAX_DELAY`]).
    pub max_delay: Duration,
}

impl FaultRates {
    fn clamped(self) -> FaultRates {
        let p = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        FaultRates {
            drop_request: p(self.drop_request),
            drop_reply: p(self.drop_reply),
            delay: p(self.delay),
            duplicate: p(self.duplicate),
            max_delay: self.max_delay.min(MAX_DELAY),
        }
    }
}

/// What the plan decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// The link from the sender to this node is cut.
    pub partitioned: bool,
    pub drop_request: bool,
    pub drop_reply: bool,
    pub delay: Option<Duration>,
    pub duplicate: bool,
}

/// How many faults of each kind a plan has injected so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    pub partitioned: u64,
    pub dropped_requests: u64,
    pub dropped_replies: u64,
    pub delayed: u64,
    pub duplicated: u64,
}

/// What the faults did at one node, counted by its own layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeFaults {
    /// Times the node started serving under the plan (a restart after a
    /// crash is a second start).
    pub starts: u32,
    /// Faults applied to the messages the node received: a partitioned or
    /// dropped request refused, a reply dropped after the handler ran, a
    /// delay slept in full, a request handled twice.
    pub fired: FaultCounts,
}

impl FaultCounts {
    /// The counts of each kind summed.
    pub fn plus(self, other: FaultCounts) -> FaultCounts {
        FaultCounts {
            partitioned: self.partitioned + other.partitioned,
            dropped_requests: self.dropped_requests + other.dropped_requests,
            dropped_replies: self.dropped_replies + other.dropped_replies,
            delayed: self.delayed + other.delayed,
            duplicated: self.duplicated + other.duplicated,
        }
    }
}

#[derive(Debug)]
struct PlanState {
    rng: StdRng,
    rates: FaultRates,
    quiet: bool,
    /// Cut links, directed: (from, to).
    blocked: BTreeSet<(String, String)>,
}

/// A seeded fault plan, shared by every node of an in-process cluster.
#[derive(Debug)]
pub struct FaultPlan {
    state: Mutex<PlanState>,
    partitioned: AtomicU64,
    dropped_requests: AtomicU64,
    dropped_replies: AtomicU64,
    delayed: AtomicU64,
    duplicated: AtomicU64,
    /// Per node id, what its layer counted.
    nodes: Mutex<BTreeMap<String, NodeFaults>>,
}

impl FaultPlan {
    pub fn new(seed: u64, rates: FaultRates) -> Arc<FaultPlan> {
        Arc::new(FaultPlan {
            state: Mutex::new(PlanState {
                rng: StdRng::seed_from_u64(seed),
                rates: rates.clamped(),
                quiet: false,
                blocked: BTreeSet::new(),
            }),
            partitioned: AtomicU64::new(0),
            dropped_requests: AtomicU64::new(0),
            dropped_replies: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            nodes: Mutex::new(BTreeMap::new()),
        })
    }

    /// What each node's layer counted, by node id.
    pub fn at_nodes(&self) -> BTreeMap<String, NodeFaults> {
        self.node_counts().clone()
    }

    /// The faults fired at every node, summed.
    pub fn fired(&self) -> FaultCounts {
        self.node_counts()
            .values()
            .fold(FaultCounts::default(), |sum, n| sum.plus(n.fired))
    }

    fn node_counts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, NodeFaults>> {
        // Counters only: a panic elsewhere cannot leave them half-changed.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record_at(&self, node_id: &str, record: impl FnOnce(&mut NodeFaults)) {
        record(self.node_counts().entry(node_id.to_string()).or_default());
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PlanState> {
        // The state is a generator and a set: a panic elsewhere cannot
        // leave it half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decides the faults of one message from `from` to `to`. A streaming
    /// call gets at most a partition, a drop or a delay.
    pub fn decide(&self, from: &str, to: &str, streaming: bool) -> Decision {
        let mut s = self.state();
        // Always the same draws, so one message's outcome does not shift
        // the decisions of the messages after it.
        let draws: [f64; 4] = [
            s.rng.random(),
            s.rng.random(),
            s.rng.random(),
            s.rng.random(),
        ];
        let delay_fraction: f64 = s.rng.random();
        let mut d = Decision::default();
        if s.blocked.contains(&(from.to_string(), to.to_string())) {
            d.partitioned = true;
        } else if !s.quiet {
            let r = s.rates;
            if draws[0] < r.drop_request {
                d.drop_request = true;
            } else {
                if draws[1] < r.delay && !r.max_delay.is_zero() {
                    d.delay = Some(r.max_delay.mul_f64(delay_fraction));
                }
                if !streaming {
                    if draws[2] < r.duplicate {
                        d.duplicate = true;
                    } else if draws[3] < r.drop_reply {
                        d.drop_reply = true;
                    }
                }
            }
        }
        drop(s);
        self.count(&d);
        d
    }

    fn count(&self, d: &Decision) {
        let bump = |c: &AtomicU64, yes: bool| {
            if yes {
                c.fetch_add(1, Ordering::Relaxed);
            }
        };
        bump(&self.partitioned, d.partitioned);
        bump(&self.dropped_requests, d.drop_request);
        bump(&self.dropped_replies, d.drop_reply);
        bump(&self.delayed, d.delay.is_some());
        bump(&self.duplicated, d.duplicate);
    }

    /// Cuts the link from `from` to `to` (one way).
    pub fn partition(&self, from: &str, to: &str) {
        self.state()
            .blocked
            .insert((from.to_string(), to.to_string()));
    }

    /// Cuts the link between `a` and `b` both ways.
    pub fn partition_both(&self, a: &str, b: &str) {
        self.partition(a, b);
        self.partition(b, a);
    }

    /// Restores the link from `from` to `to`.
    pub fn heal(&self, from: &str, to: &str) {
        self.state()
            .blocked
            .remove(&(from.to_string(), to.to_string()));
    }

    /// Restores every link.
    pub fn heal_all(&self) {
        self.state().blocked.clear();
    }

    /// Stops every random fault (partitions stay until healed), e.g. so a
    /// run can finish and be checked.
    pub fn quiet(&self) {
        self.state().quiet = true;
    }

    /// Starts random faults again, at `rates`.
    pub fn resume(&self, rates: FaultRates) {
        let mut s = self.state();
        s.rates = rates.clamped();
        s.quiet = false;
    }

    pub fn is_blocked(&self, from: &str, to: &str) -> bool {
        self.state()
            .blocked
            .contains(&(from.to_string(), to.to_string()))
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            partitioned: self.partitioned.load(Ordering::Relaxed),
            dropped_requests: self.dropped_requests.load(Ordering::Relaxed),
            dropped_replies: self.dropped_replies.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
        }
    }
}

/// Wraps a node's own service (not health or reflection) in `plan`;
/// `node_id` is the node the server is.
#[derive(Debug, Clone)]
pub struct FaultLayer {
    plan: Arc<FaultPlan>,
    node_id: Arc<str>,
}

impl FaultLayer {
    /// The layer of a node starting to serve: counts a start of `node_id`.
    pub fn new(plan: Arc<FaultPlan>, node_id: &str) -> FaultLayer {
        plan.record_at(node_id, |n| n.starts += 1);
        FaultLayer {
            plan,
            node_id: node_id.into(),
        }
    }

    /// [`Layer::layer`], for callers without `tower` in scope.
    pub fn wrap<S>(&self, inner: S) -> FaultService<S> {
        self.layer(inner)
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            plan: self.plan.clone(),
            node_id: self.node_id.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
    plan: Arc<FaultPlan>,
    node_id: Arc<str>,
}

impl<S: NamedService> NamedService for FaultService<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn unavailable(why: String) -> http::Response<Body> {
    Status::unavailable(why).into_http()
}

impl<S> Service<http::Request<Body>> for FaultService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The service that was polled ready serves this call; its clone
        // stays for the next (the usual tower pattern).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let from = request
            .headers()
            .get(SENDER_METADATA)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Some(from) = from else {
            let mut inner = inner;
            return Box::pin(inner.call(request));
        };
        let to = self.node_id.clone();
        let streaming = STREAMING_METHODS.contains(&request.uri().path());
        let decision = self.plan.decide(&from, &to, streaming);
        Box::pin(apply(decision, from, self.plan.clone(), to, inner, request))
    }
}

async fn apply<S>(
    decision: Decision,
    from: String,
    plan: Arc<FaultPlan>,
    to: Arc<str>,
    mut inner: S,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, Infallible>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let path = request.uri().path().to_string();
    let fired = |count: fn(&mut FaultCounts) -> &mut u64| {
        plan.record_at(&to, |n| *count(&mut n.fired) += 1);
    };
    if decision.partitioned {
        fired(|c| &mut c.partitioned);
        return Ok(unavailable(format!(
            "fault injected: link {from} -> {to} is partitioned"
        )));
    }
    if decision.drop_request {
        fired(|c| &mut c.dropped_requests);
        return Ok(unavailable(format!(
            "fault injected: request {path} from {from} dropped"
        )));
    }
    if let Some(delay) = decision.delay {
        tokio::time::sleep(delay).await;
        fired(|c| &mut c.delayed);
    }
    if decision.duplicate {
        let (parts, body) = request.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(status) => return Ok(status.into_http()),
        };
        let first = http::Request::from_parts(parts.clone(), Body::new(Full::new(bytes.clone())));
        // The first answer is lost, as if the reply had been dropped and
        // the request resent; the second is what the sender sees.
        let _ = inner.clone().oneshot(first).await;
        fired(|c| &mut c.duplicated);
        let second = http::Request::from_parts(parts, Body::new(Full::new(bytes)));
        return inner.oneshot(second).await;
    }
    let response = inner.call(request).await?;
    if decision.drop_reply {
        // The handler ran (a unary handler finishes before its response
        // is returned); the sender only learns that the call failed.
        drop(response);
        fired(|c| &mut c.dropped_replies);
        return Ok(unavailable(format!(
            "fault injected: reply to {path} from {from} dropped"
        )));
    }
    Ok(response)
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
