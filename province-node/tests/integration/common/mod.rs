//! Fixtures for the in-process tests: a small scenario, a fake central and
//! a fake city that record what the province sends them.
#![allow(dead_code)] // each test file uses part of it

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use counterpart_domain::clock::unix_now_ms;
use counterpart_domain::scenario::{
    City, CurvePoint, PairingMode, Prefecture, Province, Rules, Scenario,
};
use pairing_proto::resource::ResourceType::{self, *};
use pairing_proto::v1::central_authority_server::{CentralAuthority, CentralAuthorityServer};
use pairing_proto::v1::recipient_city_server::{RecipientCity, RecipientCityServer};
use pairing_proto::v1::*;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// Wall milliseconds per scenario day in these tests.
pub const DAY_MS: i64 = 200;

fn date(d: &str) -> NaiveDate {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
}

fn city(id: &str) -> City {
    City {
        id: id.into(),
        name: id.into(),
        name_zh: String::new(),
        population_millions: 2.5,
        beds: 1000,
        local_doctors: 300,
        local_nurses: 600,
        final_deaths: None,
        historical_donors: vec!["jiangsu".into()],
        curve: vec![CurvePoint {
            date: date("2020-02-07"),
            confirmed: 800,
            source: None,
        }],
        location: None,
        estimated: vec![],
    }
}

/// Jiangsu with two prefectures; mobilisation 1 day, a shipment every
/// 2 days, transit half a day, a report every day.
pub fn scenario() -> Arc<Scenario> {
    let prefecture = |name: &str, pool: &[(ResourceType, i64)]| Prefecture {
        name: name.into(),
        pool: pool.iter().copied().collect(),
    };
    Arc::new(Scenario {
        name: "test".into(),
        description: String::new(),
        start_date: date("2020-02-07"),
        end_date: date("2020-04-30"),
        rules: Rules {
            pairing_mode: PairingMode::Historical,
            decision_window_days: 3.0,
            report_interval_days: 1.0,
            evaluation_interval_days: 3.0,
            quiet_days_to_demobilise: 14,
            max_outbreak_level: 2,
            intensity_cap: 1.5,
            supervision: true,
            recovery_days: 14.0,
            severe_fraction: 0.15,
            critical_fraction: 0.05,
            request_threshold: 0.8,
            transit_days: 0.5,
            transit_loss_rate: 0.01,
            mobilisation_days: 1.0,
            shipment_interval_days: 2.0,
        },
        needs_per_active_case: BTreeMap::from([(Doctor, 0.25)]),
        unit_cost_cny: BTreeMap::from([(Doctor, 1000), (MaskN95, 5)]),
        cities: vec![city("huangshi"), city("shiyan")],
        provinces: vec![Province {
            id: "jiangsu".into(),
            name: "Jiangsu".into(),
            outbreak_level: 0,
            outbreak_events: vec![],
            prefectures: vec![
                prefecture("nanjing", &[(Doctor, 60), (MaskN95, 1000)]),
                prefecture("wuxi", &[(Doctor, 50)]),
            ],
            location: None,
            estimated: vec![],
        }],
    })
}

pub fn header(sender: &str, message_id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: message_id.into(),
        sender_id: sender.into(),
        scenario_time_ms: 0,
    })
}

pub fn clock() -> ScenarioClock {
    ScenarioClock {
        epoch_unix_ms: unix_now_ms(),
        day_ms: DAY_MS,
        start_date: "2020-02-07".into(),
        ..Default::default()
    }
}

