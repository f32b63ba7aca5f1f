//! A scenario declares the resource types it adds to the ten defaults
//! (`[[resource_types]]`, deploy/scenarios/earthquake.toml): they load,
//! install in the process, and anything else is refused with the file, the
//! line, the field and the known types.

use std::path::PathBuf;

use counterpart_domain::scenario::{load, parse, Scenario, ScenarioError};
use pairing_proto::resource::{Category, ResourceType};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/scenarios")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).expect("the scenario file")
}

fn earthquake() -> Scenario {
    load(&path("earthquake.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// 1-based line of the `nth` (from 0) line holding `marker`, comments aside.
fn nth_line_of(text: &str, marker: &str, nth: usize) -> usize {
    let mut holding = (text.lines().enumerate())
        .filter(|(_, line)| !line.trim_start().starts_with('#') && line.contains(marker));
    let found = holding.nth(nth);
    found
        .unwrap_or_else(|| panic!("fewer than {} lines hold {marker:?}", nth + 1))
        .0
        + 1
}

fn line_of(text: &str, marker: &str) -> usize {
    nth_line_of(text, marker, 0)
}

/// `name`'s text with the first `from` (which must be there) made `to`,
/// parsed: the error it must give.
fn broken(name: &str, from: &str, to: &str) -> (String, ScenarioError) {
    let text = text(name);
    assert!(text.contains(from), "{name} has no {from:?}");
    let broken = text.replacen(from, to, 1);
    let error = parse(&broken, name).expect_err("the broken file is refused");
    (broken, error)
}

#[test]
fn the_earthquake_scenario_declares_tents_and_engineers() {
    let s = earthquake();
    let tent: ResourceType = "material/tent".parse().expect("installed by loading");
    let engineer: ResourceType = "personnel/engineer".parse().expect("installed");
    assert_eq!(
        (tent.category(), tent.unit(), tent.travels_with_team()),
        (Category::Material, "tent", false)
    );
    assert_eq!(
        (
            engineer.category(),
            engineer.unit(),
            engineer.travels_with_team()
        ),
        (Category::Personnel, "person", true)
    );
    assert_eq!(s.needs_per_active_case.get(&tent), Some(&0.25));
    assert_eq!(s.unit_cost_cny.get(&engineer), Some(&1800));
    let alpha = s.province("alpha").expect("alpha");
    assert_eq!(alpha.total_pool().of(tent), 500);
    // Both after the defaults, which keep their order.
    let catalog = ResourceType::catalog();
    assert_eq!(&catalog[..10], &ResourceType::DEFAULTS);
    assert!(catalog.contains(&tent) && catalog.contains(&engineer));
    // Loading the file again (every node of a test process does) is fine.
    assert_eq!(earthquake(), s);
}

#[test]
fn an_unknown_type_in_the_needs_is_refused_with_file_line_and_known_list() {
    let (text, e) = broken(
        "earthquake.toml",
        r#""material/tent" = 0.25"#,
        r#""material/tents" = 0.25"#,
    );
    assert_eq!(e.file, "earthquake.toml");
    assert_eq!(e.line, line_of(&text, "material/tents"), "{e}");
    assert_eq!(e.field, r#"needs_per_active_case."material/tents""#);
    assert!(
        e.message
            .contains(r#"unknown resource type "material/tents""#),
        "{e}"
    );
    // The known list is this scenario's: the defaults and its declarations.
    let known = e.message.split("known: ").nth(1).expect("a known list");
    for t in [
        "personnel/doctor",
        "funds/cny",
        "material/tent",
        "personnel/engineer",
    ] {
        assert!(known.contains(t), "{t} not listed: {e}");
    }
    assert!(e.message.contains("[[resource_types]]"), "{e}");
    assert!(e
        .to_string()
        .starts_with(&format!("earthquake.toml:{}: ", e.line)));
}

/// The tables are checked against the file's own catalog: a type another
/// scenario of the same process declared is still unknown to this one.
#[test]
fn a_type_only_another_scenario_declares_is_unknown() {
    earthquake();
    let (text, e) = broken(
        "small.toml",
        r#""personnel/doctor" = 0.25"#,
        "\"personnel/doctor\" = 0.25\n\"material/tent\" = 0.1",
    );
    assert_eq!(e.line, line_of(&text, r#""material/tent" = 0.1"#), "{e}");
    assert_eq!(e.field, r#"needs_per_active_case."material/tent""#);
    let known = e.message.split("known: ").nth(1).expect("a known list");
    assert!(!known.contains("material/tent"), "{e}");
}

struct Break {
    from: &'static str,
    to: &'static str,
    field: &'static str,
    /// The error is at the `.1`th (from 0) line holding `.0`, comments aside.
    line_at: (&'static str, usize),
    says: &'static str,
}

#[rustfmt::skip]
const BREAKS: &[Break] = &[
    Break { from: r#"id = "material/tent""#, to: r#"id = "material/Tent""#,
        field: "resource_types[0].id", line_at: ("material/Tent", 0), says: "is not a resource type id" },
    Break { from: r#"id = "material/tent""#, to: r#"id = "material/mask_n95""#,
        field: "resource_types[0].id", line_at: (r#"id = "material/mask_n95""#, 0),
        says: "in the default catalog already" },
    Break { from: r#"id = "personnel/engineer""#, to: r#"id = "material/tent""#,
        field: "resource_types[1].id", line_at: (r#"id = "material/tent""#, 1),
        says: r#""material/tent" is declared already, at resource_types[0]"# },
    Break { from: r#"category = "material""#, to: r#"category = "personnel""#,
        field: "resource_types[0].category", line_at: (r#"category = "personnel""#, 0),
        says: "not in category personnel" },
    Break { from: r#"category = "material""#, to: r#"category = "shelter""#,
        field: "resource_types[0].category", line_at: (r#""shelter""#, 0), says: "unknown variant" },
    Break { from: "travels_with_team = false", to: "travels_with_team = true",
        field: "resource_types[0].travels_with_team", line_at: ("travels_with_team = true", 0),
        says: "only personnel travels with a team" },
    Break { from: "travels_with_team = false\n", to: "",
        field: "resource_types[0].travels_with_team", line_at: ("[[resource_types]]", 0),
        says: "missing field" },
    Break { from: r#"unit = "tent""#, to: r#"unit = """#,
        field: "resource_types[0].unit", line_at: (r#"unit = """#, 0), says: "must not be empty" },
    // Loaded in this process as a tent counted in tents: not otherwise.
    Break { from: r#"unit = "tent""#, to: r#"unit = "shelter""#,
        field: "resource_types[0].id", line_at: (r#"id = "material/tent""#, 0),
        says: "already declared in this process" },
];

#[test]
fn each_bad_declaration_is_reported_at_its_line_and_field() {
    earthquake();
    for b in BREAKS {
        let (text, e) = broken("earthquake.toml", b.from, b.to);
        let what = format!("{:?} -> {:?}", b.from, b.to);
        assert_eq!(e.field, b.field, "{what}: {e}");
        assert_eq!(
            e.line,
            nth_line_of(&text, b.line_at.0, b.line_at.1),
            "{what}: {e}"
        );
        assert!(e.message.contains(b.says), "{what}: {e}");
    }
}

#[test]
fn a_scenario_declares_at_most_so_many_types() {
    let limit = counterpart_domain::scenario::MAX_DECLARED_TYPES;
    let declarations: String = (0..=limit)
        .map(|i| {
            format!(
                "[[resource_types]]\nid = \"material/test_crate_{i}\"\ncategory = \"material\"\n\
                 unit = \"crate\"\ntravels_with_team = false\n\n"
            )
        })
        .collect();
    let table = "\n[needs_per_active_case]\n";
    let text = text("small.toml").replacen(table, &format!("\n{declarations}{table}"), 1);
    let e = parse(&text, "small.toml").expect_err("one too many");
    assert_eq!(e.field, format!("resource_types[{limit}].id"), "{e}");
    assert_eq!(e.line, line_of(&text, &format!("test_crate_{limit}\"")));
    assert!(e.message.contains(&format!("at most {limit}")), "{e}");
}
