//! The city's own books: per case, donor and resource type, what arrived
//! and what fell short. Central keeps a ledger from both sides' reports;
//! these books let an operator check it against what the city itself
//! recorded (`pairctl ledger --reconcile`).

use std::collections::BTreeMap;

use pairing_proto::v1::{BookLine, Books};

use super::Recipient;

impl Recipient {
    pub fn books(&self) -> Books {
        let city_id = self.city().id.clone();
        let mut lines: BTreeMap<(String, String, String), BookLine> = BTreeMap::new();
        for shipment in self.shipments.values() {
            let receipt = shipment.receipt.message();
            let short = |t: &str| -> i64 {
                receipt
                    .discrepancies
                    .iter()
                    .filter(|d| d.resource_type == t)
                    .map(|d| d.quantity)
                    .sum()
            };
            for (resource_type, quantity) in &shipment.received {
                let t = resource_type.as_str().to_string();
                let line = lines
                    .entry((
                        shipment.case_id.clone(),
                        shipment.donor_id.clone(),
                        t.clone(),
                    ))
                    .or_insert_with(|| BookLine {
                        case_id: shipment.case_id.clone(),
                        city_id: city_id.clone(),
                        province_id: shipment.donor_id.clone(),
                        resource_type: t.clone(),
                        ..Default::default()
                    });
                line.received += quantity;
                line.discrepancy += short(&t);
                line.shipments += 1;
            }
        }
        Books {
            node_id: city_id,
            lines: lines.into_values().collect(),
        }
    }
}
