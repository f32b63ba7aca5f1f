//! Random and malformed messages against every RPC of the donor province,
//! on a donor in the middle of a run (clock started, assigned to north,
//! shipments under way): through the gRPC adapter for the unary RPCs, and
//! through the machine's handler for the updates of the `NegotiatePlan`
//! stream. Each must answer Ok or refuse with an expected code and a
//! message naming a field, must not panic, and a refusal must leave the
//! donor exactly as it was.

use std::future::Future;
use std::sync::Arc;

use counterpart_domain::clock::{unix_now_ms, ScenarioTime, DAY_MS};
use counterpart_domain::scenario::{self, Scenario};
use counterpart_protocol::RoundOutcome;
use node_kit::arbitrary::{self, check_refusal};
use pairing_proto::v1::donor_province_server::DonorProvince;
use pairing_proto::v1::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use province_node::donor::Donor;
use province_node::service::{scenario_now, ProvinceService, SharedDonor};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// Cases per property: enough to reach every refusal, few enough for a
/// two-core machine.
const CASES: u32 = 96;

fn small() -> Arc<Scenario> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/small.toml"
    );
    Arc::new(scenario::load(std::path::Path::new(path)).expect("small scenario loads"))
}

fn from_central(id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: format!("central-setup-{id}"),
        sender_id: "central".into(),
        scenario_time_ms: 0,
    })
}

struct Fixture {
    shared: Arc<SharedDonor>,
    service: ProvinceService,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn snapshot(&self) -> String {
        format!("{:?}", *self.shared.lock())
    }

    fn judge<R>(&self, before: String, answer: Result<R, Status>) -> Result<(), TestCaseError> {
        if let Err(status) = answer {
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

    fn check<R>(
        &self,
        call: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<(), TestCaseError> {
        let before = self.snapshot();
        let answer = self.runtime.block_on(call);
        self.judge(before, answer)
    }
}

/// alpha, assigned to north's case, a few scenario days in: its first
/// shipments have left. The clock runs at real speed from a day ago... in
/// scenario days, so the adapter's "now" is mid-run.
fn mid_run() -> Fixture {
    let s = small();
    let headers = Arc::new(node_kit::header::this_life("alpha"));
    let mut donor = Donor::new(s.clone(), "alpha", headers).unwrap();
    // Scenario day 3 is now: the epoch was three wall days ago.
    let clock = ScenarioClock {
        epoch_unix_ms: unix_now_ms() - 3 * DAY_MS,
        day_ms: DAY_MS,
        start_date: "2020-02-07".into(),
        ..Default::default()
    };
    donor
        .on_clock_start(&ClockStart {
            header: from_central("clock"),
            clock: Some(clock),
        })
        .unwrap();
    let assignment = Assignment {
        header: from_central("asg"),
        assignment_id: "asg-case-north-1-alpha".into(),
        case_id: "case-north-1".into(),
        recipient_city_id: "north".into(),
        recipient_endpoint: "http://north.test:1".into(),
        objectives: vec![],
        targets: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: 40,
        }],
        reason: "historical".into(),
    };
    donor.on_assignment(&assignment, ScenarioTime(0)).unwrap();
    for hour in 0..72 {
        let now = ScenarioTime(hour * DAY_MS / 24);
        for out in donor.on_tick(now) {
            donor.on_sent(&out.key(), RoundOutcome::Accepted, now);
        }
    }
    assert!(
        donor.assignments().any(|a| !a.shipments.is_empty()),
        "a shipment has left by day 3"
    );
    let shared = Arc::new(SharedDonor::new(node_kit::durable::Durable::in_memory(
        donor,
    )));
    let service = ProvinceService::new(shared.clone(), CancellationToken::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    Fixture {
        shared,
        service,
        runtime,
    }
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
    fn start_clock(ms in vec(arbitrary::clock_start(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.start_clock(Request::new(m)))?;
        }
    }

    #[test]
    fn assign(ms in vec(arbitrary::assignment(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.assign(Request::new(m)))?;
        }
    }

    #[test]
    fn evaluate(ms in vec(arbitrary::evaluation(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.evaluate(Request::new(m)))?;
        }
    }

    #[test]
    fn adjust(ms in vec(arbitrary::adjustment(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.adjust(Request::new(m)))?;
        }
    }

    #[test]
    fn demobilise(ms in vec(arbitrary::demobilisation_order(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.demobilise(Request::new(m)))?;
        }
    }

    #[test]
    fn confirm_receipt(ms in vec(arbitrary::receipt(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.confirm_receipt(Request::new(m)))?;
        }
    }

    /// Each update of a `NegotiatePlan` stream goes to this handler.
    #[test]
    fn negotiate_plan_updates(ms in vec(arbitrary::needs_update(), 1..5)) {
        let f = mid_run();
        for m in ms {
            let before = f.snapshot();
            let answer = {
                let mut donor = f.shared.lock();
                let now = scenario_now(&donor);
                // As the service answers it: a refusal as its status.
                donor.on_needs_update(&m, now).map_err(node_kit::edge::status)
            };
            f.judge(before, answer)?;
        }
    }
}
