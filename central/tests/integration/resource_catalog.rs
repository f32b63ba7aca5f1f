//! On the wire a resource type is known when it is a default or the loaded
//! scenario declares it: a message naming any other is refused with
//! INVALID_ARGUMENT naming the field and the known types, and changes
//! nothing. Its own test binary: the catalog is one per process, and this
//! test decides the order in which scenarios are loaded into it.

use std::sync::Arc;

use central::authority::Authority;
use central::service::CentralService;
use counterpart_domain::scenario::Scenario;
use node_kit::durable::Durable;
use pairing_proto::v1::central_authority_server::CentralAuthority;
use pairing_proto::v1::*;
use tonic::{Code, Request};

use crate::common;

struct Central {
    authority: Arc<Durable<Authority>>,
    service: CentralService,
    runtime: tokio::runtime::Runtime,
}

/// Central on `scenario`, every node registered.
fn central(scenario: Arc<Scenario>) -> Central {
    let common::Served {
        authority,
        service,
        runtime,
    } = common::served(scenario);
    Central {
        authority,
        service,
        runtime,
    }
}

/// North asks for doctors and tents.
fn tents_wanted() -> AssistanceRequest {
    let line = |t: &str, quantity| ResourceQuantity {
        resource_type: t.into(),
        quantity,
    };
    AssistanceRequest {
        header: common::header("north", "ask"),
        situation: Some(common::overwhelmed()),
        needs: vec![line("personnel/doctor", 400), line("material/tent", 300)],
    }
}

#[test]
fn a_type_the_scenario_does_not_declare_is_refused_naming_the_field() {
    // small.toml declares nothing: tents are not in its catalog.
    let c = central(common::scenario("small"));
    let before = format!("{:?}", *c.authority.read());
    let status = (c.runtime)
        .block_on(c.service.request_assistance(Request::new(tents_wanted())))
        .expect_err("a type nobody declared");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let message = status.message();
    assert!(
        message.starts_with(r#"needs[1].resource_type: unknown resource type "material/tent""#),
        "{message}"
    );
    let known = message.split("known: ").nth(1).expect("the known types");
    assert!(
        known.contains("personnel/doctor") && known.contains("funds/cny"),
        "{message}"
    );
    assert_eq!(
        before,
        format!("{:?}", *c.authority.read()),
        "a refusal changed state"
    );

    // A node of the earthquake run loaded its scenario, which declares
    // tents: the same request is taken, tents and all.
    let c = central(common::scenario("earthquake"));
    let ack = (c.runtime)
        .block_on(c.service.request_assistance(Request::new(tents_wanted())))
        .expect("tents are declared")
        .into_inner();
    let authority = c.authority.read();
    let case = authority.cases().find(|case| case.case_id == ack.case_id);
    let case = case.expect("the case");
    let tent = "material/tent".parse().expect("installed");
    assert!(case.targets.of(tent) > 0, "no tents in {:?}", case.targets);
}

/// The catalog's limits and the wire's agree: any id a scenario may
/// declare passes the wire's length check, and a message can list every
/// type of a full catalog once.
#[test]
fn every_declarable_catalog_fits_the_wire_limits() {
    use counterpart_protocol::validate::{MAX_LINES, MAX_RESOURCE_TYPE_LEN};
    use pairing_proto::resource::{catalog::MAX_ID_LEN, ResourceType};
    assert_eq!(MAX_ID_LEN, MAX_RESOURCE_TYPE_LEN);
    let most = ResourceType::DEFAULTS.len() + counterpart_domain::scenario::MAX_DECLARED_TYPES;
    assert!(most <= MAX_LINES, "{most} types, {MAX_LINES} lines");
}
