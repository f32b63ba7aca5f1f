//! The ledger of shipments and receipts per case and donor (PROTOCOL.md steps
//! 12-13 and 18): what each donor says it shipped, what each city says it
//! received, cross-checked line by line. Pure data, no I/O.
//!
//! Reports are cumulative, so the same record arrives again and again: merging
//! is idempotent by shipment id. A record that comes back with different
//! content is refused, and so is a receipt that does not add up to its
//! shipment (received + discrepancy = shipped, per type), whichever of the two
//! arrives first. A refused batch changes nothing. So every type of every
//! pair always balances: shipped = received + discrepancy + in transit.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use counterpart_domain::quantities::Quantities;

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{DonorCost, LedgerLine};

use crate::central::evaluation::AssignmentProgress;

mod journal;
mod saved;

/// What a donor reported it shipped (one `ShipmentRecord`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShipmentEntry {
    pub shipment_id: String,
    pub case_id: String,
    pub province_id: String,
    pub departed_at_ms: i64,
    pub lines: Quantities,
}

/// What a city reported it received of one shipment (one `ReceiptRecord`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptEntry {
    pub shipment_id: String,
    pub case_id: String,
    pub received_at_ms: i64,
    pub received: Quantities,
    /// Explained shortfall per type, all reasons together.
    pub discrepancy: Quantities,
}

/// Why a batch of records was refused; nothing of the batch was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// A shipment already recorded (or repeated in the batch) differs.
    ShipmentChanged { shipment_id: String },
    /// A receipt already recorded (or repeated in the batch) differs.
    ReceiptChanged { shipment_id: String },
    /// received + discrepancy != shipped for this type of the shipment.
    ReceiptDoesNotAddUp {
        shipment_id: String,
        resource_type: ResourceType,
    },
    /// The receipt and the shipment name different cases.
    CaseMismatch {
        shipment_id: String,
        shipment_case_id: String,
        receipt_case_id: String,
    },
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::ShipmentChanged { shipment_id } => {
                write!(f, "shipment {shipment_id:?} differs from the record already reported")
            }
            LedgerError::ReceiptChanged { shipment_id } => {
                write!(f, "receipt of shipment {shipment_id:?} differs from the record already reported")
            }
            LedgerError::ReceiptDoesNotAddUp { shipment_id, resource_type } => write!(
                f,
                "shipment {shipment_id:?}: received + discrepancy of {resource_type} does not add up to what was shipped"
            ),
            LedgerError::CaseMismatch { shipment_id, shipment_case_id, receipt_case_id } => write!(
                f,
                "shipment {shipment_id:?} belongs to case {shipment_case_id:?}, its receipt names case {receipt_case_id:?}"
            ),
        }
    }
}

impl std::error::Error for LedgerError {}

/// A case and one of its donors.
type Pair = (String, String);

/// Maps keyed by a pair, saved as a list of entries: JSON keys must be
/// strings.
mod as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Vec::<(K, V)>::deserialize(deserializer).map(|entries| entries.into_iter().collect())
    }
}

/// Every shipment and receipt reported, targets and costs, per case and donor.
///
/// Read back from JSON (the 0.1.0 whole-state document) through
/// [`saved::SavedLedger`], which rebuilds the derived index.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "saved::SavedLedger")]
pub struct Ledger {
    shipments: BTreeMap<String, ShipmentEntry>,
    /// By shipment id; may arrive before its shipment.
    receipts: BTreeMap<String, ReceiptEntry>,
    /// The shipment ids of each case's receipts, derived from `receipts`:
    /// the run report asks for every case's receipts, and a scan of all
    /// receipts for each case made it quadratic in cases (issue 17).
    #[serde(skip)]
    receipts_by_case: BTreeMap<String, BTreeSet<String>>,
    #[serde(with = "as_pairs")]
    shipments_by_pair: BTreeMap<Pair, BTreeSet<String>>,
    #[serde(with = "as_pairs")]
    targets: BTreeMap<Pair, Quantities>,
    city_of_case: BTreeMap<String, String>,
    #[serde(with = "as_pairs")]
    costs: BTreeMap<Pair, i64>,
    /// Entries changed since central's journal last took them.
    #[serde(skip)]
    unsaved: journal::Unsaved,
}

