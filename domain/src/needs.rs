//! How a city's situation turns into treatment capacity and needs.
//!
//! The city uses this to decide when to ask for help and what to ask for;
//! central uses the same arithmetic to assess the request independently. The
//! rates (`needs_per_active_case` in the scenario) are estimates.

use crate::quantities::Quantities;
use std::collections::BTreeMap;

use pairing_proto::resource::ResourceType;

/// The staff and beds a city can treat with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreatmentResources {
    pub beds: i64,
    pub doctors: i64,
    pub nurses: i64,
}

/// How many active cases the city can treat: the scarcest of beds, doctors
/// and nurses, each converted to cases by its rate.
pub fn capacity_cases(resources: TreatmentResources, rates: &BTreeMap<ResourceType, f64>) -> i64 {
    let by_staff = |staff: i64, t: ResourceType| match rates.get(&t) {
        Some(&rate) if rate > 0.0 => (staff as f64 / rate).floor() as i64,
        _ => i64::MAX,
    };
    resources
        .beds
        .min(by_staff(resources.doctors, ResourceType::Doctor))
        .min(by_staff(resources.nurses, ResourceType::Nurse))
}

/// What `active` cases call for beyond what the city has, per type:
/// `max(0, ceil(rate * active) - on_hand)`. Types with no need are left out.
pub fn needs(active: i64, on_hand: &Quantities, rates: &BTreeMap<ResourceType, f64>) -> Quantities {
    needs_by(active, |t| on_hand.get(&t).copied().unwrap_or(0), rates).collect()
}

/// [`needs`], type by type in the rates' order, with what is on hand given
/// by `on_hand`: for a caller that checks the needs without keeping them
/// (central holds every city report against its ceiling, under the lock
/// every handler needs, and a map built there is a cost on every call).
pub fn needs_by<'a>(
    active: i64,
    on_hand: impl Fn(ResourceType) -> i64 + 'a,
    rates: &'a BTreeMap<ResourceType, f64>,
) -> impl Iterator<Item = (ResourceType, i64)> + 'a {
    rates.iter().filter_map(move |(&t, &rate)| {
        let required = (rate * active.max(0) as f64).ceil() as i64;
        let need = required - on_hand(t);
        (need > 0).then_some((t, need))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> BTreeMap<ResourceType, f64> {
        BTreeMap::from([
            (ResourceType::Doctor, 0.25),
            (ResourceType::Nurse, 0.5),
            (ResourceType::MaskN95, 250.0),
        ])
    }

    #[test]
    fn capacity_is_the_scarcest_resource() {
        let r = TreatmentResources {
            beds: 1000,
            doctors: 100,
            nurses: 100,
        };
        assert_eq!(capacity_cases(r, &rates()), 200); // nurses: 100 / 0.5
    }

    #[test]
    fn needs_subtract_what_is_on_hand() {
        let on_hand = Quantities::from([(ResourceType::Doctor, 100), (ResourceType::Nurse, 500)]);
        let n = needs(800, &on_hand, &rates());
        assert_eq!(n.get(&ResourceType::Doctor), Some(&100));
        assert_eq!(n.get(&ResourceType::Nurse), None); // 400 required, 500 on hand
        assert_eq!(n.get(&ResourceType::MaskN95), Some(&200_000));
    }
}
