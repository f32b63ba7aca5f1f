//! The city's driver: registers with central, then ticks in node-kit's one
//! loop ([`run_ticks`]): on every tick the machine says what to send and
//! each message goes to the courier (unary calls, with deadline and
//! bounded retries) or to the negotiation streams; outcomes go
//! back to the machine through `on_sent`, each classified here for the
//! resend policy (`node_kit::retry::round_outcome`): the gRPC status never
//! reaches the machine.
//!
//! Each message goes out in its sender's span (see [`crate::spans`]): the
//! courier carries that span's context with every attempt, and a send that
//! fails for good marks the span as an error.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use node_kit::client::{request_from, Dialer};
use node_kit::counters::MessageCounters;
use node_kit::courier::Courier;
use node_kit::driver::{Pace, TickLoop};
use node_kit::header::HeaderFactory;
use node_kit::lockstep::StepReceiver;
use node_kit::net::unix_now_ms;
use node_kit::registration::register_via;
use node_kit::service::Machine;
use node_kit::trace;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::{Registration, Role};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;
use tracing::{Instrument, Span};

use crate::negotiation::Negotiations;
use crate::recipient::{Failure, Notice, Outbound, Outcome, Sent};
use crate::service::SharedRecipient;
use crate::spans::CityTraces;

/// Tick period until the clock (and so the speed) is known.
pub const IDLE_TICK: Duration = Duration::from_millis(250);
/// Donor channels kept open at once; a run has a handful of donors.
pub const MAX_CHANNELS: usize = 64;

pub struct Driver {
    machine: SharedRecipient,
    counters: Arc<MessageCounters>,
    headers: Arc<HeaderFactory>,
    traces: Arc<CityTraces>,
    central_endpoint: String,
    central: CentralAuthorityClient<Channel>,
    /// One lazily connecting channel per donor endpoint.
    channels: HashMap<String, Channel>,
    negotiations: Negotiations,
    courier: Courier,
    shutdown: CancellationToken,
    /// Plain TCP, or TLS with the city's certificate.
    dialer: Dialer,
    /// The lockstep clock's grants, from the service.
    steps: Option<StepReceiver>,
    /// Where the city's state is kept (the fault tests' crash point marks
    /// it).
    data_dir: Option<PathBuf>,
}

impl Driver {
    pub fn new(
        machine: SharedRecipient,
        counters: Arc<MessageCounters>,
        headers: Arc<HeaderFactory>,
        traces: Arc<CityTraces>,
        central_endpoint: &str,
        shutdown: CancellationToken,
    ) -> Result<Self, String> {
        let central = node_kit::client::channel(central_endpoint)
            .map_err(|status| format!("--central: {}", status.message()))?;
        let fed = machine.clone();
        let on_proposal = Arc::new(move |donor_id: &str, proposal| {
            let sent = Sent::PlanProposal {
                donor_id: donor_id.to_string(),
                outcome: Ok(proposal),
            };
            feed(&fed, sent);
        });
        Ok(Driver {
            machine,
            counters,
            headers,
            traces,
            central_endpoint: central_endpoint.to_string(),
            central: CentralAuthorityClient::new(central),
            channels: HashMap::new(),
            negotiations: Negotiations::new(on_proposal, shutdown.clone()),
            courier: Courier::new(shutdown.clone()),
            shutdown,
            dialer: Dialer::default(),
            steps: None,
            data_dir: None,
        })
    }

    /// The same driver, taking the lockstep clock's grants from
    /// `steps`; `data_dir` is where the node keeps its state.
    pub fn with_steps(mut self, steps: StepReceiver, data_dir: Option<PathBuf>) -> Self {
        self.steps = Some(steps);
        self.data_dir = data_dir;
        self
    }

    /// The same driver, connecting to central and the donors through
    /// `dialer`.
    pub fn with_dialer(mut self, dialer: Dialer) -> Result<Self, String> {
        let central = dialer
            .channel(&self.central_endpoint)
            .map_err(|status| format!("--central: {}", status.message()))?;
        self.central = CentralAuthorityClient::new(central);
        self.dialer = dialer;
        Ok(self)
    }

