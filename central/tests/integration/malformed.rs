//! Random and malformed messages against every RPC of the central
//! authority's gRPC adapter, on an authority in the middle of a run (every
//! node registered, capacity reported, north and south paired, one
//! assignment acknowledged). Each call must answer Ok or refuse with an
//! expected code and a message naming a field, must not panic, and a
//! refusal must leave the authority exactly as it was.

use std::future::Future;
use std::sync::Arc;

use node_kit::durable::Durable;

use central::authority::{Authority, Now};
use central::service::CentralService;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::Scenario;
use node_kit::arbitrary::{self, check_refusal};
use node_kit::service::Machine;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tonic::{Request, Response, Status};

/// Cases per property: enough to reach every refusal, few enough for a
/// two-core machine.
const CASES: u32 = 96;

use crate::common;

fn small() -> Arc<Scenario> {
    common::scenario("small")
}

fn header(node: &str, id: &str) -> Option<MessageHeader> {
    common::header(node, &format!("setup-{id}"))
}

struct Fixture {
    authority: Arc<Durable<Authority>>,
    service: CentralService,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn call<R>(
        &self,
        call: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<R, Status> {
        self.runtime.block_on(call).map(Response::into_inner)
    }

    fn snapshot(&self) -> String {
        format!("{:?}", *self.authority.read())
    }

    /// Runs `call`, then checks the answer and, on a refusal, that nothing
    /// changed.
    fn check<R>(
        &self,
        call: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<(), TestCaseError> {
        let before = self.snapshot();
        if let Err(status) = self.call(call) {
            if let Err(wrong) = check_refusal(&status) {
                return Err(TestCaseError::fail(wrong));
            }
            prop_assert!(
                before == self.snapshot(),
                "a refusal changed state: {:?}",
                status.code()
            );
        }
        Ok(())
    }
}

/// Central mid-run, driven through the adapter at real time (a scenario
/// day is a wall day, so the scenario stays near its start).
fn mid_run() -> Fixture {
    let s = small();
    let common::Served {
        authority,
        service,
        runtime,
    } = common::served(s.clone());
    let f = Fixture {
        authority,
        service,
        runtime,
    };
    for p in &s.provinces {
        let m = CapacityReport {
            header: header(&p.id, "cap"),
            pools: common::pools_of(p),
            outbreak_level: 0,
        };
        f.call(f.service.report_capacity(Request::new(m))).unwrap();
    }
    for city in ["north", "south"] {
        let m = AssistanceRequest {
            header: header(city, "ask"),
            situation: Some(Situation {
                confirmed_total: 2_000,
                active_cases: 1_800,
                severe: 100,
                critical: 40,
                beds: 100,
                local_doctors: 10,
                local_nurses: 20,
                ..Default::default()
            }),
            needs: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: 400,
            }],
        };
        f.call(f.service.request_assistance(Request::new(m)))
            .unwrap();
    }
    // Past the decision window: north and south are paired.
    {
        let mut a = f.authority.lock();
        let now = a.now();
        a.on_tick(Now {
            scenario: ScenarioTime(now.scenario.0 + 4 * 86_400_000),
            unix_ms: now.unix_ms,
        });
    }
    let m = AssignmentAcknowledgement {
        header: header("alpha", "ack"),
        assignment_id: "asg-case-north-1-alpha".into(),
        kind: AcknowledgementKind::Accepted as i32,
        constraints: vec![],
    };
    f.call(f.service.acknowledge_assignment(Request::new(m)))
        .unwrap();
    f
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn register(ms in vec(arbitrary::register_node(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.register(Request::new(m)))?;
        }
    }

    #[test]
    fn report_capacity(ms in vec(arbitrary::capacity_report(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.report_capacity(Request::new(m)))?;
        }
    }

    #[test]
    fn request_assistance(ms in vec(arbitrary::assistance_request(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.request_assistance(Request::new(m)))?;
        }
    }

    #[test]
    fn acknowledge_assignment(ms in vec(arbitrary::acknowledgement(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.acknowledge_assignment(Request::new(m)))?;
        }
    }

    #[test]
    fn submit_report(ms in vec(arbitrary::supervisory_report(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.submit_report(Request::new(m)))?;
        }
    }

    #[test]
    fn request_demobilisation(ms in vec(arbitrary::demobilisation_request(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.request_demobilisation(Request::new(m)))?;
        }
    }
}

/// The operator queries take no input: they answer, even mid-run.
#[test]
fn operator_queries_answer() {
    let f = mid_run();
    f.call(f.service.get_status(Request::new(StatusQuery {})))
        .unwrap();
    f.call(f.service.list_pairings(Request::new(PairingsQuery {})))
        .unwrap();
    let ledger = f
        .call(f.service.get_ledger(Request::new(LedgerQuery {})))
        .unwrap();
    assert!(
        !ledger.lines.is_empty(),
        "mid-run has targets in the ledger"
    );
    f.call(f.service.get_report(Request::new(ReportQuery {})))
        .unwrap();
}
