//! Versions on the wire: a node states the protocol version it speaks
//! when it registers, and central accepts only its window.

use pairing_proto::v1::{RegisterNode, Role};
use pairing_proto::version;
use tonic::Code;

use super::tests::{at, header, small};
use super::Authority;

fn register(a: &mut Authority, id: &str, protocol_version: u32) -> Result<(), tonic::Status> {
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
    let mut a = Authority::new(small(), 50, None);
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
    let mut a = Authority::new(small(), 50, None);
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
