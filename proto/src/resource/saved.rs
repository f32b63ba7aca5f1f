//! How a resource type is written in saved state (the nodes' durable
//! records, JSON) and read back.
//!
//! Up to this release `ResourceType` was a closed enum saved by serde's
//! derive, as its variant name: `{"Doctor": 3}`. The defaults are still
//! written that way, so a default-only save is byte for byte what the
//! previous release wrote and the previous release can still read it (a
//! rollback). A declared type has no variant name and is written as its
//! wire id (`"material/tent"`).
//!
//! Read: a default's variant name or its wire id, or the wire id of a type
//! this process installed. A save with a declared type is read after the
//! node loaded its scenario (every node loads it before it opens its
//! state), so the type is known by then; if the scenario no longer
//! declares it, the save is refused naming the type, not half-read.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::ResourceType;

/// The enum variant names the previous release saved, in
/// [`ResourceType::DEFAULTS`] order.
const VARIANT_NAMES: [&str; 10] = [
    "Doctor",
    "Nurse",
    "PublicHealth",
    "Official",
    "MaskN95",
    "ProtectiveSuit",
    "Goggles",
    "Ventilator",
    "Ambulance",
    "FundsCny",
];

/// A default's variant name; `None` for a declared type.
pub(super) fn variant_name(t: ResourceType) -> Option<&'static str> {
    t.default_index().map(|i| VARIANT_NAMES[i])
}

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.default_index() {
            // What serde's derive wrote for the unit variant.
            Some(i) => {
                serializer.serialize_unit_variant("ResourceType", i as u32, VARIANT_NAMES[i])
            }
            None => serializer.serialize_str(self.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor;
        impl Visitor<'_> for TypeVisitor {
            type Value = ResourceType;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a resource type: a wire id like \"personnel/doctor\" or a saved name like \"Doctor\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ResourceType, E> {
                let saved = VARIANT_NAMES.iter().position(|&name| name == text);
                match saved {
                    Some(i) => Ok(ResourceType::DEFAULTS[i]),
                    None => text.parse().map_err(E::custom),
                }
            }
        }
        deserializer.deserialize_str(TypeVisitor)
    }
}
