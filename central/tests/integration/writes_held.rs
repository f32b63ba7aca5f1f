//! Central with its disk stalled: every write held until the test lets it
//! go. A message that changes state is not answered before its change is
//! on disk; everything that needs no save (a resend, a refusal, an operator
//! query, a tick with nothing due) still answers meanwhile. Before the
//! journal, the save ran under the machine's lock, so a slow save stalled
//! them all.

use std::sync::Arc;

use central::authority::Authority;
use central::service::CentralService;
use counterpart_domain::scenario::Scenario;
use node_kit::counters::MessageCounters;
use node_kit::durable::{self, Durability, Durable};
use node_kit::service::Machine;
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::*;
use tonic::{Code, Request};

use crate::common;

use crate::common::{header, BOOT};

fn small() -> Arc<Scenario> {
    common::scenario("small")
}

fn city_report(id: &str) -> SupervisoryReport {
    SupervisoryReport {
        header: header("north", id),
        case_id: "case-north-1".into(),
        situation: Some(Situation {
            confirmed_total: 2_000,
            active_cases: 1_800,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Central durable in `dir`, every node registered, north's case open.
async fn central_with_a_case(dir: &std::path::Path) -> (Arc<Durable<Authority>>, CentralService) {
    let s = small();
    let authority = durable::open(
        Some(dir),
        Durability::Normal,
        "central",
        &s.name,
        || Ok(Authority::new(s.clone(), 86_400_000, None, BOOT)),
        |records| Authority::restore(s.clone(), records, BOOT + 1),
    )
    .unwrap();
    let authority = Arc::new(authority);
    let service = CentralService::new(
        authority.clone(),
        Arc::new(MessageCounters::default()),
        Arc::new(CaseTraces::default()),
    );
    let provinces = s.provinces.iter().map(|p| (&p.id, Role::Province));
    for (id, role) in provinces.chain(s.cities.iter().map(|c| (&c.id, Role::City))) {
        let register = RegisterNode {
            header: header(id, "register"),
            role: role as i32,
            endpoint: format!("http://{id}.test:1"),
            ..Default::default()
        };
        service.register(Request::new(register)).await.unwrap();
    }
    let request = AssistanceRequest {
        header: header("north", "request"),
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
    let ack = service
        .request_assistance(Request::new(request))
        .await
        .unwrap();
    assert_eq!(ack.into_inner().case_id, "case-north-1");
    (authority, service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_disk_stalled_central_answers_all_that_needs_no_save() {
    let dir = std::env::temp_dir().join(format!("counterpart-held-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (authority, service) = central_with_a_case(&dir).await;
    let service = Arc::new(service);
    service
        .submit_report(Request::new(city_report("report-1")))
        .await
        .unwrap();

    let events = || authority.read().cases().next().unwrap().events.len();
    let before = events();

    let hold = authority.hold_writes().expect("central is durable");
    // A resend of a message whose change is on disk needs no save. (A
    // resend whose original is still queued waits for it: its answer
    // acknowledges that change.)
    let resent = service
        .submit_report(Request::new(city_report("report-1")))
        .await
        .expect("a resend is answered from memory");
    assert!(resent.into_inner().duplicate);
    let waiting = tokio::spawn({
        let service = service.clone();
        async move {
            service
                .submit_report(Request::new(city_report("report-2")))
                .await
        }
    });
    // Report-2 is applied (its event is in memory) and its change queued;
    // polled on that state, within a bound (10 s) for a busy machine.
    for _ in 0..10_000 {
        if events() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(events() > before, "report-2 was never applied");
    // Everything below answers while report-2's change waits for the disk.
    let refused = service
        .submit_report(Request::new(SupervisoryReport {
            case_id: "case-of-nobody".into(),
            ..city_report("report-3")
        }))
        .await
        .expect_err("an unknown case is refused");
    assert_eq!(refused.code(), Code::NotFound);
    let status = service
        .get_status(Request::new(StatusQuery::default()))
        .await
        .expect("the operator is answered")
        .into_inner();
    assert!(!status.cases.is_empty(), "{status:?}");
    let report = service
        .get_report(Request::new(ReportQuery::default()))
        .await;
    assert!(report.is_ok(), "the run report too");
    {
        // The driver's tick takes the same lock: it is free.
        let mut machine = authority.lock();
        let now = machine.now();
        machine.on_tick(now);
        machine.release_unchanged();
    }
    assert!(
        !waiting.is_finished(),
        "report-2 was answered before its change reached the disk"
    );

    drop(hold);
    let answered = waiting
        .await
        .unwrap()
        .expect("report-2 is answered once saved");
    assert!(!answered.into_inner().duplicate);
    let on_disk = durable::JournalStore::open(&dir, "central", &small().name, Durability::Normal)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    let restored = Authority::restore(small(), &on_disk, BOOT + 2).unwrap();
    let events = restored.cases().next().unwrap().events.len();
    assert_eq!(
        events,
        authority.read().cases().next().unwrap().events.len(),
        "what was answered is what is on disk"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
