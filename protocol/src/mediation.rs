//! Mediation: a dispute between the paired sides, and central's ruling.
//!
//! The paper's central authority mediates conflicts between a donor and
//! its recipient (its section 4.4). Here a party raises a [`Dispute`] with
//! central about its counterpart, resting it on figures; central rules on
//! it against its own ledger ([`rule`]) and sends the same [`Mediation`] to
//! both parties. What each side does, and when a city raises one, is in
//! docs/PROTOCOL.md, "Mediation".
//!
//! Only the figures of a shortfall can be checked against central's
//! records (the donors' reported shipments, the cities' reported receipts).
//! A dispute of another kind (quality, conduct, cost) rests on statements
//! central cannot check; it is recorded in the case's events and dismissed
//! with that reason, so the parties know it was heard.

use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{Dispute, DisputeFigure, DisputeKind, Mediation, Ruling};

use crate::refusal::Refusal;
use crate::validate;

/// A shortfall counts when at least this many units of one type are
/// missing. An estimate, with no source: about one carton of masks (a
/// carton holds a few hundred); a receiving warehouse does not claim a few
/// boxes.
pub const SHORTFALL_MIN_UNITS: i64 = 250;
/// ... and at least this share of what was stated, in parts per million
/// (1,000 = 0.1 %). An estimate, with no source: below a tenth of a
/// percent a loss is within the counting error of a manifest.
pub const SHORTFALL_MIN_PPM: i64 = 1_000;
/// Most disputes one party may raise about one pairing: a party that
/// keeps disputing after rulings is answered by the first three, and the
/// rest are refused (`RESOURCE_EXHAUSTED`), so no party can flood central.
pub const MAX_DISPUTES_PER_PAIRING: usize = 3;

/// Whether `missing` units of `stated` call for a shortfall dispute.
pub fn is_shortfall(stated: i64, missing: i64) -> bool {
    missing >= SHORTFALL_MIN_UNITS
        && missing.saturating_mul(1_000_000) >= stated * SHORTFALL_MIN_PPM
}

/// The figures of a shortfall dispute: for every type where what arrived
/// usable (`observed`) falls short of what the counterpart stated it sent
/// (`stated`) by enough to count. Empty when the numbers do not call for a
/// dispute.
pub fn shortfall(stated: &Quantities, observed: &Quantities) -> Vec<DisputeFigure> {
    stated
        .iter()
        .filter(|&(&t, &s)| is_shortfall(s, s - observed.of(t)))
        .map(|(t, &s)| DisputeFigure {
            resource_type: t.as_str().to_string(),
            stated: s,
            observed: observed.of(*t),
        })
        .collect()
}

/// A dispute's fields, checked; each refusal names its field.
pub fn check(dispute: &Dispute) -> Result<DisputeKind, Refusal> {
    validate::text("dispute_id", &dispute.dispute_id)?;
    validate::text("case_id", &dispute.case_id)?;
    validate::text("counterpart_id", &dispute.counterpart_id)?;
    validate::bounded_text("assignment_id", &dispute.assignment_id)?;
    validate::bounded_text("shipment_id", &dispute.shipment_id)?;
    validate::bounded_text("statement", &dispute.statement)?;
    let kind: DisputeKind = known("kind", dispute.kind, KINDS)?;
    let figures = &dispute.evidence;
    validate::list_len("evidence", figures.len(), validate::MAX_LINES)?;
    for (i, f) in figures.iter().enumerate() {
        let t = validate::resource_type(
            format_args!("evidence[{i}].resource_type"),
            &f.resource_type,
        )?;
        validate::quantity(format_args!("evidence[{i}].stated"), t, f.stated)?;
        validate::quantity(format_args!("evidence[{i}].observed"), t, f.observed)?;
    }
    if kind == DisputeKind::Shortfall && figures.is_empty() {
        return Err(Refusal::invalid_argument(
            "evidence: a shortfall names at least one figure",
        ));
    }
    Ok(kind)
}

