//! A shipment's manifest, checked, and the receipt the city owes for it
//! (protocol step 10): per line, received + discrepancies = shipped.

use std::collections::BTreeSet;

use crate::refusal::Refusal;
use crate::validate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::{Category, ResourceType};
use pairing_proto::v1::{
    Discrepancy, DiscrepancyReason, ManifestLine, MessageHeader, Receipt, ResourceQuantity,
    Shipment,
};

/// Shipments one city keeps in memory in a run. A scenario sends a few
/// dozen; the bound only stops a misbehaving donor from growing memory.
pub const MAX_SHIPMENTS: usize = 10_000;

/// The manifest's lines as (type, quantity), in manifest order: known
/// types, each at most once, sane quantities, and contributions that add
/// up to each line's quantity.
pub fn manifest(lines: &[ManifestLine]) -> Result<Vec<(ResourceType, i64)>, Refusal> {
    if lines.is_empty() {
        return Err(Refusal::invalid_argument(
            "lines: a shipment carries at least one line",
        ));
    }
    validate::list_len("lines", lines.len(), validate::MAX_LINES)?;
    let mut seen = BTreeSet::new();
    let mut checked = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let t = validate::resource_type(
            format_args!("lines[{i}].resource_type"),
            &line.resource_type,
        )?;
        let q = validate::quantity(format_args!("lines[{i}].quantity"), t, line.quantity)?;
        if !seen.insert(t) {
            return Err(Refusal::invalid_argument(format!(
                "lines[{i}].resource_type: {t} appears more than once"
            )));
        }
        contributions(i, t, q, line)?;
        checked.push((t, q));
    }
    Ok(checked)
}

/// Line `i`'s contributions: named prefectures, sane quantities, summing to
/// the line's quantity `q`.
fn contributions(i: usize, t: ResourceType, q: i64, line: &ManifestLine) -> Result<(), Refusal> {
    let field = format!("lines[{i}].contributed_by");
    validate::list_len(&field, line.contributed_by.len(), validate::MAX_LINES)?;
    let mut sum: i64 = 0;
    for (j, c) in line.contributed_by.iter().enumerate() {
        validate::text(format_args!("{field}[{j}].prefecture"), &c.prefecture)?;
        // Each is at most the type's maximum and there are at most
        // MAX_LINES of them: the sum cannot overflow.
        sum += validate::quantity(format_args!("{field}[{j}].quantity"), t, c.quantity)?;
    }
    if sum != q {
        return Err(Refusal::invalid_argument(format!(
            "{field}: contributions sum to {sum}, not the line's quantity {q}"
        )));
    }
    Ok(())
}

/// Of `shipped` units of `t`, how many arrive usable and how many were lost:
/// material loses `floor(shipped x loss_rate x 2 x draw)` for a seeded
/// `draw` in 0..1 (so `loss_rate` on average, from none to twice it, one
/// draw per shipment and type); personnel and funds arrive whole.
pub fn arrived(t: ResourceType, shipped: i64, loss_rate: f64, draw: f64) -> (i64, i64) {
    debug_assert!((0.0..1.0).contains(&draw), "draw {draw}");
    let lost = match t.category() {
        Category::Material => {
            ((shipped as f64 * loss_rate * 2.0 * draw).floor() as i64).clamp(0, shipped)
        }
        Category::Personnel | Category::Funds => 0,
    };
    (shipped - lost, lost)
}

/// The draw that decides how much of a shipment's `t` was lost in
/// transit, seeded by the run's `seed` (counterpart_domain::draw).
pub fn transit_draw(seed: u64, shipment_id: &str, t: ResourceType) -> f64 {
    let key = format!("transit-loss/{shipment_id}/{}", t.as_str());
    counterpart_domain::draw::unit(seed, &key)
}

/// The receipt for `shipment` (whose manifest `lines` is checked), and
/// what arrived per type.
pub fn receipt_for(
    shipment: &Shipment,
    lines: &[(ResourceType, i64)],
    loss_rate: f64,
    seed: u64,
    header: MessageHeader,
    now: ScenarioTime,
) -> (Receipt, Quantities) {
    let mut received = Vec::with_capacity(lines.len());
    let mut discrepancies = Vec::new();
    let mut by_type = Quantities::new();
    for &(t, shipped) in lines {
        let draw = transit_draw(seed, &shipment.shipment_id, t);
        let (usable, lost) = arrived(t, shipped, loss_rate, draw);
        assert_eq!(usable + lost, shipped, "a receipt accounts for every unit");
        received.push(ResourceQuantity {
            resource_type: t.into(),
            quantity: usable,
        });
        if lost > 0 {
            discrepancies.push(Discrepancy {
                resource_type: t.into(),
                quantity: lost,
                reason: DiscrepancyReason::DamagedInTransit as i32,
            });
        }
        by_type.insert(t, usable);
    }
    let receipt = Receipt {
        header: Some(header),
        receipt_id: format!("rcpt-{}", shipment.shipment_id),
        shipment_id: shipment.shipment_id.clone(),
        case_id: shipment.case_id.clone(),
        received_at_ms: now.0,
        received,
        discrepancies,
    };
    (receipt, by_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefusalCode as Code;
    use pairing_proto::v1::Contribution;

    fn line(t: &str, q: i64, by: &[(&str, i64)]) -> ManifestLine {
        ManifestLine {
            resource_type: t.into(),
            quantity: q,
            contributed_by: by
                .iter()
                .map(|&(p, q)| Contribution {
                    prefecture: p.into(),
                    quantity: q,
                })
                .collect(),
        }
    }

    #[test]
    fn material_loses_the_floor_of_the_loss_rate_and_staff_arrive_whole() {
        assert_eq!(
            arrived(ResourceType::MaskN95, 1_999, 0.01, 0.5),
            (1_980, 19)
        );
        assert_eq!(arrived(ResourceType::Doctor, 103, 0.5, 0.9), (103, 0));
        assert_eq!(
            arrived(ResourceType::FundsCny, 1_000_000, 0.5, 0.9),
            (1_000_000, 0)
        );
    }

    #[test]
    fn contributions_must_add_up_to_the_line() {
        let lines = [
            line("personnel/doctor", 10, &[("nanjing", 6), ("xuzhou", 4)]),
            line("material/mask_n95", 100, &[("nanjing", 90)]),
        ];
        let err = manifest(&lines).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(
            err.message().starts_with("lines[1].contributed_by"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn negative_and_unknown_lines_name_the_field() {
        let negative = manifest(&[line("personnel/nurse", -5, &[])]).unwrap_err();
        assert!(negative.message().starts_with("lines[0].quantity"));
        let unknown = manifest(&[line("material/unicorn", 1, &[("nanjing", 1)])]).unwrap_err();
        assert!(unknown.message().starts_with("lines[0].resource_type"));
        let twice = [
            line("funds/cny", 1, &[("a", 1)]),
            line("funds/cny", 1, &[("a", 1)]),
        ];
        assert!(manifest(&twice)
            .unwrap_err()
            .message()
            .starts_with("lines[1].resource_type"));
    }
}