impl Ledger {
    /// Sets (or replaces) a donor's targets on a case, and the case's city.
    pub fn set_targets(
        &mut self,
        case_id: &str,
        city_id: &str,
        province_id: &str,
        targets: Quantities,
    ) {
        self.city_of_case
            .insert(case_id.to_string(), city_id.to_string());
        self.targets.insert(pair(case_id, province_id), targets);
        self.unsaved
            .mark_pair(journal::TARGET, case_id, province_id);
    }

    /// Merges a donor's shipment records; returns how many were new. Records
    /// already known are skipped; any conflict refuses the whole batch.
    pub fn record_shipments(&mut self, entries: Vec<ShipmentEntry>) -> Result<usize, LedgerError> {
        let mut fresh: BTreeMap<String, ShipmentEntry> = BTreeMap::new();
        for mut entry in entries {
            drop_zeros(&mut entry.lines);
            let known = self
                .shipments
                .get(&entry.shipment_id)
                .or_else(|| fresh.get(&entry.shipment_id));
            match known {
                Some(known) if *known == entry => continue,
                Some(_) => {
                    return Err(LedgerError::ShipmentChanged {
                        shipment_id: entry.shipment_id,
                    })
                }
                None => {}
            }
            if let Some(receipt) = self.receipts.get(&entry.shipment_id) {
                check_adds_up(&entry, receipt)?;
            }
            fresh.insert(entry.shipment_id.clone(), entry);
        }
        let new = fresh.len();
        for (id, entry) in fresh {
            self.unsaved.mark(journal::SHIPMENT, &id);
            self.shipments_by_pair
                .entry(pair(&entry.case_id, &entry.province_id))
                .or_default()
                .insert(id.clone());
            self.shipments.insert(id, entry);
        }
        Ok(new)
    }

    /// Merges a city's receipt records; returns how many were new. Records
    /// already known are skipped; any conflict refuses the whole batch.
    pub fn record_receipts(&mut self, entries: Vec<ReceiptEntry>) -> Result<usize, LedgerError> {
        let mut fresh: BTreeMap<String, ReceiptEntry> = BTreeMap::new();
        for mut entry in entries {
            drop_zeros(&mut entry.received);
            drop_zeros(&mut entry.discrepancy);
            let known = self
                .receipts
                .get(&entry.shipment_id)
                .or_else(|| fresh.get(&entry.shipment_id));
            match known {
                Some(known) if *known == entry => continue,
                Some(_) => {
                    return Err(LedgerError::ReceiptChanged {
                        shipment_id: entry.shipment_id,
                    })
                }
                None => {}
            }
            if let Some(shipment) = self.shipments.get(&entry.shipment_id) {
                check_adds_up(shipment, &entry)?;
            }
            fresh.insert(entry.shipment_id.clone(), entry);
        }
        let new = fresh.len();
        for (id, entry) in fresh {
            self.unsaved.mark(journal::RECEIPT, &id);
            self.insert_receipt(entry);
        }
        Ok(new)
    }

    /// The donor's cost so far on the case, as last reported.
    pub fn record_cost(&mut self, case_id: &str, province_id: &str, cost_cny: i64) {
        let before = self.costs.insert(pair(case_id, province_id), cost_cny);
        // Reports are cumulative: the same cost comes again and again.
        if before != Some(cost_cny) {
            self.unsaved.mark_pair(journal::COST, case_id, province_id);
        }
    }

