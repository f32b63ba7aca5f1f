//! The NetworkPolicies: nothing in the namespace talks unless a policy
//! says so, and the policies follow the protocol's call graph by role:
//!
//! - central calls every province and city, and each of them calls central
//!   (proto/pairing/v1/services.proto: CentralAuthority; StartClock,
//!   Assign, NotifyDecision and the other orders and notices);
//! - a province and a city call each other (shipments, receipts, plan
//!   negotiation) once central has paired them;
//! - no province calls a province, no city a city;
//! - every node sends spans to the collector and looks names up in the
//!   cluster's DNS.
//!
//! By role, not by pair: central decides the pairing at run time (in
//! `historical` mode from the scenario's table, but it may reassign, and
//! other modes choose freely), so a policy per historical pair would turn
//! a legitimate reassignment into silent timeouts. A province may thus
//! reach any city of the namespace, not only its partner; mutual TLS, the
//! nodes' access rules (node_kit::access) and their state machines still
//! refuse a message from a node that has no business sending it.

use std::fmt::Write as _;

use super::telemetry::{COLLECTOR_COMPONENT, OTLP_PORT};
use super::{header, metadata, K8sPlan, COMPONENT, PART_OF};
use crate::compose::NODE_PORT;

/// Who a role may call and be called by, besides DNS and the collector.
const PEERS: [(&str, &[&str]); 3] = [
    ("central", &["province", "city"]),
    ("province", &["central", "city"]),
    ("city", &["central", "province"]),
];

pub fn render(plan: &K8sPlan) -> String {
    let mut out = header(
        plan,
        "NetworkPolicies: deny by default; central <-> every node, province <-> city, spans, DNS.",
    );
    out.push_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
    metadata(&mut out, "default-deny", &[]);
    out.push_str("spec:\n  podSelector: {}\n  policyTypes: [\"Ingress\", \"Egress\"]\n");
    for (role, peers) in PEERS {
        role_policy(&mut out, role, peers);
    }
    out.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
    metadata(
        &mut out,
        "otlp-collector",
        &[(COMPONENT, COLLECTOR_COMPONENT)],
    );
    let _ = writeln!(
        out,
        "spec:\n  podSelector:\n    matchLabels:\n      {PART_OF}: counterpart\n      \
         {COMPONENT}: {COLLECTOR_COMPONENT}\n  policyTypes: [\"Ingress\"]\n  ingress:\n    \
         - from:\n        - podSelector:\n            matchExpressions:\n              \
         - key: {COMPONENT}\n                operator: In\n                \
         values: [\"central\", \"province\", \"city\"]\n      ports:\n        \
         - port: {OTLP_PORT}\n          protocol: TCP"
    );
    out
}

/// The policy of every pod of `role`: gRPC in from `peers`, gRPC out to
/// `peers`, spans out to the collector, DNS out to the cluster's resolver.
fn role_policy(out: &mut String, role: &str, peers: &[&str]) {
    let peer_selector = |indent: &str| {
        let values = peers
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{indent}- podSelector:\n{indent}    matchExpressions:\n{indent}      \
             - key: {COMPONENT}\n{indent}        operator: In\n{indent}        values: [{values}]"
        )
    };
    out.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
    metadata(out, role, &[(COMPONENT, role)]);
    let _ = writeln!(
        out,
        "spec:\n  podSelector:\n    matchLabels:\n      {PART_OF}: counterpart\n      \
         {COMPONENT}: {role}\n  policyTypes: [\"Ingress\", \"Egress\"]\n  ingress:\n    \
         - from:\n{}\n      ports:\n        - port: {NODE_PORT}\n          protocol: TCP\n  \
         egress:\n    - to:\n{}\n      ports:\n        - port: {NODE_PORT}\n          protocol: TCP\n    \
         - to:\n        - podSelector:\n            matchLabels:\n              \
         {COMPONENT}: {COLLECTOR_COMPONENT}\n      ports:\n        - port: {OTLP_PORT}\n          \
         protocol: TCP\n    - to:\n        - namespaceSelector:\n            matchLabels:\n              \
         kubernetes.io/metadata.name: kube-system\n          podSelector:\n            \
         matchLabels:\n              k8s-app: kube-dns\n      ports:\n        - port: 53\n          \
         protocol: UDP\n        - port: 53\n          protocol: TCP",
        peer_selector("        "),
        peer_selector("        "),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may_reach(from: &str, to: &str) -> bool {
        PEERS
            .iter()
            .any(|(role, peers)| *role == from && peers.contains(&to))
    }

    #[test]
    fn every_allowed_call_is_allowed_at_both_ends_and_no_role_calls_itself() {
        // One policy's egress without the other's ingress would drop the
        // call silently: a timeout, not an error.
        for (role, peers) in PEERS {
            assert!(!peers.contains(&role), "{role} reaches its own kind");
            for peer in peers {
                assert!(may_reach(peer, role), "{role} -> {peer} but not back");
            }
        }
        assert!(may_reach("central", "city") && may_reach("province", "city"));
        assert!(!may_reach("province", "province") && !may_reach("city", "city"));
    }
}
