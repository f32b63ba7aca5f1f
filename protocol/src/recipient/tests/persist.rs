//! The city's saved form: what it writes loads back, and so does what the
//! previous release wrote (its whole state in one document, its outgoing
//! messages in their old shape).

use counterpart_domain::journal::{RecordKey, Records};
use serde_json::{json, Value};

use super::*;
use crate::outbox::Delivery;
use crate::persist::Persistent;
use crate::recipient::persist::LEGACY_KIND;

/// A city with an open case and a shipment whose receipt is in flight.
fn city_with_a_receipt_in_flight() -> (Recipient, i64) {
    let mut m = started();
    let h = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 100)]);
    m.on_shipment(&s, hours(h + 1)).unwrap();
    assert!(!m.on_tick(hours(h + 2)).is_empty());
    (m, h)
}

fn restore(records: &Records) -> Recipient {
    let headers = Arc::new(HeaderFactory::new(CITY, BOOT + 1));
    Recipient::restore(Arc::new(outbreak()), headers, records).expect("restores")
}

#[test]
fn a_restored_city_resends_what_was_in_flight_and_remembers_what_it_applied() {
    let (m, h) = city_with_a_receipt_in_flight();
    let mut back = restore(&m.records().unwrap());
    assert_eq!(back.open_case_id(), Some(CASE));
    let receipt = &back.shipments["shp-jiangsu-case-huangshi-1-1"].receipt;
    assert_eq!(
        receipt.delivery(),
        Delivery::Due {
            not_before: ScenarioTime(i64::MIN),
            failed_rounds: 0
        }
    );
    let again = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 100)]);
    assert!(back.on_shipment(&again, hours(h + 3)).unwrap().duplicate);
}

/// An outgoing message as the previous release saved it.
fn previous_shape(outgoing: &mut Value) {
    let (delivery, sends, not_before) = match &outgoing["delivery"] {
        Value::String(s) if s == "Done" => ("Delivered", 1, None),
        Value::String(s) if s == "GaveUp" => ("GaveUp", 12, None),
        Value::Object(o) if o.contains_key("InFlight") => {
            let failed = o["InFlight"]["failed_rounds"].as_u64().unwrap();
            ("InFlight", failed + 1, None)
        }
        Value::Object(o) if o.contains_key("Due") => {
            let failed = o["Due"]["failed_rounds"].as_u64().unwrap();
            let at = o["Due"]["not_before"].as_i64().filter(|&t| t != i64::MIN);
            ("Due", failed, at)
        }
        other => panic!("not a delivery: {other}"),
    };
    outgoing["delivery"] = json!(delivery);
    outgoing["sends"] = json!(sends);
    if let Some(at) = not_before {
        outgoing["not_before"] = json!(at);
    }
}

#[test]
fn the_previous_releases_whole_state_document_loads() {
    let (m, h) = city_with_a_receipt_in_flight();
    let mut doc: Value = serde_json::from_slice(&m.state_bytes().unwrap()).unwrap();
    previous_shape(&mut doc["case"]["request"]);
    for shipment in doc["shipments"].as_object_mut().unwrap().values_mut() {
        previous_shape(&mut shipment["receipt"]);
    }
    assert_eq!(doc["case"]["request"]["delivery"], json!("Delivered"));
    doc["applied"] = serde_json::to_value(&m.applied).unwrap();
    let body = serde_json::to_vec(&doc).unwrap();
    let records = Records::from([(RecordKey::new(LEGACY_KIND, ""), body)]);

    let mut back = restore(&records);
    assert_eq!(back.open_case_id(), Some(CASE));
    assert_eq!(back.case().unwrap().request.delivery(), Delivery::Done);
    assert_eq!(
        back.undelivered_receipts(),
        ["shp-jiangsu-case-huangshi-1-1"]
    );
    // The receipt in flight when the old process stopped goes out again,
    // under the id it was first sent with.
    let sent = back.on_tick(hours(h + 3));
    let resent = sent.iter().find_map(|o| match o {
        Outbound::Receipt { receipt, .. } => Some(receipt),
        _ => None,
    });
    let first = m.receipt_of("shp-jiangsu-case-huangshi-1-1").unwrap();
    assert_eq!(resent, Some(first));
    let again = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 100)]);
    assert!(back.on_shipment(&again, hours(h + 3)).unwrap().duplicate);
}
