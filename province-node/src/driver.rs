//! The province's driver: registers with central, then ticks in
//! node-kit's one loop ([`run_ticks`]): on every tick the
//! [`Donor`](crate::donor::Donor) says what to send now, each message goes
//! to the courier inside its sender span (in the case's trace), and each
//! outcome goes back to the machine. What stays here is the province's
//! own: registration's span, the span of each message (which needs the
//! case as the machine knows it at the tick) and the clients that carry it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use node_kit::client::{request_from, Dialer};
use node_kit::courier::Courier;
use node_kit::driver::{Pace, TickLoop};
use node_kit::header::HeaderFactory;
use node_kit::lockstep::StepReceiver;
use node_kit::registration::register_via;
use node_kit::trace::{self, key};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::{Registration, Role};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;
use tracing::Instrument;

use crate::outbound::{Destination, Outbound};
use crate::service::{scenario_now, SharedDonor};
use crate::spans::{self, CaseOfMessage};
use counterpart_protocol::catalog;

/// Tick period before central has given the clock (and with it the speed).
pub const IDLE_TICK: Duration = Duration::from_millis(100);
/// Endpoints with a cached channel: central plus the cities of a scenario,
/// far fewer than this.
pub const MAX_CHANNELS: usize = 256;

/// Registration and the tick loop of one province node.
pub struct Driver {
    shared: Arc<SharedDonor>,
    headers: Arc<HeaderFactory>,
    central_endpoint: String,
    courier: Courier,
    /// One lazily connecting channel per peer endpoint.
    channels: HashMap<String, Channel>,
    /// Plain TCP, or TLS with the province's certificate.
    dialer: Dialer,
    /// The lockstep clock's grants, from the service.
    steps: Option<StepReceiver>,
    /// Where the province's state is kept (the fault tests' crash point
    /// marks it).
    data_dir: Option<PathBuf>,
}

impl Driver {
    pub fn new(
        shared: Arc<SharedDonor>,
        headers: Arc<HeaderFactory>,
        central_endpoint: String,
        shutdown: CancellationToken,
    ) -> Self {
        Driver {
            shared,
            headers,
            central_endpoint,
            courier: Courier::new(shutdown),
            channels: HashMap::new(),
            dialer: Dialer::default(),
            steps: None,
            data_dir: None,
        }
    }

    /// The same driver, taking the lockstep clock's grants from
    /// `steps`; `data_dir` is where the node keeps its state.
    pub fn with_steps(mut self, steps: StepReceiver, data_dir: Option<PathBuf>) -> Self {
        self.steps = Some(steps);
        self.data_dir = data_dir;
        self
    }

    /// The same driver, connecting to central and the cities through
    /// `dialer`.
    pub fn with_dialer(mut self, dialer: Dialer) -> Self {
        self.dialer = dialer;
        self
    }

    /// Registers `advertised` with central, then ticks until `shutdown`.
    /// Fails if central cannot be reached at all.
    pub async fn run(
        mut self,
        advertised: String,
        shutdown: CancellationToken,
    ) -> Result<(), String> {
        let registration = self.register(&advertised, &shutdown).await;
        let registration = match registration {
            None => return Ok(()),
            Some(Err(status)) => {
                return Err(format!(
                    "registration with central at {} failed: {}",
                    self.central_endpoint,
                    status.message()
                ))
            }
            Some(Ok(registration)) => registration,
        };
        tracing::info!(endpoint = %advertised, scenario = %registration.scenario, "registered");
        if let Some(clock) = registration.clock {
            if let Err(refusal) = self.shared.lock().on_registered_clock(&clock) {
                tracing::error!(
                    message = refusal.message(),
                    "clock from registration refused"
                );
            }
        }
        let shared = self.shared.clone();
        let tick = |donor: &mut crate::donor::Donor| {
            donor.clock()?;
            let now = scenario_now(donor);
            let outbound = donor.on_tick(now);
            // The case of each message, as the machine knows it now, for
            // its span.
            let outbound = outbound.into_iter().map(|message| {
                let case = spans::case_of(donor, &message);
                (message, case)
            });
            Some(outbound.collect::<Vec<_>>())
        };
        let courier = self.courier.clone();
        let ticks = TickLoop {
            machine: shared.durable(),
            pace: Pace::ByClock { idle: IDLE_TICK },
            shutdown: &shutdown,
            courier: &courier,
            steps: self.steps.take(),
            mortal: Some((self.headers.node_id().to_string(), self.data_dir.clone())),
        };
        ticks
            .run(tick, |(message, case)| self.dispatch(message, case))
            .await;
        Ok(())
    }

