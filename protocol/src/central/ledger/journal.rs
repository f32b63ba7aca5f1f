//! The ledger as journal records: one per shipment, per receipt, per
//! donor's targets on a case (with the case's city) and per donor's cost.
//! Shipments and receipts never change once recorded (a differing record
//! is refused), so the journal only ever appends them; the index of
//! shipments by pair is rebuilt from the shipments on restore.

use std::collections::BTreeSet;

use counterpart_domain::journal::{self, Change, Records};
use counterpart_domain::quantities::Quantities;

use super::{pair, Ledger, Pair, ReceiptEntry, ShipmentEntry};

pub const SHIPMENT: &str = "shipment";
pub const RECEIPT: &str = "receipt";
pub const TARGET: &str = "target";
pub const COST: &str = "cost";

/// Keys of entries changed since the journal last took them. Not part of
/// the ledger's value: two ledgers with the same entries are equal
/// whatever each has yet to save.
#[derive(Debug, Clone, Default)]
pub struct Unsaved(BTreeSet<(&'static str, String)>);

impl PartialEq for Unsaved {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Unsaved {
    pub fn mark(&mut self, kind: &'static str, id: &str) {
        self.0.insert((kind, id.to_string()));
    }

    pub fn mark_pair(&mut self, kind: &'static str, case_id: &str, province_id: &str) {
        self.0.insert((kind, pair_id(&pair(case_id, province_id))));
    }
}

/// A pair as a record id: JSON, so no id can be mistaken for another
/// whatever characters the case and province ids hold.
fn pair_id(pair: &Pair) -> String {
    serde_json::to_string(pair).expect("two strings encode")
}

fn pair_of(id: &str) -> Result<Pair, String> {
    serde_json::from_str(id).map_err(|e| format!("ledger record {id:?}: {e}"))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| format!("ledger record: {e}"))
}

fn decode<T: serde::de::DeserializeOwned>(kind: &str, id: &str, body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("ledger {kind} {id:?}: {e}"))
}

impl Ledger {
    /// The records changed since the last call.
    pub fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        let keys = std::mem::take(&mut self.unsaved.0);
        keys.into_iter()
            .map(|(kind, id)| self.change_of(kind, id))
            .collect()
    }

    /// Forgets which entries changed (a ledger kept in memory only).
    pub fn discard_changes(&mut self) {
        self.unsaved.0.clear();
    }

    /// Every record of the ledger.
    pub fn records(&self) -> Result<Vec<Change>, String> {
        let ids = |kind: &'static str, ids: Vec<String>| ids.into_iter().map(move |id| (kind, id));
        ids(SHIPMENT, self.shipments.keys().cloned().collect())
            .chain(ids(RECEIPT, self.receipts.keys().cloned().collect()))
            .chain(ids(TARGET, self.targets.keys().map(pair_id).collect()))
            .chain(ids(COST, self.costs.keys().map(pair_id).collect()))
            .map(|(kind, id)| self.change_of(kind, id))
            .collect()
    }

    fn change_of(&self, kind: &'static str, id: String) -> Result<Change, String> {
        let body = match kind {
            SHIPMENT => self.shipments.get(&id).map(encode),
            RECEIPT => self.receipts.get(&id).map(encode),
            TARGET => {
                let pair = pair_of(&id)?;
                let city = self.city_of_case.get(&pair.0);
                self.targets
                    .get(&pair)
                    .map(|targets| encode(&(city, targets)))
            }
            COST => self.costs.get(&pair_of(&id)?).map(encode),
            other => return Err(format!("ledger: no record kind {other:?}")),
        };
        Ok(match body.transpose()? {
            Some(body) => Change::put(kind, id, body),
            None => Change::delete(kind, id),
        })
    }

    /// The ledger `records` describe.
    pub fn from_records(records: &Records) -> Result<Ledger, String> {
        let mut ledger = Ledger::default();
        for (id, body) in journal::of_kind(records, SHIPMENT) {
            let entry: ShipmentEntry = decode(SHIPMENT, id, body)?;
            ledger
                .shipments_by_pair
                .entry(pair(&entry.case_id, &entry.province_id))
                .or_default()
                .insert(id.to_string());
            ledger.shipments.insert(id.to_string(), entry);
        }
        for (id, body) in journal::of_kind(records, RECEIPT) {
            let entry: ReceiptEntry = decode(RECEIPT, id, body)?;
            if entry.shipment_id != id {
                return Err(format!(
                    "ledger receipt {id:?}: the record names shipment {:?}",
                    entry.shipment_id
                ));
            }
            ledger.insert_receipt(entry);
        }
        for (id, body) in journal::of_kind(records, TARGET) {
            let pair = pair_of(id)?;
            let (city, targets): (Option<String>, Quantities) = decode(TARGET, id, body)?;
            if let Some(city) = city {
                ledger.city_of_case.insert(pair.0.clone(), city);
            }
            ledger.targets.insert(pair, targets);
        }
        for (id, body) in journal::of_kind(records, COST) {
            ledger.costs.insert(pair_of(id)?, decode(COST, id, body)?);
        }
        Ok(ledger)
    }
}
