//! The span names the nodes use, and the calls they stand for, as the
//! message catalog (`counterpart_protocol::catalog`) declares them.
//!
//! A client span is opened by the sender of a message; the receiver opens
//! a server span as its child, in its own service. So each server span
//! has a known set of client spans that can be its parent: the kind's
//! senders' spans. The checker compares the recorded edges with that.

use counterpart_protocol::catalog::{self, MessageKind};
use counterpart_protocol::Role;

/// The name a sender in `role` gives its span of `kind`.
const fn sent_as(kind: &MessageKind, role: Role) -> &'static str {
    let mut i = 0;
    while i < kind.senders.len() {
        if kind.senders[i].role as u8 == role as u8 {
            return kind.senders[i].span;
        }
        i += 1;
    }
    panic!("the catalog names no such sender")
}

/// The city's request for assistance: the root of a case's trace.
pub const CITY_REQUEST: &str = sent_as(&catalog::ASSISTANCE_REQUEST, Role::City);
/// Central receives a province's AcknowledgeAssignment.
pub const CENTRAL_ACKNOWLEDGEMENT: &str = catalog::ACKNOWLEDGEMENT.server_span;
/// A province sends DeliverShipment to the city.
pub const PROVINCE_SHIP: &str = sent_as(&catalog::SHIPMENT, Role::Province);
/// The city receives a shipment.
pub const CITY_SHIPMENT: &str = catalog::SHIPMENT.server_span;
/// The province receives the city's Receipt.
pub const PROVINCE_RECEIPT: &str = catalog::RECEIPT.server_span;
/// The province receives a DemobilisationOrder.
pub const PROVINCE_STAND_DOWN: &str = catalog::DEMOBILISATION_ORDER.server_span;
/// Central receives a dispute (mediation).
pub const CENTRAL_DISPUTE: &str = catalog::DISPUTE.server_span;
/// Central sends its ruling on a dispute to both sides.
pub const CENTRAL_MEDIATE: &str = sent_as(&catalog::CITY_MEDIATION, Role::Central);
/// Central sends CloseCase to the city.
pub const CENTRAL_CLOSE: &str = sent_as(&catalog::CASE_CLOSURE, Role::Central);

/// For a server span name, the client span names allowed as its parent;
/// None when `name` is not a server span.
pub fn expected_parents(name: &str) -> Option<Vec<&'static str>> {
    let kind = catalog::by_server_span(name)?;
    Some(kind.senders.iter().map(|s| s.span).collect())
}

/// True for a span opened by the receiver of a call.
pub fn is_server(name: &str) -> bool {
    catalog::by_server_span(name).is_some()
}

/// True for a span opened by the sender of a call.
pub fn is_client(name: &str) -> bool {
    catalog::client_spans().contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_expected_parent_is_a_client_span() {
        for kind in catalog::CATALOG {
            let server = kind.server_span;
            assert!(!is_client(server), "{server} is listed as both");
            for parent in expected_parents(server).expect("a server span") {
                assert!(is_client(parent), "{server}: {parent} is no client span");
            }
        }
    }

    #[test]
    fn a_shipment_answers_the_ship_call() {
        assert_eq!(expected_parents(CITY_SHIPMENT), Some(vec![PROVINCE_SHIP]));
        assert_eq!(expected_parents(PROVINCE_SHIP), None);
        assert_eq!(
            expected_parents("central.register"),
            Some(vec!["province.register", "city.register"])
        );
        assert!(is_server("central.register") && !is_client("central.register"));
    }

    #[test]
    fn the_names_the_order_rules_use_are_the_catalogs() {
        assert_eq!(CITY_REQUEST, "city.request");
        assert_eq!(CENTRAL_CLOSE, "central.close");
        assert_eq!(PROVINCE_STAND_DOWN, "province.stand_down");
    }
}
