//! The ledger as the 0.1.0 whole-state document holds it: its entries
//! only. Reading one back rebuilds what the ledger derives from them (the
//! receipts by case), so no ledger ever holds an index that disagrees
//! with its entries.

use std::collections::{BTreeMap, BTreeSet};

use counterpart_domain::quantities::Quantities;

use super::{as_pairs, Ledger, Pair, ReceiptEntry, ShipmentEntry};

/// [`Ledger`]'s saved fields, the same names and formats: a field added
/// there must be added here (`index_tests` reads a ledger with every field
/// set back through this, and compares).
#[derive(serde::Deserialize)]
pub struct SavedLedger {
    shipments: BTreeMap<String, ShipmentEntry>,
    receipts: BTreeMap<String, ReceiptEntry>,
    #[serde(with = "as_pairs")]
    shipments_by_pair: BTreeMap<Pair, BTreeSet<String>>,
    #[serde(with = "as_pairs")]
    targets: BTreeMap<Pair, Quantities>,
    city_of_case: BTreeMap<String, String>,
    #[serde(with = "as_pairs")]
    costs: BTreeMap<Pair, i64>,
}

impl From<SavedLedger> for Ledger {
    fn from(saved: SavedLedger) -> Ledger {
        let mut ledger = Ledger {
            shipments: saved.shipments,
            shipments_by_pair: saved.shipments_by_pair,
            targets: saved.targets,
            city_of_case: saved.city_of_case,
            costs: saved.costs,
            ..Ledger::default()
        };
        for entry in saved.receipts.into_values() {
            ledger.insert_receipt(entry);
        }
        ledger
    }
}
