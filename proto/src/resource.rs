//! The resource catalog: typed like NIMS resources, as "category/kind".
//!
//! The catalog belongs to the scenario. Ten types are built in (the default
//! catalog, what the 2020 pairing shipped); a scenario file adds its own
//! (`[[resource_types]]`: tents, engineers, water purification) and loading
//! it installs them in this process ([`catalog`]). Every node loads the same
//! file at start, so every node knows the same types.
//!
//! The catalog is still closed: a type nobody declared is an error, in a
//! scenario file or on the wire, not a new resource nobody ships.
//!
//! - this file: [`ResourceType`], what each type is ([`ResourceSpec`]), its
//!   wire name, parsing and the error that lists the known types.
//! - [`catalog`]: the process-wide registry of declared types.
//! - `name`: a type's name as a message field holds it, shared with the
//!   catalog when the catalog knows it.
//! - `saved`: how a type is written in saved state, and read back from the
//!   previous release's.

pub mod catalog;
mod name;
mod saved;

use std::fmt;
use std::str::FromStr;

pub use catalog::{declare, Declaration, DeclarationError};
pub use name::ResourceTypeName;

/// One type of resource a donor can ship: one of the ten defaults, or one a
/// scenario declared.
///
/// The defaults stay enum variants so that code naming them
/// (`ResourceType::Doctor`, `use ResourceType::*`) and patterns keep
/// working; a declared type carries its interned [`ResourceSpec`]. `Copy`,
/// cheap to compare, and ordered for reports: the defaults in the order
/// below, then declared types by id, so a `BTreeMap` of types iterates the
/// same way in every process whatever order scenarios were loaded in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// A type a scenario declared; made only by [`declare`] (or by parsing
    /// an id it installed), never for an id of the defaults.
    Declared(Declared),
}

/// The broad class of a resource, which decides its bounds on the wire and
/// whether it can be lost in transit (material can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Personnel,
    Material,
    Funds,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Personnel, Category::Material, Category::Funds];

    /// As written in an id (`personnel/doctor`) and in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Personnel => "personnel",
            Category::Material => "material",
            Category::Funds => "funds",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a resource type is, as declared: the built-in table for the ten
/// defaults, a scenario's `[[resource_types]]` entry for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The wire name, `<category>/<kind>`.
    pub id: &'static str,
    pub category: Category,
    /// What one counts in: "person", "tent", "CNY".
    pub unit: &'static str,
    /// Whether it goes out with the team and comes home with it: shipped at
    /// once, costed per unit-day, on hand at the city only while its case is
    /// open, back in the donor's pool at stand-down. Personnel only.
    pub travels_with_team: bool,
}