/// A ruling's fields, as a donor or a city checks them; returns its kind
/// and ruling. Each refusal names its field.
pub fn check_ruling(m: &Mediation) -> Result<(DisputeKind, Ruling), Refusal> {
    validate::text("dispute_id", &m.dispute_id)?;
    validate::text("case_id", &m.case_id)?;
    validate::bounded_text("assignment_id", &m.assignment_id)?;
    validate::bounded_text("reason", &m.reason)?;
    validate::text("raised_by", &m.raised_by)?;
    validate::quantities("raised_targets", &m.raised_targets)?;
    let kind = known("kind", m.kind, KINDS)?;
    let ruling = known("ruling", m.ruling, "upheld or dismissed")?;
    Ok((kind, ruling))
}

/// What a dispute's kind may be, for refusals.
const KINDS: &str = "a dispute kind (shortfall, quality, conduct, cost)";

/// A wire enum's value that is known and not the unspecified 0.
fn known<E: TryFrom<i32>>(field: &str, value: i32, expected: &str) -> Result<E, Refusal> {
    match E::try_from(value) {
        Ok(e) if value != 0 => Ok(e),
        _ => Err(Refusal::invalid_argument(format!(
            "{field}: {value} is not {expected}"
        ))),
    }
}

/// What central's ledger holds for the pairing a dispute is about.
#[derive(Debug, Clone, Default)]
pub struct LedgerView {
    /// What the donor reported shipping on the assignment.
    pub shipped: Quantities,
    /// What the city reported receiving usable from those shipments.
    pub received: Quantities,
    /// What the assignment's targets are now.
    pub targets: Quantities,
}

/// Central's ruling, before it is stamped and sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub ruling: Ruling,
    pub reason: String,
    /// Upheld: the assignment's targets from now on, raised by what the
    /// ledger shows missing; empty when nothing changes.
    pub raised_targets: Quantities,
    pub warning: bool,
}

/// Rules on a checked dispute against central's ledger. A shortfall is
/// upheld for the types where the ledger itself shows one (the donor's
/// reported shipments against the city's reported receipts), and the donor
/// is to make the missing units good: its targets rise by them. No warning
/// for a loss in transit: a donor is warned for what it did, not for the
/// road. Every other kind is dismissed: central holds no record to check it.
pub fn rule(kind: DisputeKind, evidence: &[DisputeFigure], ledger: &LedgerView) -> Decision {
    if kind != DisputeKind::Shortfall {
        return dismissed(format!(
            "central keeps no records that can bear out a {} dispute; it is noted in the case's events",
            kind.as_str_name().trim_start_matches("DISPUTE_KIND_").to_lowercase()
        ));
    }
    let mut raised = ledger.targets.clone();
    let mut confirmed = Vec::new();
    for figure in evidence {
        let Ok(t) = figure.resource_type.parse::<ResourceType>() else {
            continue; // checked before: cannot happen, and changes nothing
        };
        let shipped = ledger.shipped.of(t);
        let missing = shipped - ledger.received.of(t);
        if is_shortfall(shipped, missing) {
            raised.add(t, missing);
            confirmed.push(format!("{t}: {missing} of {shipped} reported shipped"));
        }
    }
    if confirmed.is_empty() {
        return dismissed(
            "central's ledger shows no shortfall of that size on the assignment".to_string(),
        );
    }
    Decision {
        ruling: Ruling::Upheld,
        reason: format!("central's ledger shows missing {}", confirmed.join(", ")),
        raised_targets: raised,
        warning: false,
    }
}

fn dismissed(reason: String) -> Decision {
    Decision {
        ruling: Ruling::Dismissed,
        reason,
        raised_targets: Quantities::new(),
        warning: false,
    }
}

#[cfg(test)]
#[path = "mediation_tests.rs"]
mod tests;
