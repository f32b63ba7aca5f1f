//! The catalog shares one registry per process: each test declares ids of
//! its own, so the tests of this binary can run in any order.

use std::collections::BTreeMap;

use super::*;

fn declaration<'a>(id: &'a str, category: Category, unit: &'a str, team: bool) -> Declaration<'a> {
    Declaration {
        id,
        category,
        unit,
        travels_with_team: team,
    }
}

#[test]
fn every_default_round_trips_through_its_wire_name() {
    for t in ResourceType::DEFAULTS {
        assert_eq!(t.as_str().parse::<ResourceType>(), Ok(t));
        assert!(t.is_default());
    }
}

/// The defaults are what the closed enum was: same names, categories and
/// order, and personnel (only) travels with its team.
#[test]
fn the_defaults_keep_their_names_categories_and_order() {
    let ids: Vec<&str> = ResourceType::DEFAULTS.map(ResourceType::as_str).to_vec();
    assert_eq!(
        ids,
        [
            "personnel/doctor",
            "personnel/nurse",
            "personnel/public_health",
            "personnel/official",
            "material/mask_n95",
            "material/protective_suit",
            "material/goggles",
            "material/ventilator",
            "material/ambulance",
            "funds/cny"
        ]
    );
    for t in ResourceType::DEFAULTS {
        let prefix = t.as_str().split('/').next().unwrap();
        assert_eq!(t.category().as_str(), prefix, "{t}");
        assert_eq!(t.travels_with_team(), t.category() == Category::Personnel);
    }
    assert_eq!(ResourceType::FundsCny.unit(), "CNY");
    assert!(ResourceType::DEFAULTS.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn unknown_type_is_an_error_naming_it_and_the_known_list() {
    let err = "material/unicorn".parse::<ResourceType>().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("\"material/unicorn\""), "{text}");
    assert!(
        text.contains("personnel/doctor") && text.contains("funds/cny"),
        "{text}"
    );
}

#[test]
fn a_declared_type_parses_and_carries_its_declaration() {
    assert!("material/test_tent".parse::<ResourceType>().is_err());
    let tent = declare(&declaration(
        "material/test_tent",
        Category::Material,
        "tent",
        false,
    ))
    .expect("declared");
    assert_eq!("material/test_tent".parse::<ResourceType>(), Ok(tent));
    assert_eq!(
        (tent.category(), tent.unit(), tent.travels_with_team()),
        (Category::Material, "tent", false)
    );
    assert!(!tent.is_default());
    assert!(ResourceType::catalog().contains(&tent));
    // Declaring it again, the same way, is the same type.
    let again = declare(&declaration(
        "material/test_tent",
        Category::Material,
        "tent",
        false,
    ));
    assert_eq!(again, Ok(tent));
    assert_eq!(format!("{tent:?}"), "Declared(\"material/test_tent\")");
}

/// Reports iterate maps of types: the defaults first in their old order,
/// then declared types by id, whatever order they were declared in.
#[test]
fn declared_types_sort_after_the_defaults_by_id() {
    let z = declare(&declaration(
        "material/test_zz",
        Category::Material,
        "unit",
        false,
    ))
    .unwrap();
    let a = declare(&declaration("funds/test_aa", Category::Funds, "CNY", false)).unwrap();
    assert!(ResourceType::FundsCny < a && a < z);
    let catalog = ResourceType::catalog();
    assert_eq!(&catalog[..10], &ResourceType::DEFAULTS);
    assert!(catalog.windows(2).all(|w| w[0] < w[1]), "{catalog:?}");
}

#[test]
fn a_bad_declaration_is_refused_saying_why() {
    let refused = |d: Declaration| declare(&d).unwrap_err().to_string();
    let m = Category::Material;
    assert!(refused(declaration("tent", m, "tent", false)).contains("not a resource type id"));
    assert!(refused(declaration("material/Tent", m, "tent", false)).contains("[a-z][a-z0-9_]*"));
    assert!(refused(declaration("tools/saw", m, "saw", false)).contains("category one of"));
    let long = format!("material/{}", "x".repeat(60));
    assert!(refused(declaration(&long, m, "unit", false)).contains("at most 64 bytes"));
    let mismatch = refused(declaration("personnel/test_cook", m, "person", false));
    assert!(mismatch.contains("not in category material"), "{mismatch}");
    let default = refused(declaration("material/mask_n95", m, "mask", false));
    assert!(default.contains("default catalog"), "{default}");
    assert!(refused(declaration("material/test_box", m, " ", false)).contains("unit"));
    let team = refused(declaration("material/test_kit", m, "kit", true));
    assert!(
        team.contains("only personnel travels with a team"),
        "{team}"
    );
    assert!("material/test_kit".parse::<ResourceType>().is_err());
}

#[test]
fn the_same_id_declared_otherwise_is_a_conflict() {
    let p = Category::Personnel;
    declare(&declaration("personnel/test_medic", p, "person", true)).unwrap();
    let err = declare(&declaration("personnel/test_medic", p, "person", false)).unwrap_err();
    assert!(matches!(err, DeclarationError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("already declared"), "{err}");
}

/// A save of the previous release: types as enum variant names.
#[test]
fn a_save_of_the_previous_release_still_loads() {
    let old = r#"{"Doctor":3,"Nurse":4,"MaskN95":1000,"FundsCny":5}"#;
    let map: BTreeMap<ResourceType, i64> = serde_json::from_str(old).expect("old save loads");
    let expected = BTreeMap::from([
        (ResourceType::Doctor, 3),
        (ResourceType::Nurse, 4),
        (ResourceType::MaskN95, 1000),
        (ResourceType::FundsCny, 5),
    ]);
    assert_eq!(map, expected);
    // And a default-only save is written exactly as before, so the
    // previous release can read this one's.
    assert_eq!(serde_json::to_string(&map).unwrap(), old);
    let plain: Vec<ResourceType> = serde_json::from_str(r#"["Ambulance","Goggles"]"#).unwrap();
    assert_eq!(plain, [ResourceType::Ambulance, ResourceType::Goggles]);
}

#[test]
fn a_declared_type_is_saved_as_its_wire_id_and_read_back() {
    let water = declare(&declaration(
        "material/test_water",
        Category::Material,
        "litre",
        false,
    ))
    .unwrap();
    let map = BTreeMap::from([(ResourceType::Doctor, 2), (water, 500)]);
    let json = serde_json::to_string(&map).unwrap();
    assert_eq!(json, r#"{"Doctor":2,"material/test_water":500}"#);
    assert_eq!(
        serde_json::from_str::<BTreeMap<ResourceType, i64>>(&json).unwrap(),
        map
    );
    // Wire ids of the defaults read too.
    let by_id: ResourceType = serde_json::from_str(r#""personnel/nurse""#).unwrap();
    assert_eq!(by_id, ResourceType::Nurse);
}

#[test]
fn a_save_naming_an_undeclared_type_is_refused_naming_it() {
    let err = serde_json::from_str::<BTreeMap<ResourceType, i64>>(r#"{"material/test_ghost":1}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown resource type \"material/test_ghost\""),
        "{err}"
    );
}