    /// Registers `endpoint` with central, then ticks until shut down.
    pub async fn run(mut self, endpoint: String) -> Result<(), String> {
        let registration = match self.register(&endpoint).await {
            None => return Ok(()),
            Some(Err(status)) => return Err(format!("registering with central failed: {status}")),
            Some(Ok(registration)) => registration,
        };
        tracing::info!(%endpoint, scenario = %registration.scenario, "registered with central");
        if let Err(refusal) = self.lock().on_registration(&registration) {
            tracing::error!(message = refusal.message(), "central's clock is unusable");
        }
        let (machine, shutdown) = (self.machine.clone(), self.shutdown.clone());
        // The tick reads the clock as it is (a tick before time 0 finds
        // nothing due); only what arrives is stamped no earlier than 0.
        let tick = |machine: &mut crate::recipient::Recipient| {
            let clock = machine.clock()?;
            Some(machine.on_tick(clock.present(unix_now_ms())))
        };
        let courier = self.courier.clone();
        let ticks = TickLoop {
            machine: &machine,
            pace: Pace::ByClock { idle: IDLE_TICK },
            shutdown: &shutdown,
            courier: &courier,
            steps: self.steps.take(),
            mortal: Some((self.headers.node_id().to_string(), self.data_dir.clone())),
        };
        ticks.run(tick, |m| self.dispatch(m)).await;
        let undelivered = self.lock().undelivered_receipts().len();
        if undelivered > 0 {
            tracing::warn!(
                undelivered,
                "stopping with receipts not confirmed to their donors"
            );
        }
        Ok(())
    }

    /// Registers `endpoint` with central, in a trace of its own.
    async fn register(&self, endpoint: &str) -> Option<Result<Registration, Status>> {
        let span = self.traces.registration();
        let registration = register_via(
            &self.dialer,
            &self.central_endpoint,
            &self.headers,
            Role::City,
            endpoint,
            &self.shutdown,
        )
        .instrument(span.clone())
        .await;
        if let Some(Err(status)) = &registration {
            trace::fail(&span, status.message());
        }
        registration
    }

    /// Whether the clock is central's lockstep clock.
    fn lockstep(&self) -> bool {
        self.machine
            .read()
            .clock()
            .is_some_and(|clock| clock.is_lockstep())
    }