    /// The donor's shipments to the case, by departure (then id).
    pub fn shipments_of(&self, case_id: &str, province_id: &str) -> Vec<&ShipmentEntry> {
        let mut shipments: Vec<&ShipmentEntry> =
            self.pair_shipments(case_id, province_id).collect();
        shipments.sort_by(|a, b| {
            (a.departed_at_ms, &a.shipment_id).cmp(&(b.departed_at_ms, &b.shipment_id))
        });
        shipments
    }

    pub fn receipt_for(&self, shipment_id: &str) -> Option<&ReceiptEntry> {
        self.receipts.get(shipment_id)
    }

    /// The pair's figures per type, for evaluation: shipped lines with a
    /// receipt count as received and discrepancy, the others as in transit.
    pub fn progress(
        &self,
        case_id: &str,
        province_id: &str,
        days_since_acknowledged: f64,
    ) -> AssignmentProgress {
        let mut progress = AssignmentProgress {
            targets: self
                .targets
                .get(&pair(case_id, province_id))
                .cloned()
                .unwrap_or_default(),
            days_since_acknowledged,
            ..Default::default()
        };
        for shipment in self.pair_shipments(case_id, province_id) {
            add_all(&mut progress.shipped, &shipment.lines);
            match self.receipts.get(&shipment.shipment_id) {
                Some(receipt) => {
                    add_all(&mut progress.received, &receipt.received);
                    add_all(&mut progress.discrepancy, &receipt.discrepancy);
                }
                None => add_all(&mut progress.in_transit, &shipment.lines),
            }
        }
        progress
    }

    /// Every shipment this donor recorded for the case has a receipt.
    pub fn all_receipted(&self, case_id: &str, province_id: &str) -> bool {
        self.pair_shipments(case_id, province_id)
            .all(|s| self.receipts.contains_key(&s.shipment_id))
    }

    /// (shipped by every donor, received as the city reported) for the case.
    pub fn case_totals(&self, case_id: &str) -> (Quantities, Quantities) {
        let mut shipped = Quantities::new();
        for (_, ids) in of_case(&self.shipments_by_pair, case_id) {
            for id in ids {
                add_all(&mut shipped, &self.shipment(id).lines);
            }
        }
        let mut received = Quantities::new();
        for r in self.case_receipts(case_id) {
            add_all(&mut received, &r.received);
        }
        (shipped, received)
    }

    /// When the first receipted shipment of the case arrived.
    pub fn first_arrival_ms(&self, case_id: &str) -> Option<i64> {
        self.case_receipts(case_id).map(|r| r.received_at_ms).min()
    }

    /// One line per case, donor and type (targeted or shipped), in that order.
    pub fn lines(&self) -> Vec<LedgerLine> {
        let pairs: BTreeSet<&Pair> = self
            .targets
            .keys()
            .chain(self.shipments_by_pair.keys())
            .collect();
        let mut lines = Vec::new();
        for (case_id, province_id) in pairs {
            let p = self.progress(case_id, province_id, 0.0);
            let city_id = self.city_of_case.get(case_id).cloned().unwrap_or_default();
            let types: BTreeSet<ResourceType> =
                p.targets.keys().chain(p.shipped.keys()).copied().collect();
            for t in types {
                let get = |m: &Quantities| m.get(&t).copied().unwrap_or(0);
                lines.push(LedgerLine {
                    case_id: case_id.clone(),
                    city_id: city_id.clone(),
                    province_id: province_id.clone(),
                    resource_type: t.as_str().to_string(),
                    target: get(&p.targets),
                    shipped: get(&p.shipped),
                    received: get(&p.received),
                    discrepancy: get(&p.discrepancy),
                    in_transit: get(&p.in_transit),
                });
            }
        }
        lines
    }

    /// What the case cost donor `province_id`, as it last reported it.
    pub fn cost_of(&self, case_id: &str, province_id: &str) -> i64 {
        self.costs
            .get(&pair(case_id, province_id))
            .copied()
            .unwrap_or(0)
    }

