//! The checker's stage-order rule (rule 4), by start time within a case:
//! - no `province.ship` before that province's `central.acknowledgement`
//!   (a donor ships only on an acknowledged assignment);
//! - no `city.shipment` of a shipment before its `province.ship`;
//! - no `province.receipt` of a shipment before its `city.shipment`;
//! - no `central.close` before the case's last `province.receipt`;
//! - no `province.ship` after that province's `province.stand_down`;
//! - no `central.mediate` of a dispute before central received it
//!   (`central.dispute`, by `pairing.dispute_id`): a ruling answers a
//!   dispute.
//!
//! Demobilisation orders themselves may precede receipts: a donor still
//! waits for what is in transit (PROTOCOL step 17), so only the closing is
//! held to the last receipt.

use std::collections::HashMap;

use super::case::{Case, SpanIndex};
use super::check::{Rule, Violation};
use super::conventions::{
    CENTRAL_ACKNOWLEDGEMENT, CENTRAL_CLOSE, CENTRAL_DISPUTE, CENTRAL_MEDIATE, CITY_SHIPMENT,
    PROVINCE_RECEIPT, PROVINCE_SHIP, PROVINCE_STAND_DOWN,
};
use super::model::{province_of_service, Span, DISPUTE_ID, PROVINCE, SHIPMENT_ID};

/// Appends the order violations of `case` to `out`.
pub(crate) fn check(case: &Case, index: &SpanIndex, out: &mut Vec<Violation>) {
    check_shipments_follow_acknowledgements(case, index, out);
    check_by(case, SHIPMENT_ID, PROVINCE_SHIP, CITY_SHIPMENT, out);
    check_by(case, SHIPMENT_ID, CITY_SHIPMENT, PROVINCE_RECEIPT, out);
    check_by(case, DISPUTE_ID, CENTRAL_DISPUTE, CENTRAL_MEDIATE, out);
    check_closing_follows_receipts(case, out);
}

/// The province a span concerns: the exporting province, else its
/// `pairing.province`, else the province that sent its parent (central's
/// server spans).
fn province_of<'a>(span: &'a Span, index: &SpanIndex<'a>) -> Option<&'a str> {
    span.province_service()
        .or_else(|| span.attribute(PROVINCE))
        .or_else(|| {
            index
                .parent(span)
                .and_then(|p| province_of_service(&p.service))
        })
}

/// The earliest span named `name` per key.
fn first_by<'a>(
    case: &Case<'a>,
    name: &str,
    key: impl Fn(&'a Span) -> Option<&'a str>,
) -> HashMap<&'a str, &'a Span> {
    let mut first = HashMap::new();
    for span in case.named(name) {
        if let Some(k) = key(span) {
            // Spans come by start time: the first one inserted is earliest.
            first.entry(k).or_insert(span);
        }
    }
    first
}

fn check_shipments_follow_acknowledgements(
    case: &Case,
    index: &SpanIndex,
    out: &mut Vec<Violation>,
) {
    let acknowledged = first_by(case, CENTRAL_ACKNOWLEDGEMENT, |s| province_of(s, index));
    let stood_down = first_by(case, PROVINCE_STAND_DOWN, |s| province_of(s, index));
    for ship in case.named(PROVINCE_SHIP) {
        let Some(province) = province_of(ship, index) else {
            out.push(
                case.violation(
                    ship,
                    Rule::Order,
                    "cannot tell which province shipped (no province service or pairing.province)"
                        .to_string(),
                ),
            );
            continue;
        };
        match acknowledged.get(province) {
            None => out.push(case.violation(
                ship,
                Rule::Order,
                format!("{province} ships with no {CENTRAL_ACKNOWLEDGEMENT} of its assignment"),
            )),
            Some(ack) if ship.start_unix_ns < ack.start_unix_ns => out.push(case.violation(
                ship,
                Rule::Order,
                format!(
                    "{province} ships {} ns before central has its acknowledgement ({})",
                    ack.start_unix_ns - ship.start_unix_ns,
                    ack.span_id
                ),
            )),
            Some(_) => {}
        }
        if let Some(stand_down) = stood_down.get(province) {
            if ship.start_unix_ns > stand_down.start_unix_ns {
                out.push(case.violation(
                    ship,
                    Rule::Order,
                    format!(
                        "{province} ships {} ns after it was stood down ({})",
                        ship.start_unix_ns - stand_down.start_unix_ns,
                        stand_down.span_id
                    ),
                ));
            }
        }
    }
}

/// Each `later` span must start after the first `earlier` span with the
/// same value of attribute `key` (a shipment id, a dispute id).
fn check_by(case: &Case, key: &str, earlier: &str, later: &str, out: &mut Vec<Violation>) {
    let firsts = first_by(case, earlier, |s| s.attribute(key));
    for span in case.named(later) {
        let Some(id) = span.attribute(key) else {
            out.push(case.violation(
                span,
                Rule::Order,
                format!("carries no {key}, so it cannot be ordered after {earlier}"),
            ));
            continue;
        };
        match firsts.get(id) {
            None => out.push(case.violation(
                span,
                Rule::Order,
                format!("{later} of {id} with no {earlier} of it"),
            )),
            Some(first) if span.start_unix_ns < first.start_unix_ns => out.push(case.violation(
                span,
                Rule::Order,
                format!(
                    "{later} of {id} starts {} ns before its {earlier} ({})",
                    first.start_unix_ns - span.start_unix_ns,
                    first.span_id
                ),
            )),
            Some(_) => {}
        }
    }
}

fn check_closing_follows_receipts(case: &Case, out: &mut Vec<Violation>) {
    let Some(last_receipt) = case.named(PROVINCE_RECEIPT).last() else {
        return;
    };
    for close in case.named(CENTRAL_CLOSE) {
        if close.start_unix_ns < last_receipt.start_unix_ns {
            out.push(case.violation(
                close,
                Rule::Order,
                format!(
                    "the case closes {} ns before its last {PROVINCE_RECEIPT} ({}, {})",
                    last_receipt.start_unix_ns - close.start_unix_ns,
                    last_receipt.span_id,
                    last_receipt.attribute(SHIPMENT_ID).unwrap_or("no shipment id")
                ),
            ));
        }
    }
}
