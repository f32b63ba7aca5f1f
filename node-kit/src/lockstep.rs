//! A province's or a city's side of the lockstep clock (docs/PROTOCOL.md,
//! "The lockstep clock"): central's `Advance` call, and the hand-over of a
//! grant to the node's tick loop.
//!
//! The service takes the grant into the machine's clock and hands a
//! [`StepOrder`] to the tick loop ([`crate::driver`]), which ticks at the
//! granted time, delivers what the tick sent, each message acknowledged
//! before the next, and answers; the clock then moves on to the next
//! step's time. The call returns when the step is done: that answer is
//! the barrier central waits for.

use std::sync::Arc;

use counterpart_protocol::lockstep::Granted;
use counterpart_protocol::Refusal;
use pairing_proto::v1::{StepDone, StepGrant};
use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status};

use crate::durable::Durable;
use crate::machine::Machine;
use crate::tls::Callers;

/// Grants waiting for the tick loop. Central grants one step at a time
/// and waits for it, so one waits at most, and a resend a second.
pub const ORDERS_QUEUED: usize = 2;

/// A machine that takes lockstep grants (a province's or a city's).
pub trait Stepped: Machine {
    fn on_step_grant(&mut self, grant: &StepGrant) -> Result<Granted, Refusal>;
    fn finish_step(&mut self, granted: &Granted);
}

impl Stepped for counterpart_protocol::donor::Donor {
    fn on_step_grant(&mut self, grant: &StepGrant) -> Result<Granted, Refusal> {
        counterpart_protocol::donor::Donor::on_step_grant(self, grant)
    }
    fn finish_step(&mut self, granted: &Granted) {
        counterpart_protocol::donor::Donor::finish_step(self, granted)
    }
}

impl Stepped for counterpart_protocol::recipient::Recipient {
    fn on_step_grant(&mut self, grant: &StepGrant) -> Result<Granted, Refusal> {
        counterpart_protocol::recipient::Recipient::on_step_grant(self, grant)
    }
    fn finish_step(&mut self, granted: &Granted) {
        counterpart_protocol::recipient::Recipient::finish_step(self, granted)
    }
}

/// A grant, for the tick loop: `done` gets how many messages the
/// step's tick sent, once all of them have their outcomes.
#[derive(Debug)]
pub struct StepOrder {
    pub granted: Granted,
    pub done: oneshot::Sender<u32>,
}

/// The service's end of the hand-over.
#[derive(Debug, Clone)]
pub struct StepSender(mpsc::Sender<StepOrder>);

/// The tick loop's end.
#[derive(Debug)]
pub struct StepReceiver(pub(crate) mpsc::Receiver<StepOrder>);

pub fn channel() -> (StepSender, StepReceiver) {
    let (tx, rx) = mpsc::channel(ORDERS_QUEUED);
    (StepSender(tx), StepReceiver(rx))
}

/// The answer of a service built without a tick loop (a test's): it takes
/// no grants.
pub fn no_tick_loop() -> Status {
    Status::failed_precondition("this node runs no tick loop to take a step with")
}

/// Serves `Advance`: checks the caller is central, takes the grant into
/// the machine's clock, waits until the tick loop has done the step, and
/// moves the clock on to the next step's time.
pub async fn advance<M: Stepped>(
    machine: &Arc<Durable<M>>,
    callers: Callers,
    steps: &StepSender,
    request: Request<StepGrant>,
) -> Result<Response<StepDone>, Status> {
    if let Some(caller) = callers.of(&request)? {
        crate::access::check(&caller, request.get_ref())?;
    }
    let grant = request.into_inner();
    let granted = {
        let mut changing = machine.lock();
        let granted = changing
            .on_step_grant(&grant)
            .map_err(crate::edge::status)?;
        // The granted time is saved with the machine's next change, not
        // on its own: a save per node per grant would cost most of a step.
        // A node restarted before then comes back at the time of its last
        // change and is granted the step again before it acts.
        changing.release_unchanged();
        granted
    };
    let (done, sent) = oneshot::channel();
    let order = StepOrder { granted, done };
    steps
        .0
        .send(order)
        .await
        .map_err(|_| Status::unavailable("the node is stopping: its tick loop has ended"))?;
    let messages_sent = sent
        .await
        .map_err(|_| Status::unavailable("the node stopped during the step"))?;
    // Acted and delivered: from now on what reaches the node is handled
    // at the next step's time (saved with its next change, like the grant).
    let mut changing = machine.lock();
    changing.finish_step(&granted);
    changing.release_unchanged();
    Ok(Response::new(StepDone {
        step: granted.step,
        messages_sent,
    }))
}

/// A test hook for the fault tests (`PAIRING_DIE_AT_STEP=<node>:<step>`):
/// the node named dies, as if killed, in the middle of the first step from
/// `<step>` on in which it sends anything (its tick saved, nothing of it
/// delivered), once per data directory: the restarted node finds the mark
/// and lives on. A node without a data directory would die at every such
/// step, so it ignores the hook (and says so). Unset in production.
pub fn dies_at(node_id: &str, step: u64, data_dir: Option<&std::path::Path>) -> bool {
    let Ok(spec) = std::env::var("PAIRING_DIE_AT_STEP") else {
        return false;
    };
    let Some((node, from)) = spec.split_once(':') else {
        return false;
    };
    if node != node_id || from.parse::<u64>().map_or(true, |from| step < from) {
        return false;
    }
    let Some(dir) = data_dir else {
        tracing::warn!(
            "PAIRING_DIE_AT_STEP ignored: the node keeps no data directory to resume from"
        );
        return false;
    };
    let mark = dir.join("died-mid-step");
    if mark.exists() {
        return false;
    }
    std::fs::write(&mark, step.to_string()).is_ok()
}
