//! The catalog's own consistency: what every deriving table relies on.

use super::*;

#[test]
fn each_rpc_of_a_service_is_declared_once() {
    for (i, a) in CATALOG.iter().enumerate() {
        for b in &CATALOG[i + 1..] {
            assert!(
                !(a.service == b.service && a.rpc == b.rpc),
                "{:?}.{} is declared twice",
                a.service,
                a.rpc
            );
        }
        assert!(
            !QUERIES
                .iter()
                .any(|q| q.service == a.service && q.rpc == a.rpc),
            "{} is both a message and a query",
            a.rpc
        );
    }
}

#[test]
fn a_server_span_names_one_kind_and_is_no_client_span() {
    let clients = client_spans();
    for kind in CATALOG {
        let same: Vec<_> = CATALOG
            .iter()
            .filter(|k| k.server_span == kind.server_span)
            .collect();
        assert_eq!(
            same.len(),
            1,
            "{} is opened for two kinds",
            kind.server_span
        );
        assert!(!clients.contains(&kind.server_span), "{}", kind.server_span);
        assert_eq!(by_server_span(kind.server_span), Some(kind));
    }
}

/// `central.assess` is central's, `city.request` the city's: a span name
/// says which role opens it, so a trace reads without the table.
#[test]
fn a_span_is_named_after_the_role_that_opens_it() {
    for kind in CATALOG {
        let receiver = format!("{}.", kind.receiver());
        assert!(kind.server_span.starts_with(&receiver), "{kind:?}");
        for sender in kind.senders {
            assert!(sender.span.starts_with(&format!("{}.", sender.role)));
            assert_ne!(sender.role, kind.receiver(), "{} to itself", kind.rpc);
        }
    }
}

#[test]
fn central_alone_sends_its_orders_and_never_speaks_as_a_node() {
    for kind in CATALOG {
        let roles = kind.sender_roles();
        assert!(!roles.is_empty(), "{} has no sender", kind.rpc);
        assert!(!roles.contains(&Role::Operator), "{}", kind.rpc);
        match kind.access {
            Access::FromCentral => assert_eq!(roles, [Role::Central], "{}", kind.rpc),
            Access::AsItself => assert!(!roles.contains(&Role::Central), "{}", kind.rpc),
        }
    }
}

#[test]
fn only_a_final_report_changes_stage() {
    assert_eq!(SUPERVISORY_REPORT.stage_of(false), Stage::Implementation);
    assert_eq!(SUPERVISORY_REPORT.stage_of(true), Stage::Demobilisation);
    assert_eq!(ASSISTANCE_REQUEST.stage_of(true), Stage::Decision);
    let with_final: Vec<_> = CATALOG
        .iter()
        .filter(|k| k.final_stage.is_some())
        .map(|k| k.rpc)
        .collect();
    assert_eq!(with_final, ["SubmitReport"]);
}

#[test]
fn lookups_find_what_the_catalog_declares() {
    let found = by_rpc(Service::CentralAuthority, "RequestAssistance");
    assert_eq!(found, Some(&ASSISTANCE_REQUEST));
    assert_eq!(by_rpc(Service::DonorProvince, "RequestAssistance"), None);
    assert_eq!(SHIPMENT.client_span(Role::Province), Some("province.ship"));
    assert_eq!(SHIPMENT.client_span(Role::City), None);
    assert!(client_spans().contains(&"central.clock_start"));
}

/// A kind behind a feature goes only to a node that declared it; the kinds
/// of version 1 go to every node, even one that declared nothing.
#[test]
fn a_kind_behind_a_feature_is_for_nodes_that_declared_it() {
    let optional = CITY_MEDIATION;
    let none: Vec<String> = vec![];
    let declared = vec!["mediation".to_string()];
    assert!(!optional.handled_by(&none));
    assert!(!optional.handled_by(&["mediations".to_string()]));
    assert!(optional.handled_by(&declared));
    let version_1 = CATALOG.iter().filter(|k| k.feature.is_none());
    assert!(version_1.clone().all(|k| k.handled_by(&none)), "version 1");
    assert_eq!(
        version_1.count(),
        CATALOG.len() - 5,
        "all but the mediation and lockstep kinds"
    );
}
