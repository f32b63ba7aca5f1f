//! The driver: runs the authority's tick (node-kit's one loop,
//! [`run_ticks`], on central's fixed interval) and carries what it returns
//! to the provinces and cities, each send with a deadline and bounded
//! retries. What stays here is central's own: its messages' spans and the
//! clients that carry them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use node_kit::client;
use node_kit::courier::Courier;
use node_kit::driver::{run_ticks, Pace};
use node_kit::durable::Durable;
use node_kit::service::Machine;
use node_kit::tls::Role;
use node_kit::trace::{self, key, CaseTraces};
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use pairing_proto::v1::EvaluationKind;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;
use tracing::Span;

use crate::authority::outbound::{Message, Outbound, ToCity, ToProvince};
use crate::authority::{Authority, CENTRAL_ID};
use crate::lockstep::Stepper;

pub struct Driver {
    authority: Arc<Durable<Authority>>,
    traces: Arc<CaseTraces>,
    courier: Courier,
    channels: HashMap<String, Channel>,
    tick: Duration,
    /// Plain TCP, or TLS with central's certificate.
    dialer: client::Dialer,
}

impl Driver {
    pub fn new(
        authority: Arc<Durable<Authority>>,
        traces: Arc<CaseTraces>,
        shutdown: CancellationToken,
        tick: Duration,
    ) -> Self {
        Driver {
            authority,
            traces,
            courier: Courier::new(shutdown),
            channels: HashMap::new(),
            tick,
            dialer: client::Dialer::default(),
        }
    }

    /// The same driver, connecting to the nodes through `dialer`.
    pub fn with_dialer(mut self, dialer: client::Dialer) -> Self {
        self.dialer = dialer;
        self
    }

    /// Ticks until `shutdown` is cancelled. What a tick decided is on disk
    /// before anyone hears of it: a restarted central never contradicts
    /// what it already sent.
    ///
    /// On the lockstep clock central does not tick by the wall: its
    /// [`Stepper`] grants each step and ticks central within it.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let authority = self.authority.clone();
        let lockstep = {
            let authority = authority.read();
            let planned = authority.clock_plan().step_minutes.is_some();
            authority.clock().map_or(planned, |c| c.is_lockstep())
        };
        if lockstep {
            return Stepper::new(self, shutdown).run().await;
        }
        let courier = self.courier.clone();
        run_ticks(
            &authority,
            Pace::Every(self.tick),
            &shutdown,
            &courier,
            |authority| Some(authority.on_tick(authority.now())),
            |message| self.dispatch(message),
        )
        .await;
    }

    /// Central's part of a lockstep step: its tick at the granted time,
    /// each message delivered and its outcome fed back before the next
    /// goes. Returns how many messages went out.
    pub async fn act(&mut self) -> u32 {
        self.courier.keep_order(true);
        let authority = self.authority.clone();
        let sent = node_kit::driver::step(
            &authority,
            &mut |authority| Some(authority.on_tick(authority.now())),
            &mut |message| self.dispatch(message),
            || false,
        )
        .await;
        self.courier.drained().await;
        sent
    }

    pub fn authority(&self) -> &Arc<Durable<Authority>> {
        &self.authority
    }

    pub fn dialer(&self) -> &client::Dialer {
        &self.dialer
    }

    fn dispatch(&mut self, outbound: Outbound) {
        let channel = match self.channel(&outbound.endpoint) {
            Ok(channel) => channel,
            Err(status) => {
                tracing::error!(to = %outbound.to, %status, "bad endpoint; message dropped");
                return;
            }
        };
        let what = format!("{} to {}", outbound.kind().message, outbound.to);
        let authority = self.authority.clone();
        let message = outbound.message.clone();
        // The courier sends inside the current span: the message carries it.
        let span = self.span_for(&outbound);
        let _entered = span.enter();
        let sent_in = span.clone();
        self.courier.dispatch(
            what,
            move || deliver(channel.clone(), message.clone()),
            move |outcome| {
                if let Err(status) = &outcome {
                    trace::fail(&sent_in, status.message());
                }
                // Classified here, the one place a status is read; what a
                // refusal means to central is the authority's to say.
                let round = node_kit::retry::round_outcome(&outcome);
                let mut authority = authority.lock();
                let now = authority.now().scenario;
                authority.on_sent(outbound, round, now);
            },
        );
    }

    /// The sender's span for `outbound`: in its case's trace, named after
    /// what central does, annotated with the recipient and the quantities.
    fn span_for(&self, outbound: &Outbound) -> Span {
        let kind = outbound.kind();
        let name = kind.client_span(Role::Central).expect("central sends it");
        let stage = kind.stage;
        let span = match outbound.case_id() {
            Some(case_id) => self.traces.client_span(name, stage, case_id),
            None => trace::client_span(name, stage, None),
        };
        let role_key = match outbound.message {
            Message::Province(_) => key::PROVINCE,
            Message::City(_) => key::CITY,
        };
        trace::annotate(&span, role_key, &outbound.to);
        match &outbound.message {
            Message::Province(ToProvince::Assignment(m)) => {
                trace::annotate(&span, key::ASSIGNMENT_ID, &m.assignment_id);
                trace::annotate(&span, key::CITY, &m.recipient_city_id);
                trace::quantities(&span, &m.targets);
            }
            Message::Province(ToProvince::Evaluation(m)) => {
                trace::annotate(&span, key::ASSIGNMENT_ID, &m.assignment_id);
                if m.kind != EvaluationKind::Commendation as i32 {
                    // A warning or an accountability is a penalty.
                    trace::fail(&span, &m.reason);
                }
            }
            Message::Province(ToProvince::Adjustment(m)) => {
                trace::annotate(&span, key::ASSIGNMENT_ID, &m.assignment_id);
                trace::quantities(&span, &m.new_targets);
            }
            Message::Province(ToProvince::Mediation(m)) | Message::City(ToCity::Mediation(m)) => {
                trace::annotate(&span, key::ASSIGNMENT_ID, &m.assignment_id);
                trace::annotate(&span, key::DISPUTE_ID, &m.dispute_id);
                trace::annotate(&span, key::RULING, m.ruling().as_str_name());
            }
            Message::City(ToCity::Decision(m))
                if m.assessment.as_ref().is_some_and(|a| !a.accepted) =>
            {
                trace::fail(&span, "request rejected");
            }
            _ => {}
        }
        span
    }

    fn channel(&mut self, endpoint: &str) -> Result<Channel, Status> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = self.dialer.channel(endpoint)?;
        self.channels.insert(endpoint.to_string(), channel.clone());
        Ok(channel)
    }
}

/// One attempt at delivering `message`.
async fn deliver(channel: Channel, message: Message) -> Result<(), Status> {
    match message {
        Message::Province(m) => {
            let mut c = DonorProvinceClient::new(channel);
            match m {
                ToProvince::ClockStart(m) => c
                    .start_clock(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToProvince::Assignment(m) => c
                    .assign(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToProvince::Evaluation(m) => c
                    .evaluate(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToProvince::Adjustment(m) => c
                    .adjust(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToProvince::Demobilisation(m) => c
                    .demobilise(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToProvince::Mediation(m) => c
                    .mediate(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
            }
        }
        Message::City(m) => {
            let mut c = RecipientCityClient::new(channel);
            match m {
                ToCity::ClockStart(m) => c
                    .start_clock(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToCity::Decision(m) => c
                    .notify_decision(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToCity::Closure(m) => c
                    .close_case(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
                ToCity::Mediation(m) => c
                    .mediate(client::request_from(CENTRAL_ID, m))
                    .await
                    .map(drop),
            }
        }
    }
}
