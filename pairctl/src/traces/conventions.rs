//! The span names the nodes use, and the calls they stand for.
//!
//! A client span is opened by the sender of a message; the receiver opens
//! a server span as its child, in its own service. So each server span
//! has a known set of client spans that can be its parent: the checker
//! compares the recorded edges with this table.

/// The city's request for assistance: the root of a case's trace.
pub const CITY_REQUEST: &str = "city.request";
/// Central receives a province's AcknowledgeAssignment.
pub const CENTRAL_ACKNOWLEDGEMENT: &str = "central.acknowledgement";
/// A province sends DeliverShipment to the city.
pub const PROVINCE_SHIP: &str = "province.ship";
/// The city receives a shipment.
pub const CITY_SHIPMENT: &str = "city.shipment";
/// The province receives the city's Receipt.
pub const PROVINCE_RECEIPT: &str = "province.receipt";
/// The province receives a DemobilisationOrder.
pub const PROVINCE_STAND_DOWN: &str = "province.stand_down";
/// Central sends CloseCase to the city.
pub const CENTRAL_CLOSE: &str = "central.close";

/// Every client (sender) span name.
pub const CLIENT_SPANS: &[&str] = &[
    CITY_REQUEST,
    "city.receipt",
    "city.report",
    "city.negotiate",
    "city.demobilisation_request",
    "province.acknowledge",
    PROVINCE_SHIP,
    "province.report",
    "province.capacity",
    "central.assign",
    "central.decide",
    "central.evaluate",
    "central.adjust",
    "central.demobilise",
    CENTRAL_CLOSE,
    "central.clock_start",
];

/// Each server (receiver) span name with the client spans that may be its
/// parent. An empty list: any client span of another service (the sender
/// of a registration has no span name of its own in the conventions).
const SERVER_SPANS: &[(&str, &[&str])] = &[
    ("central.assess", &[CITY_REQUEST]),
    (CENTRAL_ACKNOWLEDGEMENT, &["province.acknowledge"]),
    ("central.report", &["city.report", "province.report"]),
    ("central.demobilisation", &["city.demobilisation_request"]),
    ("central.register", &[]),
    ("central.capacity", &["province.capacity"]),
    ("province.assignment", &["central.assign"]),
    (PROVINCE_RECEIPT, &["city.receipt"]),
    ("province.evaluation", &["central.evaluate"]),
    ("province.adjustment", &["central.adjust"]),
    (PROVINCE_STAND_DOWN, &["central.demobilise"]),
    ("province.plan", &["city.negotiate"]),
    ("city.decision", &["central.decide"]),
    (CITY_SHIPMENT, &[PROVINCE_SHIP]),
    ("city.closure", &[CENTRAL_CLOSE]),
];

/// For a server span name, the client span names allowed as its parent
/// (empty: any client span); None when `name` is not a server span.
pub fn expected_parents(name: &str) -> Option<&'static [&'static str]> {
    SERVER_SPANS
        .iter()
        .find(|(server, _)| *server == name)
        .map(|(_, parents)| *parents)
}

/// True for a span opened by the receiver of a call.
pub fn is_server(name: &str) -> bool {
    expected_parents(name).is_some()
}

/// True for a span opened by the sender of a call.
pub fn is_client(name: &str) -> bool {
    CLIENT_SPANS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_expected_parent_is_a_client_span() {
        for (server, parents) in SERVER_SPANS {
            assert!(!is_client(server), "{server} is listed as both");
            for parent in *parents {
                assert!(is_client(parent), "{server}: {parent} is no client span");
            }
        }
    }

    #[test]
    fn a_shipment_answers_the_ship_call() {
        assert_eq!(expected_parents(CITY_SHIPMENT), Some(&[PROVINCE_SHIP][..]));
        assert_eq!(expected_parents(PROVINCE_SHIP), None);
        assert!(is_server("central.register") && !is_client("central.register"));
    }
}
