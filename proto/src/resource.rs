//! The resource catalog: typed like NIMS resources, as "category/kind".
//!
//! The catalog is closed on purpose: a typo in a scenario or a message must be
//! an error, not a new resource nobody ships.

use std::fmt;
use std::str::FromStr;

/// One type of resource a donor can ship.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ResourceType {
    Doctor,
    Nurse,
    PublicHealth,
    Official,
    MaskN95,
    ProtectiveSuit,
    Goggles,
    Ventilator,
    Ambulance,
    FundsCny,
}

/// The broad class of a resource, which decides how it travels and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Personnel,
    Material,
    Funds,
}

impl ResourceType {
    /// Every resource type, in catalog order.
    pub const ALL: [ResourceType; 10] = [
        ResourceType::Doctor,
        ResourceType::Nurse,
        ResourceType::PublicHealth,
        ResourceType::Official,
        ResourceType::MaskN95,
        ResourceType::ProtectiveSuit,
        ResourceType::Goggles,
        ResourceType::Ventilator,
        ResourceType::Ambulance,
        ResourceType::FundsCny,
    ];

    /// The wire name, e.g. `personnel/doctor`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Doctor => "personnel/doctor",
            ResourceType::Nurse => "personnel/nurse",
            ResourceType::PublicHealth => "personnel/public_health",
            ResourceType::Official => "personnel/official",
            ResourceType::MaskN95 => "material/mask_n95",
            ResourceType::ProtectiveSuit => "material/protective_suit",
            ResourceType::Goggles => "material/goggles",
            ResourceType::Ventilator => "material/ventilator",
            ResourceType::Ambulance => "material/ambulance",
            ResourceType::FundsCny => "funds/cny",
        }
    }

    /// Its category. Every type is listed: a new type must be given one
    /// here, or the crate does not compile.
    pub fn category(self) -> Category {
        match self {
            ResourceType::Doctor
            | ResourceType::Nurse
            | ResourceType::PublicHealth
            | ResourceType::Official => Category::Personnel,
            ResourceType::MaskN95
            | ResourceType::ProtectiveSuit
            | ResourceType::Goggles
            | ResourceType::Ventilator
            | ResourceType::Ambulance => Category::Material,
            ResourceType::FundsCny => Category::Funds,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a resource type outside the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownResourceType(pub String);

impl fmt::Display for UnknownResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown resource type {:?} (known: {})",
            self.0,
            ResourceType::ALL.map(ResourceType::as_str).join(", ")
        )
    }
}

impl std::error::Error for UnknownResourceType {}

impl FromStr for ResourceType {
    type Err = UnknownResourceType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownResourceType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_wire_name() {
        for t in ResourceType::ALL {
            assert_eq!(t.as_str().parse::<ResourceType>(), Ok(t));
        }
    }

    #[test]
    fn unknown_type_is_an_error_naming_it() {
        let err = "material/unicorn".parse::<ResourceType>().unwrap_err();
        assert!(err.to_string().contains("material/unicorn"));
    }
}