/// What central received from the province.
#[derive(Debug, Default)]
pub struct CentralInbox {
    pub registrations: Vec<RegisterNode>,
    pub capacity: Vec<CapacityReport>,
    pub acknowledgements: Vec<AssignmentAcknowledgement>,
    pub reports: Vec<SupervisoryReport>,
    /// The `traceparent` of each message, by kind ("" when absent).
    pub traceparents: Vec<(&'static str, String)>,
}

/// The `traceparent` a request carries, "" when none.
pub fn traceparent<T>(r: &Request<T>) -> String {
    r.metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A central that accepts everything and records it; it hands out
/// `clock` on registration when set.
#[derive(Debug, Clone)]
pub struct FakeCentral {
    pub inbox: Arc<Mutex<CentralInbox>>,
    pub clock: Option<ScenarioClock>,
}

fn ack() -> Result<Response<Ack>, Status> {
    Ok(Response::new(Ack { duplicate: false }))
}

#[tonic::async_trait]
impl CentralAuthority for FakeCentral {
    async fn register(&self, r: Request<RegisterNode>) -> Result<Response<Registration>, Status> {
        let mut inbox = self.inbox.lock().unwrap();
        inbox.traceparents.push(("RegisterNode", traceparent(&r)));
        inbox.registrations.push(r.into_inner());
        Ok(Response::new(Registration {
            scenario: "test".into(),
            clock: self.clock.clone(),
            ..Default::default()
        }))
    }
    async fn report_capacity(&self, r: Request<CapacityReport>) -> Result<Response<Ack>, Status> {
        let mut inbox = self.inbox.lock().unwrap();
        inbox.traceparents.push(("CapacityReport", traceparent(&r)));
        inbox.capacity.push(r.into_inner());
        ack()
    }
    async fn request_assistance(
        &self,
        _: Request<AssistanceRequest>,
    ) -> Result<Response<AssistanceRequestAck>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn acknowledge_assignment(
        &self,
        r: Request<AssignmentAcknowledgement>,
    ) -> Result<Response<Ack>, Status> {
        let mut inbox = self.inbox.lock().unwrap();
        inbox
            .traceparents
            .push(("AssignmentAcknowledgement", traceparent(&r)));
        inbox.acknowledgements.push(r.into_inner());
        ack()
    }
    async fn submit_report(&self, r: Request<SupervisoryReport>) -> Result<Response<Ack>, Status> {
        let mut inbox = self.inbox.lock().unwrap();
        inbox
            .traceparents
            .push(("SupervisoryReport", traceparent(&r)));
        inbox.reports.push(r.into_inner());
        ack()
    }
    async fn request_demobilisation(
        &self,
        _: Request<DemobilisationRequest>,
    ) -> Result<Response<Ack>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn raise_dispute(&self, _: Request<Dispute>) -> Result<Response<Ack>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn get_status(&self, _: Request<StatusQuery>) -> Result<Response<ClusterStatus>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_pairings(
        &self,
        _: Request<PairingsQuery>,
    ) -> Result<Response<PairingTable>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn get_ledger(&self, _: Request<LedgerQuery>) -> Result<Response<Ledger>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn get_report(&self, _: Request<ReportQuery>) -> Result<Response<RunReport>, Status> {
        Err(Status::unimplemented("fake"))
    }
    type WatchOperationStream = tokio_stream::Empty<Result<OperationUpdate, Status>>;
    async fn watch_operation(
        &self,
        _: Request<WatchQuery>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

/// A city that accepts every shipment and records it.
#[derive(Debug, Clone, Default)]
pub struct FakeCity {
    pub shipments: Arc<Mutex<Vec<Shipment>>>,
    /// The `traceparent` of each shipment, in order ("" when absent).
    pub traceparents: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl RecipientCity for FakeCity {
    async fn advance(&self, _: Request<StepGrant>) -> Result<Response<StepDone>, Status> {
        Err(Status::unimplemented("a fake city takes no steps"))
    }
    async fn start_clock(&self, _: Request<ClockStart>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn notify_decision(&self, _: Request<CaseDecision>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn close_case(&self, _: Request<CaseClosure>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn deliver_shipment(&self, r: Request<Shipment>) -> Result<Response<Ack>, Status> {
        self.traceparents.lock().unwrap().push(traceparent(&r));
        self.shipments.lock().unwrap().push(r.into_inner());
        ack()
    }
    async fn mediate(&self, _: Request<Mediation>) -> Result<Response<Ack>, Status> {
        ack()
    }
    async fn get_books(&self, _: Request<BooksQuery>) -> Result<Response<Books>, Status> {
        Err(Status::unimplemented("the fake city keeps no books"))
    }
}

/// Serves `central` on a free port; returns its endpoint.
/// Jiangsu started for real against a fake central that hands out `clock`
/// on registration (`None`: the clock has not started).
pub async fn start_jiangsu(
    clock: Option<ScenarioClock>,
) -> (node_kit::server::RunningNode, FakeCentral) {
    let central = FakeCentral {
        inbox: Arc::new(Mutex::new(CentralInbox::default())),
        clock,
    };
    let node = province_node::start(province_node::ProvinceConfig {
        scenario: scenario(),
        province_id: "jiangsu".into(),
        central_endpoint: serve_central(central.clone()).await,
        listen_addr: "127.0.0.1:0".into(),
        advertise: None,
        tls: None,
        data_dir: None,
        durability: Default::default(),
        faults: None,
    })
    .await
    .unwrap();
    (node, central)
}

pub async fn serve_central(central: FakeCentral) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(CentralAuthorityServer::new(central))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

/// Serves `city` on a free port; returns its endpoint.
pub async fn serve_city(city: FakeCity) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RecipientCityServer::new(city))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

/// Polls `check` until it returns something, for at most 10 seconds.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..1000 {
        if let Some(found) = check() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
