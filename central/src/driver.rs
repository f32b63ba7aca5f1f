//! The driver: runs the authority's tick and carries what it returns to the
//! provinces and cities, each send with a deadline and bounded retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use node_kit::client;
use node_kit::courier::Courier;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::recipient_city_client::RecipientCityClient;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;

use crate::authority::outbound::{Message, Outbound, ToCity, ToProvince};
use crate::authority::Authority;
use crate::service::now_for;

pub struct Driver {
    authority: Arc<Mutex<Authority>>,
    courier: Courier,
    channels: HashMap<String, Channel>,
    tick: Duration,
}

impl Driver {
    pub fn new(
        authority: Arc<Mutex<Authority>>,
        shutdown: CancellationToken,
        tick: Duration,
    ) -> Self {
        Driver {
            authority,
            courier: Courier::new(shutdown),
            channels: HashMap::new(),
            tick,
        }
    }

    /// Ticks until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            let outbound = {
                let Ok(mut authority) = self.authority.lock() else {
                    return;
                };
                let now = now_for(&authority);
                authority.on_tick(now)
            };
            for message in outbound {
                self.dispatch(message);
            }
        }
    }

    fn dispatch(&mut self, outbound: Outbound) {
        let channel = match self.channel(&outbound.endpoint) {
            Ok(channel) => channel,
            Err(status) => {
                tracing::error!(to = %outbound.to, %status, "bad endpoint; message dropped");
                return;
            }
        };
        let what = format!("{} to {}", outbound.kind(), outbound.to);
        let authority = self.authority.clone();
        let message = outbound.message.clone();
        self.courier.dispatch(
            what,
            move || deliver(channel.clone(), message.clone()),
            move |outcome| {
                let Ok(mut authority) = authority.lock() else {
                    return;
                };
                let now = now_for(&authority).scenario;
                authority.on_sent(outbound, outcome, now);
            },
        );
    }

    fn channel(&mut self, endpoint: &str) -> Result<Channel, Status> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = client::channel(endpoint)?;
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
                ToProvince::ClockStart(m) => c.start_clock(client::request(m)).await.map(drop),
                ToProvince::Assignment(m) => c.assign(client::request(m)).await.map(drop),
                ToProvince::Evaluation(m) => c.evaluate(client::request(m)).await.map(drop),
                ToProvince::Adjustment(m) => c.adjust(client::request(m)).await.map(drop),
                ToProvince::Demobilisation(m) => c.demobilise(client::request(m)).await.map(drop),
            }
        }
        Message::City(m) => {
            let mut c = RecipientCityClient::new(channel);
            match m {
                ToCity::ClockStart(m) => c.start_clock(client::request(m)).await.map(drop),
                ToCity::Decision(m) => c.notify_decision(client::request(m)).await.map(drop),
                ToCity::Closure(m) => c.close_case(client::request(m)).await.map(drop),
            }
        }
    }
}
