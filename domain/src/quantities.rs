//! "How much of each resource type": a need, a target, a pool, what a
//! shipment carries or a receipt counts. One type for all of them, so the
//! shape stays the same from the wire to the ledger and back.
//!
//! On the wire the same thing is a list of `ResourceQuantity` lines; the
//! conversion happens in one place each way: [`Quantities::to_wire`] here,
//! and `node_kit::validate::quantities`, which checks the lines (known
//! types, bounded quantities, each type once) before it builds one.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::ResourceQuantity;

/// Quantities by resource type, in catalog order. A type that is absent
/// counts as zero ([`Quantities::of`]).
///
/// It reads and writes like the map it wraps (`get`, `iter`, `entry`), and
/// is saved as that map, so the records of earlier releases still load.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Quantities(BTreeMap<ResourceType, i64>);

impl Quantities {
    pub fn new() -> Self {
        Quantities::default()
    }

    /// The quantity of `t`; zero when absent.
    pub fn of(&self, t: ResourceType) -> i64 {
        self.0.get(&t).copied().unwrap_or(0)
    }

    /// Adds `q` of `t` (which may be negative).
    pub fn add(&mut self, t: ResourceType, q: i64) {
        *self.0.entry(t).or_insert(0) += q;
    }

    /// The sum over every type.
    pub fn total(&self) -> i64 {
        self.0.values().sum()
    }

    /// As wire lines, in catalog order.
    pub fn to_wire(&self) -> Vec<ResourceQuantity> {
        self.0
            .iter()
            .map(|(t, q)| ResourceQuantity {
                resource_type: (*t).into(),
                quantity: *q,
            })
            .collect()
    }

    pub fn into_map(self) -> BTreeMap<ResourceType, i64> {
        self.0
    }
}

impl Deref for Quantities {
    type Target = BTreeMap<ResourceType, i64>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Quantities {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<ResourceType, i64>> for Quantities {
    fn from(map: BTreeMap<ResourceType, i64>) -> Self {
        Quantities(map)
    }
}

impl<const N: usize> From<[(ResourceType, i64); N]> for Quantities {
    fn from(lines: [(ResourceType, i64); N]) -> Self {
        Quantities(BTreeMap::from(lines))
    }
}

impl FromIterator<(ResourceType, i64)> for Quantities {
    fn from_iter<I: IntoIterator<Item = (ResourceType, i64)>>(iter: I) -> Self {
        Quantities(iter.into_iter().collect())
    }
}

impl IntoIterator for Quantities {
    type Item = (ResourceType, i64);
    type IntoIter = std::collections::btree_map::IntoIter<ResourceType, i64>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Quantities {
    type Item = (&'a ResourceType, &'a i64);
    type IntoIter = std::collections::btree_map::Iter<'a, ResourceType, i64>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::{Doctor, MaskN95, Nurse};

    #[test]
    fn an_absent_type_counts_as_zero_and_adding_creates_it() {
        let mut q = Quantities::from([(Doctor, 3)]);
        assert_eq!(q.of(Nurse), 0);
        q.add(Nurse, 5);
        q.add(Doctor, -1);
        assert_eq!((q.of(Doctor), q.of(Nurse), q.total()), (2, 5, 7));
    }

    #[test]
    fn wire_lines_come_in_catalog_order() {
        let q: Quantities = [(MaskN95, 1000), (Doctor, 2)].into_iter().collect();
        let lines = q.to_wire();
        let types: Vec<&str> = lines.iter().map(|l| l.resource_type.as_str()).collect();
        assert_eq!(types, ["personnel/doctor", "material/mask_n95"]);
        assert_eq!(lines[1].quantity, 1000);
    }

    /// Saved as the map it wraps: records written before the type existed
    /// load unchanged.
    #[test]
    fn it_is_saved_as_a_plain_map() {
        let q = Quantities::from([(Doctor, 3), (Nurse, 4)]);
        let json = serde_json::to_string(&q).unwrap();
        let map = BTreeMap::from([(Doctor, 3), (Nurse, 4)]);
        assert_eq!(json, serde_json::to_string(&map).unwrap());
        assert_eq!(serde_json::from_str::<Quantities>(&json).unwrap(), q);
    }
}
