use std::sync::Mutex as StdMutex;

use tonic::Code;

use super::*;

fn rates(p: f64) -> FaultRates {
    FaultRates {
        drop_request: p,
        drop_reply: p,
        delay: p,
        duplicate: p,
        max_delay: Duration::from_millis(10),
    }
}

fn decisions(plan: &FaultPlan, n: usize) -> Vec<Decision> {
    (0..n)
        .map(|i| plan.decide(if i % 2 == 0 { "a" } else { "b" }, "c", i % 7 == 0))
        .collect()
}

#[test]
fn same_seed_and_messages_give_the_same_faults() {
    let one = decisions(&FaultPlan::new(42, rates(0.3)), 300);
    let two = decisions(&FaultPlan::new(42, rates(0.3)), 300);
    assert_eq!(one, two);
    let other = decisions(&FaultPlan::new(43, rates(0.3)), 300);
    assert_ne!(one, other, "another seed, other faults");
    assert!(one.iter().any(|d| d.drop_request));
    assert!(one.iter().any(|d| d.duplicate));
    assert!(one.iter().any(|d| d.drop_reply));
    assert!(one.iter().any(|d| d.delay.is_some()));
}

#[test]
fn a_partition_does_not_shift_later_decisions() {
    let plain = FaultPlan::new(7, rates(0.3));
    let cut = FaultPlan::new(7, rates(0.3));
    cut.partition("x", "c");
    assert!(!plain.decide("x", "c", false).partitioned);
    assert!(cut.decide("x", "c", false).partitioned);
    let a: Vec<Decision> = (0..50).map(|_| plain.decide("a", "c", false)).collect();
    let b: Vec<Decision> = (0..50).map(|_| cut.decide("a", "c", false)).collect();
    assert_eq!(a, b);
}

#[test]
fn streams_are_never_duplicated_nor_lose_their_reply() {
    let plan = FaultPlan::new(1, rates(1.0));
    plan.resume(FaultRates {
        drop_request: 0.0,
        ..rates(1.0)
    });
    for _ in 0..20 {
        let d = plan.decide("a", "b", true);
        assert!(!d.duplicate && !d.drop_reply, "{d:?}");
        assert!(d.delay.is_some());
    }
}

#[test]
fn partitions_are_one_way_unless_both_and_heal() {
    let plan = FaultPlan::new(0, FaultRates::default());
    plan.partition("a", "b");
    assert!(plan.decide("a", "b", false).partitioned);
    assert!(!plan.decide("b", "a", false).partitioned);
    plan.partition_both("c", "d");
    assert!(plan.decide("c", "d", false).partitioned);
    assert!(plan.decide("d", "c", false).partitioned);
    plan.heal("a", "b");
    assert!(!plan.is_blocked("a", "b"));
    assert!(plan.is_blocked("d", "c"));
    plan.heal_all();
    assert!(!plan.decide("c", "d", false).partitioned);
    assert!(!plan.decide("d", "c", false).partitioned);
    assert_eq!(plan.counts().partitioned, 3);
}

#[test]
fn quiet_stops_random_faults_but_not_partitions() {
    let plan = FaultPlan::new(9, rates(1.0));
    plan.partition("a", "b");
    plan.quiet();
    for _ in 0..20 {
        let d = plan.decide("b", "a", false);
        assert_eq!(d, Decision::default());
    }
    assert!(plan.decide("a", "b", false).partitioned);
    let counts = plan.counts();
    assert_eq!(
        counts.dropped_requests + counts.duplicated + counts.delayed,
        0
    );
}

#[test]
fn rates_out_of_range_are_clamped() {
    let plan = FaultPlan::new(
        3,
        FaultRates {
            drop_request: f64::NAN,
            drop_reply: -1.0,
            delay: 5.0,
            duplicate: 0.0,
            max_delay: Duration::from_secs(3_600),
        },
    );
    for _ in 0..50 {
        let d = plan.decide("a", "b", false);
        assert!(!d.drop_request && !d.drop_reply);
        assert!(d.delay.is_some_and(|t| t <= MAX_DELAY));
    }
}

// ---- the layer, around a fake service that records what it handled ----

#[derive(Clone, Default)]
struct Handled(Arc<StdMutex<Vec<Vec<u8>>>>);

fn fake(
    handled: Handled,
) -> FaultService<
    impl Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future = impl Send,
        > + Clone
        + Send
        + 'static,
> {
    let inner = tower::service_fn(move |req: http::Request<Body>| {
        let handled = handled.clone();
        async move {
            let bytes = req.into_body().collect().await.unwrap().to_bytes();
            handled.0.lock().unwrap().push(bytes.to_vec());
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        }
    });
    FaultService {
        inner,
        plan: FaultPlan::new(0, FaultRates::default()),
        node_id: "b".into(),
    }
}