    /// Registers with central in a `province.register` span, the root of a
    /// trace of its own (registration is about no case), which ends here.
    async fn register(
        &self,
        advertised: &str,
        shutdown: &CancellationToken,
    ) -> Option<Result<Registration, Status>> {
        let register = &catalog::REGISTER;
        let span = trace::client_span(spans::sender_span(register), register.stage, None);
        trace::annotate(&span, key::PROVINCE, self.headers.node_id());
        let registration = register_via(
            &self.dialer,
            &self.central_endpoint,
            &self.headers,
            Role::Province,
            advertised,
            shutdown,
        )
        .instrument(span.clone())
        .await;
        if let Some(Err(status)) = &registration {
            trace::fail(&span, status.message());
        }
        registration
    }

    /// Sends `message` in its sender span; the tick loop runs outside any
    /// span, so messages about no case start traces of their own.
    fn dispatch(&mut self, message: Outbound, case: Option<CaseOfMessage>) {
        let span = spans::outbound_span(
            &self.shared.traces,
            self.headers.node_id(),
            &message,
            case.as_ref(),
        );
        // The courier sends in the span current at dispatch.
        let _entered = span.enter();
        self.send(message, span.clone());
    }

    /// Hands `message` to the courier; its outcome goes back to the machine
    /// (as a [`RoundOutcome`](counterpart_protocol::RoundOutcome): the
    /// status stays here) and a failure marks `span`, the message's sender
    /// span.
    fn send(&mut self, message: Outbound, span: tracing::Span) {
        let key = message.key();
        let what = message.describe();
        let shared = self.shared.clone();
        let on_done = move |outcome: Result<(), Status>| {
            if let Err(status) = &outcome {
                trace::fail(&span, status.message());
            }
            let round = node_kit::retry::round_outcome(&outcome);
            let mut donor = shared.lock();
            let now = scenario_now(&donor);
            donor.on_sent(&key, round, now);
        };
        let channel = match self.channel(&message.destination()) {
            Ok(channel) => channel,
            Err(status) => return on_done(Err(status)),
        };
        let central = CentralAuthorityClient::new(channel.clone());
        let me: Arc<str> = self.headers.node_id().into();
        match message {
            Outbound::Capacity { report, .. } => self.courier.dispatch(
                what,
                move || {
                    let (mut client, report, me) = (central.clone(), report.clone(), me.clone());
                    async move {
                        client
                            .report_capacity(request_from(&me, report))
                            .await
                            .map(drop)
                    }
                },
                on_done,
            ),
            Outbound::Acknowledgement(ack) => self.courier.dispatch(
                what,
                move || {
                    let (mut client, ack, me) = (central.clone(), ack.clone(), me.clone());
                    async move {
                        client
                            .acknowledge_assignment(request_from(&me, ack))
                            .await
                            .map(drop)
                    }
                },
                on_done,
            ),
            Outbound::Report { mut report, .. } => {
                report.messages_received = self.shared.counters.snapshot().into_iter().collect();
                self.courier.dispatch(
                    what,
                    move || {
                        let (mut client, report, me) =
                            (central.clone(), report.clone(), me.clone());
                        async move {
                            client
                                .submit_report(request_from(&me, report))
                                .await
                                .map(drop)
                        }
                    },
                    on_done,
                )
            }
            Outbound::Shipment { shipment, .. } => {
                let city = RecipientCityClient::new(channel);
                self.courier.dispatch(
                    what,
                    move || {
                        let (mut client, shipment, me) =
                            (city.clone(), shipment.clone(), me.clone());
                        async move {
                            client
                                .deliver_shipment(request_from(&me, shipment))
                                .await
                                .map(drop)
                        }
                    },
                    on_done,
                )
            }
        }
    }

    /// The cached channel to `destination`, made on first use.
    fn channel(&mut self, destination: &Destination) -> Result<Channel, Status> {
        let endpoint = match destination {
            Destination::Central => &self.central_endpoint,
            Destination::City { endpoint } => endpoint,
        };
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        if self.channels.len() >= MAX_CHANNELS {
            // Only a faulty central hands out this many endpoints; start over
            // rather than grow.
            self.channels.clear();
        }
        let made = self.dialer.channel(endpoint)?;
        self.channels.insert(endpoint.clone(), made.clone());
        Ok(made)
    }
}
