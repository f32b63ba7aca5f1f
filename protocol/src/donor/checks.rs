//! Checks of incoming messages that [`crate::validate`] does not cover:
//! who may send what, the clock, enums, endpoints, and receipt arithmetic.
//! Each returns the refusal to answer, naming the field.

use std::collections::BTreeMap;

use counterpart_domain::clock::Clock;
use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{DiscrepancyReason, MessageHeader, Receipt};

use super::assignment::CargoLine;
use crate::validate;
use crate::Refusal;

/// The node id of the central authority.
pub const CENTRAL_ID: &str = "central";

/// Only central assigns, evaluates, adjusts, demobilises and starts the clock.
pub fn from_central(header: &MessageHeader) -> Result<(), Refusal> {
    if header.sender_id != CENTRAL_ID {
        return Err(Refusal::permission_denied(format!(
            "header.sender_id: {:?} is not {CENTRAL_ID:?}, the only sender of this message",
            header.sender_id
        )));
    }
    Ok(())
}

/// The donor acts only once central has started the clock.
pub fn clock_started(clock: Option<Clock>) -> Result<Clock, Refusal> {
    clock.ok_or_else(|| {
        Refusal::failed_precondition("clock: not started yet; central sends ClockStart first")
    })
}

/// An enum field that must hold a known value other than UNSPECIFIED (0).
pub fn known_enum<E: TryFrom<i32>>(
    field: impl std::fmt::Display,
    value: i32,
) -> Result<E, Refusal> {
    match E::try_from(value) {
        Ok(e) if value != 0 => Ok(e),
        _ => Err(Refusal::invalid_argument(format!(
            "{field}: {value} is not a known value (unspecified is refused)"
        ))),
    }
}

/// An http(s) endpoint of a peer.
pub fn endpoint(field: &str, value: &str) -> Result<(), Refusal> {
    validate::text(field, value)?;
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {value:?} is not an http:// or https:// endpoint"
        )));
    }
    Ok(())
}

/// A fraction in 0..=1.
pub fn fraction(field: &str, value: f64) -> Result<(), Refusal> {
    if !(0.0..=1.0).contains(&value) {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {value} is outside 0..=1"
        )));
    }
    Ok(())
}

/// Validates a receipt's lists on their own: bounded, known types, sane
/// quantities, reasons given. Returns what was received, per type.
pub fn receipt_fields(r: &Receipt) -> Result<Quantities, Refusal> {
    let received = validate::quantities("received", &r.received)?;
    validate::list_len("discrepancies", r.discrepancies.len(), validate::MAX_LINES)?;
    for (i, d) in r.discrepancies.iter().enumerate() {
        let t = validate::resource_type(
            format_args!("discrepancies[{i}].resource_type"),
            &d.resource_type,
        )?;
        validate::quantity(format_args!("discrepancies[{i}].quantity"), t, d.quantity)?;
        known_enum::<DiscrepancyReason>(format_args!("discrepancies[{i}].reason"), d.reason)?;
    }
    Ok(received)
}

/// Per line of the shipment, received + discrepancies = shipped, and the
/// receipt names no type the shipment did not carry.
pub fn receipt_balances(r: &Receipt, shipped: &[CargoLine]) -> Result<(), Refusal> {
    let shipped_of = |t: ResourceType| {
        shipped
            .iter()
            .filter(|l| l.resource_type == t)
            .map(|l| l.quantity)
            .sum::<i64>()
    };
    let carried = |t: ResourceType| shipped.iter().any(|l| l.resource_type == t);
    let mut accounted: Quantities = Quantities::new();
    let mut first_field: BTreeMap<ResourceType, String> = BTreeMap::new();
    let entries = r
        .received
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("received[{i}]"), &l.resource_type, l.quantity))
        .chain(
            r.discrepancies
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("discrepancies[{i}]"), &d.resource_type, d.quantity)),
        );
    for (field, type_name, q) in entries {
        // Types were checked by `receipt_fields`.
        let Ok(t) = type_name.parse::<ResourceType>() else {
            continue;
        };
        if !carried(t) && q > 0 {
            return Err(Refusal::invalid_argument(format!(
                "{field}.resource_type: the shipment carried no {t}"
            )));
        }
        *accounted.entry(t).or_insert(0) += q;
        first_field.entry(t).or_insert(field);
    }
    for line in shipped {
        let t = line.resource_type;
        let got = accounted.get(&t).copied().unwrap_or(0);
        let want = shipped_of(t);
        if got != want {
            let field = first_field
                .get(&t)
                .map(|f| format!("{f}.quantity"))
                .unwrap_or_else(|| "received".to_string());
            return Err(Refusal::invalid_argument(format!(
                "{field}: received + discrepancies for {t} is {got}, but {want} were shipped"
            )));
        }
    }
    Ok(())
}
