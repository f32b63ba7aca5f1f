//! Shipment planning: the province's pool, held per prefecture-level city,
//! and what the next shipment of an assignment carries.
//!
//! Step 9 of docs/PROTOCOL.md: personnel travel as one team in the first
//! shipment; materials and funds in three equal batches; a line never takes
//! more than the remaining target or the remaining pool, and records which
//! prefectures contributed, drawn in the order of the scenario file.

pub use counterpart_domain::quantities::Quantities;

use counterpart_domain::scenario::Province;
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{Contribution, ResourcePool};

/// Materials and funds travel in this many equal batches.
pub const BATCHES: u32 = 3;

/// What one prefecture-level city still holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PrefectureStock {
    name: String,
    stock: Quantities,
}

/// The province's standing pool, per prefecture in scenario-file order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    prefectures: Vec<PrefectureStock>,
}

impl Pool {
    pub fn of_province(province: &Province) -> Self {
        Pool {
            prefectures: province
                .prefectures
                .iter()
                .map(|p| PrefectureStock {
                    name: p.name.clone(),
                    stock: p.pool.clone(),
                })
                .collect(),
        }
    }

    /// What the whole province holds of `t`.
    pub fn total(&self, t: ResourceType) -> i64 {
        self.prefectures
            .iter()
            .map(|p| p.stock.get(&t).copied().unwrap_or(0))
            .sum()
    }

    /// Every type the province has ever held, with its current total (zero
    /// included, so a report shows a pool that ran dry).
    pub fn totals(&self) -> Quantities {
        let mut totals = Quantities::new();
        for prefecture in &self.prefectures {
            for (&t, &q) in &prefecture.stock {
                *totals.entry(t).or_insert(0) += q;
            }
        }
        totals
    }

    /// Takes `quantity` of `t`, emptying prefectures in file order, and
    /// returns who contributed. The caller never asks for more than
    /// [`Pool::total`].
    pub fn draw(&mut self, t: ResourceType, quantity: i64) -> Vec<Contribution> {
        assert!(
            (0..=self.total(t)).contains(&quantity),
            "draw of {quantity} {t} exceeds the pool of {}",
            self.total(t)
        );
        let mut left = quantity;
        let mut contributions = Vec::new();
        for prefecture in &mut self.prefectures {
            if left == 0 {
                break;
            }
            let Some(stock) = prefecture.stock.get_mut(&t) else {
                continue;
            };
            let taken = left.min(*stock);
            if taken > 0 {
                *stock -= taken;
                left -= taken;
                contributions.push(Contribution {
                    prefecture: prefecture.name.clone(),
                    quantity: taken,
                });
            }
        }
        debug_assert_eq!(left, 0);
        contributions
    }

    /// Gives back what `contributions` took (a team returning home).
    pub fn give_back(&mut self, t: ResourceType, contributions: &[Contribution]) {
        for c in contributions {
            if let Some(p) = self.prefectures.iter_mut().find(|p| p.name == c.prefecture) {
                *p.stock.entry(t).or_insert(0) += c.quantity;
            }
        }
    }

    /// The pool as `CapacityReport.pools`: per type, the total and each
    /// prefecture that holds some, in file order.
    pub fn to_wire(&self) -> Vec<ResourcePool> {
        self.totals()
            .into_iter()
            .map(|(t, quantity)| ResourcePool {
                resource_type: t.as_str().to_string(),
                quantity,
                contributions: self
                    .prefectures
                    .iter()
                    .filter_map(|p| {
                        let q = p.stock.get(&t).copied().unwrap_or(0);
                        (q > 0).then(|| Contribution {
                            prefecture: p.name.clone(),
                            quantity: q,
                        })
                    })
                    .collect(),
            })
            .collect()
    }
}

/// What the next shipment of an assignment carries, per type, given what is
/// still to ship (`remaining`: target minus shipped), what the pool holds
/// (`available`) and how many shipments already left (`shipments_made`).
///
/// Types that travel with the team (personnel, as its scenario declares
/// them) go all at once; the others in [`BATCHES`] equal batches: each batch is the remaining quantity divided by
/// the batches left, so later changes of target spread over what is left.
/// Types with nothing to ship are left out.
pub fn next_batch(
    remaining: &Quantities,
    available: &Quantities,
    shipments_made: u32,
) -> Quantities {
    let batches_left = i64::from(BATCHES.saturating_sub(shipments_made).max(1));
    remaining
        .iter()
        .filter_map(|(&t, &left)| {
            let wanted = if t.travels_with_team() {
                left
            } else {
                ceil_div(left, batches_left)
            };
            let q = wanted
                .min(left)
                .min(available.get(&t).copied().unwrap_or(0));
            (q > 0).then_some((t, q))
        })
        .collect()
}