/// The handle of a declared type: its spec, interned once per process.
/// Equal, ordered and hashed by id, so that the same id is the same type.
#[derive(Clone, Copy)]
pub struct Declared(&'static ResourceSpec);

impl PartialEq for Declared {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for Declared {}
impl PartialOrd for Declared {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Declared {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.id.cmp(other.0.id)
    }
}
impl std::hash::Hash for Declared {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

const fn spec(
    id: &'static str,
    category: Category,
    unit: &'static str,
    travels_with_team: bool,
) -> ResourceSpec {
    ResourceSpec {
        id,
        category,
        unit,
        travels_with_team,
    }
}

/// The default catalog, in [`ResourceType::DEFAULTS`] order: what a scenario
/// has even when it declares nothing.
#[rustfmt::skip]
static DEFAULT_SPECS: [ResourceSpec; 10] = [
    spec("personnel/doctor", Category::Personnel, "person", true),
    spec("personnel/nurse", Category::Personnel, "person", true),
    spec("personnel/public_health", Category::Personnel, "person", true),
    spec("personnel/official", Category::Personnel, "person", true),
    spec("material/mask_n95", Category::Material, "mask", false),
    spec("material/protective_suit", Category::Material, "suit", false),
    spec("material/goggles", Category::Material, "pair", false),
    spec("material/ventilator", Category::Material, "unit", false),
    spec("material/ambulance", Category::Material, "vehicle", false),
    spec("funds/cny", Category::Funds, "CNY", false),
];

impl ResourceType {
    /// The ten built-in types, in catalog order. Not the whole catalog:
    /// [`ResourceType::catalog`] is.
    pub const DEFAULTS: [ResourceType; 10] = [
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

    /// Every type this process knows, in catalog order: the defaults, then
    /// those declared by the scenarios it loaded.
    pub fn catalog() -> Vec<ResourceType> {
        catalog::installed()
    }

    /// What this type is, as declared.
    pub fn spec(self) -> &'static ResourceSpec {
        match (self, self.default_index()) {
            (ResourceType::Declared(d), _) => d.0,
            (_, Some(i)) => &DEFAULT_SPECS[i],
            (_, None) => unreachable!("only a declared type has no default index"),
        }
    }

    /// Position among [`ResourceType::DEFAULTS`]; `None` for a declared type.
    fn default_index(self) -> Option<usize> {
        Some(match self {
            ResourceType::Doctor => 0,
            ResourceType::Nurse => 1,
            ResourceType::PublicHealth => 2,
            ResourceType::Official => 3,
            ResourceType::MaskN95 => 4,
            ResourceType::ProtectiveSuit => 5,
            ResourceType::Goggles => 6,
            ResourceType::Ventilator => 7,
            ResourceType::Ambulance => 8,
            ResourceType::FundsCny => 9,
            ResourceType::Declared(_) => return None,
        })
    }

    /// The wire name, e.g. `personnel/doctor`.
    pub fn as_str(self) -> &'static str {
        self.spec().id
    }

    /// Its category, as declared (never guessed from the id).
    pub fn category(self) -> Category {
        self.spec().category
    }

    /// What one unit of it is, e.g. "person", "tent", "CNY".
    pub fn unit(self) -> &'static str {
        self.spec().unit
    }

    /// Whether it travels with a team (see [`ResourceSpec::travels_with_team`]).
    pub fn travels_with_team(self) -> bool {
        self.spec().travels_with_team
    }

    /// Whether it is one of the ten built-in types.
    pub fn is_default(self) -> bool {
        self.default_index().is_some()
    }

    /// The type with wire name `id`, a default or a declared one, if any:
    /// parsing without the error's list of known types (which a decoded
    /// name the catalog lacks does not need).
    pub(crate) fn find(id: &str) -> Option<ResourceType> {
        ResourceType::default_of(id).or_else(|| catalog::lookup(id))
    }

    /// The default with wire name `id`, if any.
    fn default_of(id: &str) -> Option<ResourceType> {
        ResourceType::DEFAULTS
            .into_iter()
            .find(|t| t.as_str() == id)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The defaults print as before (`Doctor`), so state dumps and test output
/// keep their shape; a declared type prints its id.
impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceType::Declared(d) => write!(f, "Declared({:?})", d.0.id),
            default => f.write_str(saved::variant_name(*default).unwrap_or("?")),
        }
    }
}

/// The error for a resource type outside the catalog: the name given and
/// the ids known when it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownResourceType {
    pub given: String,
    pub known: Vec<&'static str>,
}

impl UnknownResourceType {
    /// `given` refused against `known`.
    pub fn new(given: &str, known: impl IntoIterator<Item = ResourceType>) -> Self {
        UnknownResourceType {
            given: given.to_string(),
            known: known.into_iter().map(ResourceType::as_str).collect(),
        }
    }
}

impl fmt::Display for UnknownResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown resource type {:?} (known: {})",
            self.given,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownResourceType {}

/// A wire name of this process's catalog: a default, or a type a loaded
/// scenario declared.
impl FromStr for ResourceType {
    type Err = UnknownResourceType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceType::find(s).ok_or_else(|| UnknownResourceType::new(s, ResourceType::catalog()))
    }
}

#[cfg(test)]
mod tests;
