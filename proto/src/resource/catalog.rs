//! The process-wide catalog of declared resource types.
//!
//! A scenario's loader [`declare`]s each type the file lists; from then on
//! the type parses (on the wire, in saved state) in this process. The
//! registry only grows: a handle given out stays valid, and a type's spec
//! never changes under it. Each distinct declaration is leaked once (a few
//! dozen bytes a type, a handful of types a process), which is what makes
//! the handle a `Copy` `&'static`.
//!
//! One catalog per process rather than one per scenario value: the nodes
//! load exactly one scenario, and threading a catalog through every parse
//! of a wire line would touch every handler for nothing. A process that
//! loads several scenarios (a test binary) knows the union of their types;
//! the same id declared differently by two of them is refused.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use super::{Category, Declared, ResourceSpec, ResourceType};

/// Longest id a scenario may declare, in bytes: the wire refuses longer
/// resource types by length (node_kit::validate::MAX_RESOURCE_TYPE_LEN).
pub const MAX_ID_LEN: usize = 64;
/// Longest unit name, in bytes ("person", "litre per day").
pub const MAX_UNIT_LEN: usize = 32;

/// Declared types by id; iterated in id order, which is their catalog order.
static DECLARED: RwLock<BTreeMap<&'static str, &'static ResourceSpec>> =
    RwLock::new(BTreeMap::new());

/// A type as a scenario file declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declaration<'a> {
    pub id: &'a str,
    pub category: Category,
    pub unit: &'a str,
    pub travels_with_team: bool,
}

/// Why a declaration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclarationError {
    /// Not `<category>/<kind>` with kind in `[a-z][a-z0-9_]*`, or too long.
    BadId(String),
    /// The id's category is not the declared one.
    CategoryMismatch { id: String, declared: Category },
    /// The id is one of the ten defaults, which cannot be redefined.
    Default(String),
    /// The unit is empty, too long or not printable.
    BadUnit(String),
    /// Only personnel travels with a team.
    TeamNotPersonnel { id: String, category: Category },
    /// Another scenario loaded in this process declared the id otherwise.
    Conflict { id: String, installed: ResourceSpec },
}

impl fmt::Display for DeclarationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeclarationError::BadId(id) => write!(
                f,
                "{id:?} is not a resource type id: \"<category>/<kind>\" with category one of \
                 personnel, material, funds and kind [a-z][a-z0-9_]*, at most {MAX_ID_LEN} bytes"
            ),
            DeclarationError::CategoryMismatch { id, declared } => {
                write!(f, "{id:?} is not in category {declared}: an id starts with its category")
            }
            DeclarationError::Default(id) => write!(
                f,
                "{id:?} is in the default catalog already; declare only the types it lacks"
            ),
            DeclarationError::BadUnit(unit) => write!(
                f,
                "unit {unit:?} must be 1..={MAX_UNIT_LEN} bytes of printable text"
            ),
            DeclarationError::TeamNotPersonnel { id, category } => write!(
                f,
                "{id:?} is {category}: only personnel travels with a team"
            ),
            DeclarationError::Conflict { id, installed } => write!(
                f,
                "{id:?} is already declared in this process as {} counted in {:?}, travels_with_team = {}",
                installed.category, installed.unit, installed.travels_with_team
            ),
        }
    }
}

impl std::error::Error for DeclarationError {}

/// Checks `d` and installs it in this process's catalog, or finds it there
/// already (declaring the same type twice, e.g. a scenario loaded again, is
/// not an error). Returns its handle.
pub fn declare(d: &Declaration<'_>) -> Result<ResourceType, DeclarationError> {
    check(d)?;
    let same = |s: &ResourceSpec| {
        s.category == d.category && s.unit == d.unit && s.travels_with_team == d.travels_with_team
    };
    let conflict = |installed: &ResourceSpec| DeclarationError::Conflict {
        id: d.id.to_string(),
        installed: *installed,
    };
    if let Some(&installed) = read().get(d.id) {
        return same(installed)
            .then_some(ResourceType::Declared(Declared(installed)))
            .ok_or_else(|| conflict(installed));
    }
    let mut declared = DECLARED.write().unwrap_or_else(PoisonError::into_inner);
    // Another thread may have declared it between the two locks.
    if let Some(&installed) = declared.get(d.id) {
        return same(installed)
            .then_some(ResourceType::Declared(Declared(installed)))
            .ok_or_else(|| conflict(installed));
    }
    let spec: &'static ResourceSpec = Box::leak(Box::new(ResourceSpec {
        id: Box::leak(d.id.to_string().into_boxed_str()),
        category: d.category,
        unit: Box::leak(d.unit.to_string().into_boxed_str()),
        travels_with_team: d.travels_with_team,
    }));
    declared.insert(spec.id, spec);
    Ok(ResourceType::Declared(Declared(spec)))
}

/// Everything about `d` that does not depend on what is installed.
fn check(d: &Declaration<'_>) -> Result<(), DeclarationError> {
    let bad_id = || DeclarationError::BadId(d.id.to_string());
    let (category, kind) = d.id.split_once('/').ok_or_else(bad_id)?;
    let kind_ok = kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let category = Category::ALL.into_iter().find(|c| c.as_str() == category);
    if !kind_ok || category.is_none() || d.id.len() > MAX_ID_LEN {
        return Err(bad_id());
    }
    if category != Some(d.category) {
        return Err(DeclarationError::CategoryMismatch {
            id: d.id.to_string(),
            declared: d.category,
        });
    }
    if ResourceType::default_of(d.id).is_some() {
        return Err(DeclarationError::Default(d.id.to_string()));
    }
    let unit_ok = !d.unit.trim().is_empty()
        && d.unit.len() <= MAX_UNIT_LEN
        && !d.unit.chars().any(char::is_control);
    if !unit_ok {
        return Err(DeclarationError::BadUnit(d.unit.to_string()));
    }
    if d.travels_with_team && d.category != Category::Personnel {
        return Err(DeclarationError::TeamNotPersonnel {
            id: d.id.to_string(),
            category: d.category,
        });
    }
    Ok(())
}

fn read() -> std::sync::RwLockReadGuard<'static, BTreeMap<&'static str, &'static ResourceSpec>> {
    DECLARED.read().unwrap_or_else(PoisonError::into_inner)
}

/// The declared type with wire name `id`, if a scenario installed one.
pub(super) fn lookup(id: &str) -> Option<ResourceType> {
    read()
        .get(id)
        .map(|&spec| ResourceType::Declared(Declared(spec)))
}

/// The defaults, then the declared types by id ([`ResourceType::catalog`]).
pub(super) fn installed() -> Vec<ResourceType> {
    let declared = read();
    let declared = declared
        .values()
        .map(|&s| ResourceType::Declared(Declared(s)));
    ResourceType::DEFAULTS.into_iter().chain(declared).collect()
}
