//! The scenario's resource catalog: the ten defaults plus the types its
//! `[[resource_types]]` declare.
//!
//! A declaration *adds* to the defaults, never replaces them: the nodes
//! name doctors and nurses themselves (a city's local staff, its capacity),
//! saved state and the previous release know the ten, and a scenario that
//! needs none of them just leaves them out of its tables. Each declaration
//! is checked and installed in this process
//! (`pairing_proto::resource::declare`), so that after loading the file the
//! node parses the type on the wire and in its saved state.
//!
//! The tables of the file (`needs_per_active_case`, `unit_cost_cny`, pools)
//! are resolved against this scenario's catalog, not the process's: a type
//! another scenario loaded in the same process declared is still unknown
//! here.

use std::collections::BTreeSet;

use super::raw::{RawCategory, RawResourceType};
use super::{ScenarioError, Source};
use pairing_proto::resource::{
    declare, Category, Declaration, DeclarationError, ResourceType, UnknownResourceType,
};

/// Most types one scenario may declare. Every message lists each type at
/// most once in at most `node_kit::validate::MAX_LINES` (64) lines; the ten
/// defaults and 32 declared types fit with room to spare.
pub const MAX_DECLARED_TYPES: usize = 32;

/// The types a scenario file may name.
pub(super) struct Catalog {
    types: BTreeSet<ResourceType>,
}

impl Catalog {
    /// The default catalog: what a file that declares nothing has.
    pub(super) fn defaults() -> Catalog {
        Catalog {
            types: ResourceType::DEFAULTS.into_iter().collect(),
        }
    }

    /// The type with wire name `id`, or the error listing this catalog.
    pub(super) fn resolve(&self, id: &str) -> Result<ResourceType, UnknownResourceType> {
        let found = self.types.iter().find(|t| t.as_str() == id);
        found
            .copied()
            .ok_or_else(|| UnknownResourceType::new(id, self.types.iter().copied()))
    }
}

impl Source<'_> {
    /// Checks and installs the file's `[[resource_types]]`, in file order so
    /// that the error is the first one in the file.
    pub(super) fn declarations(
        &self,
        declared: &[RawResourceType],
    ) -> Result<Catalog, ScenarioError> {
        let mut catalog = Catalog::defaults();
        for (i, raw) in declared.iter().enumerate() {
            let field = |name: &str| format!("resource_types[{i}].{name}");
            self.ensure(i < MAX_DECLARED_TYPES, &raw.id, &field("id"), || {
                format!("a scenario declares at most {MAX_DECLARED_TYPES} resource types")
            })?;
            let id = raw.id.get_ref();
            let first = declared[..i].iter().position(|d| d.id.get_ref() == id);
            if let Some(first) = first {
                let message = format!("{id:?} is declared already, at resource_types[{first}]");
                return Err(self.error(raw.id.span().start, &field("id"), message));
            }
            let unit = self.text(&raw.unit, &field("unit"))?;
            let declaration = Declaration {
                id,
                category: category(*raw.category.get_ref()),
                unit: &unit,
                travels_with_team: *raw.travels_with_team.get_ref(),
            };
            let t = declare(&declaration).map_err(|e| {
                let (at, name) = where_wrong(raw, &e);
                self.error(at, &field(name), e.to_string())
            })?;
            catalog.types.insert(t);
        }
        Ok(catalog)
    }
}

fn category(raw: RawCategory) -> Category {
    match raw {
        RawCategory::Personnel => Category::Personnel,
        RawCategory::Material => Category::Material,
        RawCategory::Funds => Category::Funds,
    }
}

/// The byte offset and key of the value a refused declaration is wrong at.
fn where_wrong(raw: &RawResourceType, e: &DeclarationError) -> (usize, &'static str) {
    match e {
        DeclarationError::BadUnit(_) => (raw.unit.span().start, "unit"),
        DeclarationError::TeamNotPersonnel { .. } => {
            (raw.travels_with_team.span().start, "travels_with_team")
        }
        DeclarationError::CategoryMismatch { .. } => (raw.category.span().start, "category"),
        DeclarationError::BadId(_)
        | DeclarationError::Default(_)
        | DeclarationError::Conflict { .. } => (raw.id.span().start, "id"),
    }
}
