//! `WatchOperation` through central's gRPC adapter: a bad interval is
//! refused naming the field, a stream starts with the outline (every place
//! with its coordinates) and the pairing table, at most `MAX_WATCHERS`
//! streams are open at once, and a closed stream frees its place.

use std::sync::Arc;
use std::time::Duration;

use central::authority::Authority;
use central::service::CentralService;
use central::watch::MAX_WATCHERS;
use counterpart_domain::scenario;
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::operation_update::Change;
use pairing_proto::v1::{Role, WatchQuery};
use tokio_stream::StreamExt;
use tonic::{Code, Request};

/// This life's boot stamp (any: the service never sends here).
const BOOT: i64 = 1_700_000_000_000;

fn service() -> CentralService {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/small.toml"
    );
    let scenario = Arc::new(scenario::load(std::path::Path::new(path)).expect("small loads"));
    let authority = Authority::new(scenario, 86_400_000, None, BOOT);
    CentralService::new(
        Arc::new(Durable::in_memory(authority)),
        Arc::new(MessageCounters::default()),
        Arc::new(CaseTraces::default()),
    )
}

fn query(interval_ms: u32) -> Request<WatchQuery> {
    Request::new(WatchQuery { interval_ms })
}

#[tokio::test]
async fn an_interval_out_of_range_is_refused_naming_the_field() {
    let central = service();
    for ms in [1, 10_001] {
        let status = central.watch_operation(query(ms)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with("interval_ms: "), "{status:?}");
    }
}

#[tokio::test]
async fn a_stream_starts_with_the_places_and_the_pairings() {
    let central = service();
    let mut stream = central
        .watch_operation(query(50))
        .await
        .unwrap()
        .into_inner();
    let first = stream
        .next()
        .await
        .expect("an update")
        .expect("not an error");
    let Some(Change::Outline(outline)) = first.change else {
        panic!("the first update is not the outline: {first:?}");
    };
    assert_eq!(outline.scenario, "small");
    assert_eq!(outline.places.len(), 5);
    let north = outline.places.iter().find(|p| p.id == "north").unwrap();
    assert_eq!(north.role, Role::City as i32);
    assert!(north.located && north.location_estimated);
    assert_eq!((north.lat, north.lon), (32.0, 112.0));
    let second = stream
        .next()
        .await
        .expect("an update")
        .expect("not an error");
    assert!(
        matches!(second.change, Some(Change::Pairings(_))),
        "{second:?}"
    );
}

#[tokio::test]
async fn watchers_are_bounded_and_a_closed_stream_frees_its_place() {
    let central = service();
    let mut open = Vec::new();
    for _ in 0..MAX_WATCHERS {
        open.push(central.watch_operation(query(50)).await.unwrap());
    }
    let status = central.watch_operation(query(50)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // The stream's task sees its reader gone at its next look (50 ms).
    drop(open.pop());
    let reopened = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match central.watch_operation(query(50)).await {
                Ok(stream) => return stream,
                Err(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await;
    assert!(reopened.is_ok(), "no place freed within 5 s");
}
