//! Versions on the wire: a node states the protocol version it speaks
//! when it registers, and central accepts only its window; a city of the
//! previous release, which demobilises on the quiet days alone, is not
//! stranded.

use crate::refusal::RefusalCode as Code;
use pairing_proto::v1::{DemobilisationRequest, RegisterNode, Role, Situation};
use pairing_proto::version;

use super::tests::{acknowledge, at, header, paired, small, BOOT};
use super::Authority;
use crate::central::case::{CaseStage, Step};

fn register(
    a: &mut Authority,
    id: &str,
    protocol_version: u32,
) -> Result<(), crate::refusal::Refusal> {
    let msg = RegisterNode {
        header: header(id, at(0.0)),
        role: Role::Province as i32,
        endpoint: format!("http://{id}.test:1"),
        protocol_version,
        features: vec![],
    };
    a.register(&msg, at(0.0)).map(drop)
}

#[test]
fn a_node_outside_the_window_is_refused_naming_both_versions() {
    let mut a = Authority::new(small(), 50, None, BOOT);
    let newer = version::PROTOCOL_VERSION + 1;
    let refused = register(&mut a, "alpha", newer).unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let message = refused.message();
    assert!(message.starts_with("protocol_version:"), "{message}");
    assert!(
        message.contains(&format!("speaks version {newer}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("central speaks {}", version::PROTOCOL_VERSION)),
        "{message}"
    );
    let status = a.status(at(0.0));
    let alpha = status.nodes.iter().find(|n| n.node_id == "alpha").unwrap();
    assert!(!alpha.registered, "a refused node is not registered");
}

#[test]
fn a_node_that_states_no_version_speaks_the_first_and_each_version_is_reported() {
    let mut a = Authority::new(small(), 50, None, BOOT);
    register(&mut a, "alpha", 0).unwrap();
    register(&mut a, "beta", version::PROTOCOL_VERSION).unwrap();
    let status = a.status(at(0.0));
    let version_of = |id: &str| {
        status
            .nodes
            .iter()
            .find(|n| n.node_id == id)
            .map(|n| n.protocol_version)
    };
    assert_eq!(version_of("alpha"), Some(version::UNSTATED));
    assert_eq!(version_of("beta"), Some(version::PROTOCOL_VERSION));
    let named = a.protocol_versions();
    assert_eq!(
        named["alpha"],
        format!("{} (not stated)", version::UNSTATED)
    );
    assert_eq!(named["beta"], version::PROTOCOL_VERSION.to_string());
}

/// A city of the previous release asks to demobilise after the quiet days
/// alone (PROTOCOL.md, step 16). Central stands its donors down all the
/// same, so its case can still close, and records whether the need was met.
#[test]
fn a_demobilisation_before_the_need_is_met_is_accepted_and_recorded() {
    // small.toml: south's own capacity is min(600, 40 / 0.25, 80 / 0.5) =
    // 160 cases, so within 0.9 x 160 = 144; 7 quiet days are enough.
    for (active, need_met) in [(1_000, false), (144, true)] {
        let (mut a, _) = paired();
        acknowledge(&mut a, "alpha", "asg-case-south-1-alpha", at(3.3)).unwrap();
        let demob = DemobilisationRequest {
            header: header("south", at(20.0)),
            case_id: "case-south-1".into(),
            situation: Some(Situation {
                confirmed_total: 2_000,
                active_cases: active,
                days_without_new_cases: 7,
                beds: 600,
                local_doctors: 40,
                local_nurses: 80,
                ..Default::default()
            }),
        };
        a.request_demobilisation(&demob, at(20.0)).unwrap();
        let case = a.cases.get("case-south-1").unwrap();
        assert_eq!(case.stage, CaseStage::Demobilising, "{active}");
        let event = case
            .events
            .iter()
            .find(|e| e.step == Step::DemobilisationRequested)
            .unwrap();
        let figures = format!("{active} active cases, own capacity 160 cases");
        assert!(event.detail.contains(&figures), "{}", event.detail);
        let flagged = event
            .detail
            .contains("before its own capacity covered them");
        assert_eq!(flagged, !need_met, "{}", event.detail);
    }
}