fn call(sender: Option<&str>, path: &str) -> http::Request<Body> {
    let mut b = http::Request::builder().uri(format!("http://b{path}"));
    if let Some(s) = sender {
        b = b.header(SENDER_METADATA, s);
    }
    b.body(Body::new(Full::new(bytes_of("payload")))).unwrap()
}

fn bytes_of(s: &'static str) -> tonic::codegen::Bytes {
    tonic::codegen::Bytes::from_static(s.as_bytes())
}

fn code(response: &http::Response<Body>) -> Code {
    Status::from_header_map(response.headers()).map_or(Code::Ok, |s| s.code())
}

async fn run(plan: Arc<FaultPlan>, sender: Option<&str>, path: &str) -> (Code, usize) {
    let handled = Handled::default();
    let mut svc = fake(handled.clone());
    svc.plan = plan;
    let response = svc
        .ready()
        .await
        .unwrap()
        .call(call(sender, path))
        .await
        .unwrap();
    let bodies = handled.0.lock().unwrap().clone();
    assert!(bodies.iter().all(|b| b == b"payload"), "{bodies:?}");
    (code(&response), bodies.len())
}

fn only(kind: &str) -> FaultRates {
    let mut r = FaultRates::default();
    match kind {
        "drop_request" => r.drop_request = 1.0,
        "drop_reply" => r.drop_reply = 1.0,
        "duplicate" => r.duplicate = 1.0,
        _ => unreachable!(),
    }
    r
}

#[tokio::test]
async fn the_layer_applies_each_fault() {
    let unary = "/pairing.v1.DonorProvince/Assign";
    let plan = FaultPlan::new(1, only("drop_request"));
    assert_eq!(
        run(plan.clone(), Some("a"), unary).await,
        (Code::Unavailable, 0)
    );
    assert_eq!(plan.counts().dropped_requests, 1);

    let plan = FaultPlan::new(1, only("drop_reply"));
    assert_eq!(
        run(plan.clone(), Some("a"), unary).await,
        (Code::Unavailable, 1)
    );
    assert_eq!(plan.counts().dropped_replies, 1);

    let plan = FaultPlan::new(1, only("duplicate"));
    assert_eq!(run(plan.clone(), Some("a"), unary).await, (Code::Ok, 2));
    assert_eq!(plan.counts().duplicated, 1);

    let plan = FaultPlan::new(1, FaultRates::default());
    plan.partition("a", "b");
    assert_eq!(
        run(plan.clone(), Some("a"), unary).await,
        (Code::Unavailable, 0)
    );
    assert_eq!(run(plan.clone(), Some("c"), unary).await, (Code::Ok, 1));
}

#[tokio::test]
async fn each_fault_is_counted_at_the_node_it_fired_at() {
    let unary = "/pairing.v1.DonorProvince/Assign";
    let plan = FaultPlan::new(1, only("duplicate"));
    run(plan.clone(), Some("a"), unary).await;
    let at_b = plan.at_nodes()["b"];
    assert_eq!(at_b.fired.duplicated, 1);
    assert_eq!(plan.fired(), at_b.fired);

    let delays = FaultRates {
        delay: 1.0,
        max_delay: Duration::from_millis(5),
        ..FaultRates::default()
    };
    let plan = FaultPlan::new(1, delays);
    run(plan.clone(), Some("a"), unary).await;
    assert_eq!(plan.fired().delayed, 1);

    // A decision whose call never completes fired nothing: counted by the
    // plan, not at the node.
    let plan = FaultPlan::new(1, only("drop_reply"));
    plan.decide("a", "b", false);
    assert_eq!(plan.counts().dropped_replies, 1);
    assert_eq!(plan.fired(), FaultCounts::default());
}

#[test]
fn a_node_counts_each_time_it_starts_serving() {
    let plan = FaultPlan::new(1, FaultRates::default());
    FaultLayer::new(plan.clone(), "north");
    FaultLayer::new(plan.clone(), "north");
    FaultLayer::new(plan.clone(), "alpha");
    let nodes = plan.at_nodes();
    assert_eq!((nodes["north"].starts, nodes["alpha"].starts), (2, 1));
}

#[tokio::test]
async fn unnamed_callers_and_streams_pass_as_they_should() {
    let unary = "/pairing.v1.DonorProvince/Assign";
    // An operator's query carries no sender: never faulted.
    let plan = FaultPlan::new(1, only("drop_request"));
    assert_eq!(run(plan.clone(), None, unary).await, (Code::Ok, 1));
    assert_eq!(plan.counts(), FaultCounts::default());
    // A stream is handled once, whatever the duplicate rate.
    let plan = FaultPlan::new(1, only("duplicate"));
    assert_eq!(
        run(plan, Some("a"), STREAMING_METHODS[0]).await,
        (Code::Ok, 1)
    );
}
