//! The scenario's nodes by id. Central looks a node up on every
//! registration and, when pairing, for every waiting case; the scenario's
//! own lookups scan its lists, which at ten thousand cities made start-up
//! and each pairing round quadratic in the node count.

use std::collections::HashMap;

use counterpart_domain::scenario::{City, Scenario};
use pairing_proto::v1::Role;

/// Where each node of one scenario sits in its lists.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    at: HashMap<String, (Role, usize)>,
}

impl Roster {
    pub fn of(scenario: &Scenario) -> Roster {
        let provinces = (scenario.provinces.iter().enumerate())
            .map(|(i, p)| (p.id.clone(), (Role::Province, i)));
        let cities =
            (scenario.cities.iter().enumerate()).map(|(i, c)| (c.id.clone(), (Role::City, i)));
        Roster {
            at: provinces.chain(cities).collect(),
        }
    }

    /// The role `id` has in the scenario, if it is one of its nodes.
    pub fn role(&self, id: &str) -> Option<Role> {
        self.at.get(id).map(|(role, _)| *role)
    }

    /// City `id` of `scenario`, which must be the scenario this roster was
    /// made of (checked: a different one finds nothing rather than the
    /// wrong city).
    pub fn city<'s>(&self, scenario: &'s Scenario, id: &str) -> Option<&'s City> {
        match self.at.get(id) {
            Some((Role::City, i)) => scenario.cities.get(*i).filter(|c| c.id == id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_node_of_its_scenario_and_nothing_else() {
        let text = include_str!("../../../deploy/scenarios/hubei-2020.toml");
        let scenario = counterpart_domain::scenario::parse(text, "hubei-2020.toml").unwrap();
        let roster = Roster::of(&scenario);
        for p in &scenario.provinces {
            assert_eq!(roster.role(&p.id), Some(Role::Province), "{}", p.id);
            assert!(roster.city(&scenario, &p.id).is_none());
        }
        for c in &scenario.cities {
            assert_eq!(roster.role(&c.id), Some(Role::City), "{}", c.id);
            assert_eq!(roster.city(&scenario, &c.id).map(|x| &x.id), Some(&c.id));
        }
        assert_eq!(roster.role("atlantis"), None);
        let mut other = scenario.clone();
        other.cities.reverse();
        let moved = &scenario.cities[0].id;
        assert_eq!(roster.city(&other, moved), None, "another scenario's lists");
    }
}