fn ceil_div(a: i64, b: i64) -> i64 {
    debug_assert!(b > 0);
    if a <= 0 {
        0
    } else {
        (a + b - 1) / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use counterpart_domain::scenario::Prefecture;
    use ResourceType::{Doctor, FundsCny, MaskN95, Nurse};

    fn province() -> Province {
        let prefecture = |name: &str, pool: &[(ResourceType, i64)]| Prefecture {
            name: name.into(),
            pool: pool.iter().copied().collect(),
        };
        Province {
            id: "jiangsu".into(),
            name: "Jiangsu".into(),
            outbreak_level: 0,
            outbreak_events: vec![],
            prefectures: vec![
                prefecture("nanjing", &[(Doctor, 30), (MaskN95, 100)]),
                prefecture("wuxi", &[(Nurse, 10)]),
                prefecture("xuzhou", &[(Doctor, 50), (MaskN95, 1000)]),
            ],
            location: None,
            estimated: vec![],
        }
    }

    #[test]
    fn draws_prefectures_in_file_order_and_contributions_sum_to_the_quantity() {
        let mut pool = Pool::of_province(&province());
        let c = pool.draw(Doctor, 45);
        let names: Vec<_> = c
            .iter()
            .map(|c| (c.prefecture.as_str(), c.quantity))
            .collect();
        assert_eq!(names, [("nanjing", 30), ("xuzhou", 15)]);
        assert_eq!(pool.total(Doctor), 35);
        pool.give_back(Doctor, &c);
        assert_eq!(pool, Pool::of_province(&province()));
    }

    #[test]
    #[should_panic(expected = "exceeds the pool")]
    fn drawing_more_than_the_pool_is_a_bug() {
        Pool::of_province(&province()).draw(Nurse, 11);
    }

    #[test]
    fn wire_pool_lists_each_type_with_holders_only() {
        let mut pool = Pool::of_province(&province());
        pool.draw(Nurse, 10);
        let wire = pool.to_wire();
        let nurse = wire
            .iter()
            .find(|p| p.resource_type == "personnel/nurse")
            .unwrap();
        assert_eq!(nurse.quantity, 0);
        assert!(nurse.contributions.is_empty());
        let masks = wire
            .iter()
            .find(|p| p.resource_type == "material/mask_n95")
            .unwrap();
        assert_eq!(masks.quantity, 1100);
        assert_eq!(
            masks.contributions.iter().map(|c| c.quantity).sum::<i64>(),
            1100
        );
    }

    #[test]
    fn personnel_go_at_once_and_materials_in_three_batches() {
        let remaining = Quantities::from([(Doctor, 40), (MaskN95, 100), (FundsCny, 9)]);
        let plenty = Quantities::from([(Doctor, 1000), (MaskN95, 1000), (FundsCny, 1000)]);
        let first = next_batch(&remaining, &plenty, 0);
        assert_eq!(
            first,
            Quantities::from([(Doctor, 40), (MaskN95, 34), (FundsCny, 3)])
        );
        let second = next_batch(
            &Quantities::from([(MaskN95, 66), (FundsCny, 6)]),
            &plenty,
            1,
        );
        assert_eq!(second, Quantities::from([(MaskN95, 33), (FundsCny, 3)]));
        let third = next_batch(
            &Quantities::from([(MaskN95, 33), (FundsCny, 3)]),
            &plenty,
            2,
        );
        assert_eq!(third, Quantities::from([(MaskN95, 33), (FundsCny, 3)]));
        // A later raise ships whatever is left in one go.
        let later = next_batch(&Quantities::from([(MaskN95, 50)]), &plenty, 5);
        assert_eq!(later, Quantities::from([(MaskN95, 50)]));
    }

    /// A scenario's own types go as they are declared: a type that travels
    /// with the team at once, one that does not in batches.
    #[test]
    fn declared_types_go_as_their_declaration_says() {
        use pairing_proto::resource::{declare, Category, Declaration};
        let declared = |id, category, unit, travels_with_team| {
            let d = Declaration {
                id,
                category,
                unit,
                travels_with_team,
            };
            declare(&d).expect("a valid declaration")
        };
        let engineer = declared("personnel/engineer", Category::Personnel, "person", true);
        let tent = declared("material/tent", Category::Material, "tent", false);
        let remaining = Quantities::from([(engineer, 12), (tent, 300)]);
        let plenty = Quantities::from([(engineer, 100), (tent, 1000)]);
        let first = next_batch(&remaining, &plenty, 0);
        assert_eq!(first, Quantities::from([(engineer, 12), (tent, 100)]));
    }

    #[test]
    fn a_batch_never_exceeds_the_pool() {
        let remaining = Quantities::from([(Doctor, 40), (MaskN95, 300)]);
        let short = Quantities::from([(Doctor, 25), (MaskN95, 10)]);
        assert_eq!(
            next_batch(&remaining, &short, 0),
            Quantities::from([(Doctor, 25), (MaskN95, 10)])
        );
        assert!(next_batch(&remaining, &Quantities::new(), 0).is_empty());
    }
}
