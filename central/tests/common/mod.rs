//! What central's integration tests share: the scenarios they run and the
//! messages they build the same way.

#![allow(dead_code)] // each test binary uses its own share

use std::sync::Arc;

use central::authority::Authority;
use central::service::CentralService;
use counterpart_domain::scenario::{self, Province, Scenario};
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::{Contribution, MessageHeader, RegisterNode, ResourcePool, Role, Situation};

/// The boot stamp of the authorities the tests make (a restored one is
/// given another, as a restarted central would be).
pub const BOOT: i64 = 1_700_000_000_000;

/// A scenario of deploy/scenarios by name ("small", "hubei-2020").
pub fn scenario(name: &str) -> Arc<Scenario> {
    let path = format!(
        "{}/../deploy/scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(scenario::load(std::path::Path::new(&path)).expect("the scenario loads"))
}

/// A header with message id `{node}-{id}` at scenario time 0.
pub fn header(node: &str, id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: format!("{node}-{id}"),
        sender_id: node.into(),
        scenario_time_ms: 0,
    })
}

/// The province's whole pool as a capacity report lists it.
pub fn pools_of(province: &Province) -> Vec<ResourcePool> {
    province
        .total_pool()
        .into_iter()
        .map(|(t, q)| ResourcePool {
            resource_type: t.as_str().into(),
            quantity: q,
            contributions: vec![Contribution {
                prefecture: "all".into(),
                quantity: q,
            }],
        })
        .collect()
}

/// A city well beyond its own capacity.
pub fn overwhelmed() -> Situation {
    Situation {
        confirmed_total: 20_000,
        active_cases: 18_000,
        severe: 3_000,
        critical: 900,
        beds: 1_000,
        local_doctors: 100,
        local_nurses: 200,
        ..Default::default()
    }
}

/// Central's service on an in-memory authority, with a runtime to drive
/// it from a plain test: what the adapter-level tests share.
pub struct Served {
    pub authority: Arc<Durable<Authority>>,
    pub service: CentralService,
    pub runtime: tokio::runtime::Runtime,
}

/// Central on `scenario` at a wall day per scenario day (so the scenario
/// stays near its start), every node of the scenario registered.
pub fn served(scenario: Arc<Scenario>) -> Served {
    let authority = Arc::new(Durable::in_memory(Authority::new(
        scenario.clone(),
        86_400_000,
        None,
        BOOT,
    )));
    let service = CentralService::new(
        authority.clone(),
        Arc::new(MessageCounters::default()),
        Arc::new(CaseTraces::default()),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a test runtime");
    let provinces = (scenario.provinces.iter()).map(|p| (p.id.clone(), Role::Province));
    let cities = (scenario.cities.iter()).map(|c| (c.id.clone(), Role::City));
    for (id, role) in provinces.chain(cities) {
        let m = RegisterNode {
            header: header(&id, "reg"),
            role: role as i32,
            endpoint: format!("http://{id}.test:1"),
            ..Default::default()
        };
        (runtime.block_on(service.register(tonic::Request::new(m)))).expect("registers");
    }
    Served {
        authority,
        service,
        runtime,
    }
}