    /// What the case cost its donors, as they last reported it.
    pub fn case_cost(&self, case_id: &str) -> i64 {
        of_case(&self.costs, case_id)
            .map(|(_, &cost)| cost)
            .fold(0, i64::saturating_add)
    }

    /// Each donor's cost, summed over its cases, by province id.
    pub fn costs(&self) -> Vec<DonorCost> {
        let mut by_province: BTreeMap<&str, i64> = BTreeMap::new();
        for ((_, province_id), &cost) in &self.costs {
            let total = by_province.entry(province_id).or_insert(0);
            *total = total.saturating_add(cost);
        }
        by_province
            .into_iter()
            .map(|(province_id, cost_cny)| DonorCost {
                province_id: province_id.to_string(),
                cost_cny,
            })
            .collect()
    }

    fn pair_shipments<'a>(
        &'a self,
        case_id: &str,
        province_id: &str,
    ) -> impl Iterator<Item = &'a ShipmentEntry> + 'a {
        self.shipments_by_pair
            .get(&pair(case_id, province_id))
            .into_iter()
            .flatten()
            .map(|id| self.shipment(id))
    }

    fn shipment(&self, id: &str) -> &ShipmentEntry {
        self.shipments
            .get(id)
            .expect("the pair index names recorded shipments")
    }

    /// Every receipt of `case_id`, in shipment-id order.
    pub fn case_receipts<'a>(
        &'a self,
        case_id: &'a str,
    ) -> impl Iterator<Item = &'a ReceiptEntry> + 'a {
        self.receipts_by_case
            .get(case_id)
            .into_iter()
            .flatten()
            .map(|id| {
                self.receipts
                    .get(id)
                    .expect("the case index names recorded receipts")
            })
    }

    /// Records a receipt and indexes it by case: the one way in.
    fn insert_receipt(&mut self, entry: ReceiptEntry) {
        self.receipts_by_case
            .entry(entry.case_id.clone())
            .or_default()
            .insert(entry.shipment_id.clone());
        self.receipts.insert(entry.shipment_id.clone(), entry);
    }
}

/// The entries of a map keyed by (case, donor) that belong to `case_id`:
/// the keys sort by case first, so they are one range.
fn of_case<'a, V>(
    map: &'a BTreeMap<Pair, V>,
    case_id: &'a str,
) -> impl Iterator<Item = (&'a Pair, &'a V)> + 'a {
    map.range((case_id.to_string(), String::new())..)
        .take_while(move |((case, _), _)| case == case_id)
}

fn pair(case_id: &str, province_id: &str) -> Pair {
    (case_id.to_string(), province_id.to_string())
}

/// A zero line says nothing; dropping it makes equal records compare equal.
fn drop_zeros(quantities: &mut Quantities) {
    quantities.retain(|_, q| *q != 0);
}

fn add_all(total: &mut Quantities, quantities: &Quantities) {
    for (&t, &q) in quantities {
        let sum = total.entry(t).or_insert(0);
        *sum = sum.saturating_add(q);
    }
}

/// The cross-check of one shipment against its receipt.
fn check_adds_up(shipment: &ShipmentEntry, receipt: &ReceiptEntry) -> Result<(), LedgerError> {
    if shipment.case_id != receipt.case_id {
        return Err(LedgerError::CaseMismatch {
            shipment_id: shipment.shipment_id.clone(),
            shipment_case_id: shipment.case_id.clone(),
            receipt_case_id: receipt.case_id.clone(),
        });
    }
    let types: BTreeSet<&ResourceType> = shipment
        .lines
        .keys()
        .chain(receipt.received.keys())
        .chain(receipt.discrepancy.keys())
        .collect();
    for &t in types {
        let get = |m: &Quantities| i128::from(m.get(&t).copied().unwrap_or(0));
        if get(&receipt.received) + get(&receipt.discrepancy) != get(&shipment.lines) {
            return Err(LedgerError::ReceiptDoesNotAddUp {
                shipment_id: shipment.shipment_id.clone(),
                resource_type: t,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod index_tests;
#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
