//! The message catalog (`counterpart_protocol::catalog`) and the contract
//! name the same RPCs: every RPC of the three services is a catalog kind or
//! an operator query, with the request message the contract gives it, and
//! the catalog declares nothing the contract lacks.

use std::collections::BTreeSet;

use counterpart_compat::current;
use counterpart_protocol::catalog::{CATALOG, QUERIES};
use prost_types::FileDescriptorSet;

/// (service, rpc, request message), e.g.
/// ("pairing.v1.CentralAuthority", "Register", "RegisterNode").
type Entry = (String, String, String);

fn contract_rpcs(set: &FileDescriptorSet) -> BTreeSet<Entry> {
    let mut rpcs = BTreeSet::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                let input = method.input_type();
                let message = input.rsplit('.').next().unwrap_or(input);
                rpcs.insert((
                    format!("{package}.{}", service.name()),
                    method.name().to_string(),
                    message.to_string(),
                ));
            }
        }
    }
    rpcs
}

fn catalog_rpcs() -> BTreeSet<Entry> {
    let kinds = CATALOG
        .iter()
        .map(|k| (k.service.proto_name(), k.rpc, k.message));
    let queries = QUERIES
        .iter()
        .map(|q| (q.service.proto_name(), q.rpc, q.message));
    kinds
        .chain(queries)
        .map(|(s, r, m)| (s.to_string(), r.to_string(), m.to_string()))
        .collect()
}

/// What one side has and the other lacks, both ways.
fn differences(contract: &BTreeSet<Entry>, catalog: &BTreeSet<Entry>) -> Vec<String> {
    let missing = contract
        .difference(catalog)
        .map(|e| format!("not in the catalog: {e:?}"));
    let extra = catalog
        .difference(contract)
        .map(|e| format!("not in the contract: {e:?}"));
    missing.chain(extra).collect()
}

#[test]
fn the_catalog_declares_every_rpc_of_the_contract_and_no_other() {
    let found = differences(&contract_rpcs(&current()), &catalog_rpcs());
    assert!(found.is_empty(), "{found:#?}");
}

/// The check itself: an RPC added to the contract without a catalog kind,
/// and a kind whose request message is misnamed, are both caught.
#[test]
fn an_rpc_the_catalog_lacks_or_misnames_is_caught() {
    let mut contract = contract_rpcs(&current());
    contract.insert((
        "pairing.v1.CentralAuthority".into(),
        "RaiseAppeal".into(),
        "Appeal".into(),
    ));
    let mut catalog = catalog_rpcs();
    let shipment = (
        "pairing.v1.RecipientCity".to_string(),
        "DeliverShipment".to_string(),
        "Shipment".to_string(),
    );
    assert!(catalog.remove(&shipment), "the catalog has DeliverShipment");
    catalog.insert((shipment.0, shipment.1, "Shipments".into()));
    let found = differences(&contract, &catalog);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().any(|f| f.contains("RaiseAppeal")));
    assert!(found.iter().any(|f| f.contains("\"Shipments\"")));
}

/// This build handles every kind of its catalog: a kind behind a feature
/// is one this build declares (`pairing_proto::version::FEATURES`), and
/// this build declares no feature its catalog lacks.
#[test]
fn this_build_declares_exactly_the_features_of_its_catalog() {
    let in_catalog: BTreeSet<&str> = CATALOG.iter().filter_map(|k| k.feature).collect();
    let declared: BTreeSet<&str> = pairing_proto::version::FEATURES.iter().copied().collect();
    assert_eq!(in_catalog, declared);
}
