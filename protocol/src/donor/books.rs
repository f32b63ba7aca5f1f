//! The donor's own books: per case, city and resource type, what it shipped
//! and what the city confirmed receiving. Central keeps a ledger from the
//! reports of both sides; these books let an operator check that ledger
//! against what the province itself recorded (`pairctl ledger --reconcile`).

use std::collections::BTreeMap;

use pairing_proto::v1::{BookLine, Books};

use super::Donor;

impl Donor {
    pub fn books(&self) -> Books {
        let mut lines: BTreeMap<(String, String, String), BookLine> = BTreeMap::new();
        for a in self.assignments.values() {
            for s in &a.shipments {
                for cargo in &s.lines {
                    let t = cargo.resource_type.as_str().to_string();
                    let line = lines
                        .entry((a.case_id.clone(), a.city_id.clone(), t.clone()))
                        .or_insert_with(|| BookLine {
                            case_id: a.case_id.clone(),
                            city_id: a.city_id.clone(),
                            province_id: self.province.id.clone(),
                            resource_type: t.clone(),
                            ..Default::default()
                        });
                    line.shipped += cargo.quantity;
                    line.shipments += 1;
                    let Some(receipt) = &s.receipt else { continue };
                    line.received += receipt
                        .received
                        .get(&cargo.resource_type)
                        .copied()
                        .unwrap_or(0);
                    line.discrepancy += receipt
                        .discrepancies
                        .iter()
                        .filter(|d| d.resource_type == t)
                        .map(|d| d.quantity)
                        .sum::<i64>();
                }
            }
        }
        Books {
            node_id: self.province.id.clone(),
            lines: lines.into_values().collect(),
        }
    }
}
