//! `GetReport`'s bound on the reports central builds at once
//! ([`MAX_REPORT_BUILDS`]): past it a query is refused, not queued, and a
//! finished build gives its place back.

use std::sync::Arc;

use counterpart_domain::scenario;
use node_kit::counters::MessageCounters;
use node_kit::durable::Durable;
use node_kit::trace::CaseTraces;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::ReportQuery;
use tonic::{Code, Request};

use super::{CentralService, MAX_REPORT_BUILDS};
use crate::authority::Authority;

/// This life's boot stamp (any: the service never sends here).
const BOOT: i64 = 1_700_000_000_000;

fn service() -> CentralService {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/small.toml"
    );
    let scenario = Arc::new(scenario::load(std::path::Path::new(path)).expect("small loads"));
    CentralService::new(
        Arc::new(Durable::in_memory(Authority::new(
            scenario, 86_400_000, None, BOOT,
        ))),
        Arc::new(MessageCounters::default()),
        Arc::new(CaseTraces::default()),
    )
}

#[tokio::test]
async fn a_report_past_the_bound_is_refused_and_served_once_a_build_ends() {
    let central = service();
    // Every place taken, as MAX_REPORT_BUILDS builds under way take them.
    let builds = (central.report_builds.clone())
        .try_acquire_many_owned(MAX_REPORT_BUILDS as u32)
        .expect("no build under way yet");

    let refused = (central.get_report(Request::new(ReportQuery {})).await)
        .expect_err("a report past the bound is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("GetReport"),
        "the refusal names the query: {}",
        refused.message()
    );

    drop(builds);
    let report = (central.get_report(Request::new(ReportQuery {})).await)
        .expect("served once the builds end");
    assert!(report.into_inner().json.contains("\"scenario\""));
    assert_eq!(
        central.report_builds.available_permits(),
        MAX_REPORT_BUILDS,
        "a finished build gives its place back"
    );
}
