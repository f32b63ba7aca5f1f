//! Random and malformed messages against every RPC of the recipient city,
//! through its gRPC adapter, on a city with an open case and a shipment
//! received. Each call must answer Ok or refuse with an expected code and a
//! message naming a field, must not panic, and a refusal must leave the
//! city exactly as it was.

use std::future::Future;
use std::sync::Arc;

use node_kit::durable::Durable;

use node_kit::arbitrary::{self, check_refusal};
use node_kit::counters::MessageCounters;
use pairing_proto::v1::recipient_city_server::RecipientCity;
use pairing_proto::v1::{CaseClosure, CaseDecision, MessageHeader, Shipment};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tonic::{Request, Response, Status};

use crate::recipient::Recipient;
use crate::service::CityService;
use crate::spans::CityTraces;
use crate::testing::{hours, line, open_case, shipment, started, CASE, CITY};

/// Cases per property: enough to reach every refusal, few enough for a
/// two-core machine.
const CASES: u32 = 96;

struct Fixture {
    machine: Arc<Durable<Recipient>>,
    service: CityService,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn snapshot(&self) -> String {
        format!("{:?}", *self.machine.read())
    }

    fn check<R>(
        &self,
        call: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<(), TestCaseError> {
        let before = self.snapshot();
        if let Err(status) = self.runtime.block_on(call) {
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

fn mid_run() -> Fixture {
    let mut m = started();
    let h = open_case(&mut m);
    m.on_shipment(
        &shipment("shp-m-1", "jiangsu", 1, vec![line("personnel/doctor", 10)]),
        hours(h + 12),
    )
    .unwrap();
    let machine = Arc::new(Durable::in_memory(m));
    let service = CityService::new(
        machine.clone(),
        Arc::new(MessageCounters::default()),
        Arc::new(CityTraces::new(CITY)),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    Fixture {
        machine,
        service,
        runtime,
    }
}

/// Half the time, aims `header` and `case_id` at this city's case, so the
/// checks past the sender's and the case's get exercised too.
fn aimed(header: &mut Option<MessageHeader>, case_id: &mut String, sender: &str, aim: bool) {
    if aim {
        *case_id = CASE.into();
        if let Some(h) = header {
            h.sender_id = sender.into();
        }
    }
}

fn decisions() -> impl Strategy<Value = CaseDecision> {
    (arbitrary::case_decision(), any::<bool>()).prop_map(|(mut m, aim)| {
        aimed(&mut m.header, &mut m.case_id, "central", aim);
        m
    })
}

fn closures() -> impl Strategy<Value = CaseClosure> {
    (arbitrary::case_closure(), any::<bool>()).prop_map(|(mut m, aim)| {
        aimed(&mut m.header, &mut m.case_id, "central", aim);
        m
    })
}

fn shipments() -> impl Strategy<Value = Shipment> {
    (arbitrary::shipment(), any::<bool>()).prop_map(|(mut m, aim)| {
        aimed(&mut m.header, &mut m.case_id, "jiangsu", aim);
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn start_clock(ms in vec(arbitrary::clock_start(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.start_clock(Request::new(m)))?;
        }
    }

    #[test]
    fn notify_decision(ms in vec(decisions(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.notify_decision(Request::new(m)))?;
        }
    }

    #[test]
    fn close_case(ms in vec(closures(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.close_case(Request::new(m)))?;
        }
    }

    #[test]
    fn deliver_shipment(ms in vec(shipments(), 1..5)) {
        let f = mid_run();
        for m in ms {
            f.check(f.service.deliver_shipment(Request::new(m)))?;
        }
    }
}

#[test]
fn another_sender_reusing_a_message_id_suppresses_nothing() {
    let mut m = started();
    let h = open_case(&mut m);
    // A donor's shipment happens to carry the id of central's closure.
    let mut s = shipment(
        "central-close-1",
        "jiangsu",
        1,
        vec![line("personnel/doctor", 10)],
    );
    s.header.as_mut().unwrap().message_id = "central-close-1".into();
    m.on_shipment(&s, hours(h + 12)).unwrap();
    let closure = CaseClosure {
        header: crate::testing::header("central-close-1", "central"),
        case_id: CASE.into(),
        closed_at_ms: hours(h + 24).0,
    };
    let ack = m.on_closure(&closure).unwrap();
    assert!(!ack.duplicate, "central's closure was taken for a resend");
    assert_eq!(m.open_case_id(), None, "the case closed");
}