    fn lock(&self) -> node_kit::durable::Changing<'_, crate::recipient::Recipient> {
        self.machine.lock()
    }

    /// Hands `message` to the courier (or its negotiation stream) inside
    /// the message's span, which the courier's attempts carry.
    fn dispatch(&mut self, message: Outbound) {
        let span = self.traces.outbound(&message);
        let me: Arc<str> = self.headers.node_id().into();
        match message {
            Outbound::AssistanceRequest(r) => {
                let message_id = message_id(&r.header);
                tracing::info!(%message_id, needs = ?r.needs, "requesting assistance");
                let client = self.central.clone();
                // Central's reply names the case: this span is its root.
                let (traces, root) = (self.traces.clone(), span.clone());
                self.carry(
                    format!("AssistanceRequest {message_id}"),
                    span,
                    r,
                    move |m| {
                        let (mut c, me) = (client.clone(), me.clone());
                        async move { c.request_assistance(request_from(&me, m)).await }
                    },
                    move |outcome| {
                        if let Ok(ack) = &outcome {
                            // The root is still open: name its case, so a
                            // search by case id finds the whole trace.
                            node_kit::trace::annotate(
                                &root,
                                node_kit::trace::key::CASE_ID,
                                &ack.case_id,
                            );
                            traces.remember(&ack.case_id, &root);
                        }
                        Sent::AssistanceRequest {
                            message_id,
                            outcome,
                        }
                    },
                );
            }
            Outbound::SupervisoryReport(mut r) => {
                r.messages_received = self.counters.snapshot().into_iter().collect();
                let message_id = message_id(&r.header);
                let client = self.central.clone();
                self.carry(
                    format!("SupervisoryReport {} {message_id}", r.case_id),
                    span,
                    r,
                    move |m| {
                        let (mut c, me) = (client.clone(), me.clone());
                        async move { c.submit_report(request_from(&me, m)).await }
                    },
                    move |outcome| Sent::SupervisoryReport {
                        message_id,
                        outcome: outcome.map(drop),
                    },
                );
            }
            Outbound::DemobilisationRequest(r) => {
                let message_id = message_id(&r.header);
                span.in_scope(|| tracing::info!(case_id = %r.case_id, "requesting demobilisation"));
                let client = self.central.clone();
                self.carry(
                    format!("DemobilisationRequest {}", r.case_id),
                    span,
                    r,
                    move |m| {
                        let (mut c, me) = (client.clone(), me.clone());
                        async move { c.request_demobilisation(request_from(&me, m)).await }
                    },
                    move |outcome| Sent::DemobilisationRequest {
                        message_id,
                        outcome: outcome.map(drop),
                    },
                );
            }
            Outbound::Dispute(d) => {
                let donor_id = d.counterpart_id.clone();
                span.in_scope(|| tracing::info!(donor = %donor_id, dispute = %d.dispute_id, "raising a dispute"));
                let client = self.central.clone();
                self.carry(
                    format!("Dispute {}", d.dispute_id),
                    span,
                    d,
                    move |m| {
                        let (mut c, me) = (client.clone(), me.clone());
                        async move { c.raise_dispute(request_from(&me, m)).await }
                    },
                    move |outcome| Sent::Dispute {
                        donor_id,
                        outcome: outcome.map(drop),
                    },
                );
            }
            Outbound::Receipt {
                donor_id,
                endpoint,
                receipt,
            } => {
                let shipment_id = receipt.shipment_id.clone();
                let Some(channel) = self.channel(&endpoint) else {
                    let outcome =
                        classified(Err(Status::invalid_argument("donor endpoint is not a URI")));
                    trace::fail(&span, "donor endpoint is not a URI");
                    return feed(
                        &self.machine,
                        Sent::Receipt {
                            shipment_id,
                            outcome,
                        },
                    );
                };
                span.in_scope(
                    || tracing::debug!(donor = %donor_id, %shipment_id, "confirming receipt"),
                );
                let client = DonorProvinceClient::new(channel);
                self.carry(
                    format!("Receipt {shipment_id} to {donor_id}"),
                    span,
                    receipt,
                    move |m| {
                        let (mut c, me) = (client.clone(), me.clone());
                        async move { c.confirm_receipt(request_from(&me, m)).await }
                    },
                    move |outcome| Sent::Receipt {
                        shipment_id,
                        outcome: outcome.map(drop),
                    },
                );
            }
            Outbound::NeedsUpdate {
                donor_id,
                endpoint,
                update,
            } => {
                let Some(channel) = self.channel(&endpoint) else {
                    trace::fail(&span, "donor endpoint is not a URI");
                    return;
                };
                if self.lockstep() {
                    // One stream per update, through the courier: the
                    // donor's answer is in before the step ends, in order
                    // with the city's other messages.
                    let client = DonorProvinceClient::new(channel);
                    return self.carry(
                        format!("NeedsUpdate to {donor_id}"),
                        span,
                        update,
                        move |m| {
                            let (c, me) = (client.clone(), me.clone());
                            crate::negotiation::negotiate_once(c, me, m)
                        },
                        move |outcome| Sent::PlanProposal { donor_id, outcome },
                    );
                }
                self.negotiations
                    .send(&donor_id, &endpoint, channel, update, span);
            }
        }
    }

    /// Sends `message` through the courier with `call`, inside `span`; the
    /// outcome goes back to the machine as `to_sent(outcome)`, and a
    /// failure marks the span.
    fn carry<M, R, C, Fut>(
        &self,
        what: String,
        span: Span,
        message: M,
        call: C,
        to_sent: impl FnOnce(Outcome<R>) -> Sent + Send + 'static,
    ) where
        M: Clone + Send + 'static,
        R: Send + 'static,
        C: Fn(M) -> Fut + Send + 'static,
        Fut: Future<Output = Result<tonic::Response<R>, Status>> + Send,
    {
        let machine = self.machine.clone();
        let sender = span.clone();
        // The courier runs every attempt in the span current here.
        let _entered = span.enter();
        self.courier.dispatch(
            what,
            move || {
                let reply = call(message.clone());
                async move { reply.await.map(tonic::Response::into_inner) }
            },
            move |outcome| {
                if let Err(status) = &outcome {
                    trace::fail(&sender, status.message());
                }
                feed(&machine, to_sent(classified(outcome)));
            },
        );
    }

    /// The channel to a donor's endpoint, made once. An endpoint that is
    /// not a URI is logged and skipped (the machine checked it is http(s)).
    fn channel(&mut self, endpoint: &str) -> Option<Channel> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Some(channel.clone());
        }
        if self.channels.len() >= MAX_CHANNELS {
            self.channels.clear(); // donors moved many times: start afresh
        }
        match self.dialer.channel(endpoint) {
            Ok(channel) => {
                self.channels.insert(endpoint.to_string(), channel.clone());
                Some(channel)
            }
            Err(status) => {
                tracing::error!(endpoint, message = status.message(), "cannot reach donor");
                None
            }
        }
    }
}

/// A send's result as the machine takes it: the reply, or the failure
/// classified for the resend policy, with the status for the log.
fn classified<R>(result: Result<R, Status>) -> Outcome<R> {
    let round = node_kit::retry::round_outcome(&result);
    result.map_err(|status| Failure {
        round,
        reason: format!("{:?}: {}", status.code(), status.message()),
    })
}

/// Hands an outcome back to the machine, at the scenario time it arrives,
/// and logs what the machine says the operator should hear of.
fn feed(machine: &SharedRecipient, sent: Sent) {
    let mut machine = machine.lock();
    let now = machine.now();
    match machine.on_sent(sent, now) {
        Some(Notice::RequestNotAccepted { reason }) => tracing::warn!(
            %reason,
            "assistance request not accepted by central; asking again later"
        ),
        None => {}
    }
}

fn message_id(header: &Option<pairing_proto::v1::MessageHeader>) -> String {
    header
        .as_ref()
        .map(|h| h.message_id.clone())
        .unwrap_or_default()
}
