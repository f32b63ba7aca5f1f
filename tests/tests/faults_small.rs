//! The small scenario under injected faults (in-process, seeded): requests
//! and replies dropped, messages delayed and delivered twice. Every case
//! must still close and every receipt match its shipment, because every
//! message is resent until answered and applied once.

use std::time::Duration;

use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;
use node_kit::faults::{FaultPlan, FaultRates};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_scenario_closes_every_case_despite_faults() {
    let plan = FaultPlan::new(
        20_200_207,
        FaultRates {
            drop_request: 0.1,
            drop_reply: 0.1,
            delay: 0.2,
            duplicate: 0.1,
            max_delay: Duration::from_millis(40),
        },
    );
    let cluster =
        Cluster::start_with_faults(&scenario_path("small"), 150, None, Some(plan.clone())).await;
    cluster.wait_finished(Duration::from_secs(180)).await;
    let report = cluster.report().await;

    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("receipts match shipments", checks::receipts_match(&report));
    assert_holds(
        "every case closed or rejected",
        checks::all_closed(&report, true),
    );
    let counts = plan.counts();
    println!("faults injected: {counts:?}");
    assert!(counts.dropped_requests > 0, "{counts:?}");
    assert!(counts.dropped_replies > 0, "{counts:?}");
    assert!(counts.duplicated > 0, "{counts:?}");
    assert!(counts.delayed > 0, "{counts:?}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_lets_the_run_finish() {
    let plan = FaultPlan::new(7, FaultRates::default());
    // north cannot reach central until healed: its request waits.
    plan.partition("north", "central");
    let cluster =
        Cluster::start_with_faults(&scenario_path("small"), 150, None, Some(plan.clone())).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        plan.counts().partitioned > 0,
        "north never tried to reach central"
    );
    plan.heal_all();
    cluster.wait_finished(Duration::from_secs(180)).await;
    let report = cluster.report().await;
    assert_holds("receipts match shipments", checks::receipts_match(&report));
    assert_holds(
        "every case closed or rejected",
        checks::all_closed(&report, true),
    );
    cluster.stop().await;
}
