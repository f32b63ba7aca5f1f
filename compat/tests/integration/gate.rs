//! The compatibility gate in the test command: the contract the code is
//! built from keeps the released one, and a new baseline comes with its
//! CHANGELOG line. Then each kind of break, planted in a copy of the real
//! `.proto` files, must be named (file, element, rule).

use std::path::{Path, PathBuf};

use counterpart_compat::{baseline_digest, breaks, current, decode, Break, BASELINE};
use prost_types::FileDescriptorSet;

const FILES: [&str; 3] = [
    "pairing/v1/common.proto",
    "pairing/v1/messages.proto",
    "pairing/v1/services.proto",
];

/// ClockStart as messages.proto declares it (its field line alone is not
/// unique in the file).
const CLOCK_START: &str =
    "message ClockStart {\n  MessageHeader header = 1;\n  ScenarioClock clock = 2;\n}";

/// ClockStart with its second field declared as `field`.
fn clock_start(field: &str) -> String {
    format!("message ClockStart {{\n  MessageHeader header = 1;\n  {field}\n}}")
}

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto")
}

/// The contract with `edit` applied to the text of `file`: the line
/// `from` (exactly once in that file) replaced by `to`.
fn contract_with(file: &str, from: &str, to: &str) -> FileDescriptorSet {
    let dir = std::env::temp_dir().join(format!(
        "counterpart-compat-{}-{}",
        std::process::id(),
        baseline_digest(format!("{file}{from}{to}").as_bytes())
    ));
    for name in FILES {
        let text = std::fs::read_to_string(proto_dir().join(name)).unwrap();
        let text = if name == file {
            assert_eq!(text.matches(from).count(), 1, "{from:?} once in {file}");
            text.replace(from, to)
        } else {
            text
        };
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let set = protox::compile(FILES, [&dir]).expect("the edited contract compiles");
    let _ = std::fs::remove_dir_all(&dir);
    set
}

fn baseline() -> FileDescriptorSet {
    decode(BASELINE).expect("the baseline decodes")
}

fn named<'a>(found: &'a [Break], element: &str, rule: &str) -> &'a Break {
    found
        .iter()
        .find(|b| b.element == element && b.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} on {element} among {found:#?}"))
}

#[test]
fn the_contract_keeps_the_released_baseline() {
    let found = breaks(&baseline(), &current());
    let list: Vec<String> = found.iter().map(Break::to_string).collect();
    assert!(
        found.is_empty(),
        "the contract breaks its baseline:\n{}",
        list.join("\n")
    );
}

#[test]
fn the_baseline_has_its_line_in_the_changelog() {
    let changelog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../CHANGELOG.md"))
            .expect("CHANGELOG.md at the repository root");
    let line = format!("contract baseline {}", baseline_digest(BASELINE));
    assert!(
        changelog.contains(&line),
        "a new baseline needs the line `{line}` in CHANGELOG.md, with what changed and why"
    );
}

#[test]
fn the_unchanged_files_compiled_here_equal_the_build() {
    let same = contract_with(FILES[0], "ROLE_CITY = 3;", "ROLE_CITY = 3;");
    assert!(breaks(&baseline(), &same).is_empty());
}

#[test]
fn a_renumbered_field_is_named() {
    let renumbered = contract_with(
        FILES[1],
        CLOCK_START,
        &clock_start("ScenarioClock clock = 7;"),
    );
    let found = breaks(&baseline(), &renumbered);
    let b = named(
        &found,
        "pairing.v1.ClockStart.clock",
        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
    );
    assert_eq!(b.file, "pairing/v1/messages.proto");
    assert!(b.to_string().contains("field 2"), "{b}");
}

#[test]
fn a_field_removed_with_its_number_and_name_reserved_is_no_break() {
    let reserved = contract_with(
        FILES[1],
        CLOCK_START,
        &clock_start("reserved 2;\n  reserved \"clock\";"),
    );
    assert!(breaks(&baseline(), &reserved).is_empty());
    let unreserved = contract_with(FILES[1], CLOCK_START, &clock_start(""));
    let found = breaks(&baseline(), &unreserved);
    named(
        &found,
        "pairing.v1.ClockStart.clock",
        "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
    );
}

#[test]
fn a_retyped_or_renamed_field_is_named() {
    let retyped = contract_with(FILES[1], CLOCK_START, &clock_start("string clock = 2;"));
    named(
        &breaks(&baseline(), &retyped),
        "pairing.v1.ClockStart.clock",
        "FIELD_SAME_TYPE",
    );
    let renamed = contract_with(
        FILES[1],
        CLOCK_START,
        &clock_start("ScenarioClock timing = 2;"),
    );
    let found = breaks(&baseline(), &renamed);
    named(&found, "pairing.v1.ClockStart.clock", "FIELD_SAME_NAME");
    named(
        &found,
        "pairing.v1.ClockStart.clock",
        "FIELD_SAME_JSON_NAME",
    );
}

#[test]
fn a_removed_rpc_is_named() {
    let removed = contract_with(
        FILES[2],
        "  rpc ReportCapacity(CapacityReport) returns (Ack);\n",
        "",
    );
    let found = breaks(&baseline(), &removed);
    let b = named(
        &found,
        "pairing.v1.CentralAuthority/ReportCapacity",
        "RPC_NO_DELETE",
    );
    assert_eq!(b.file, "pairing/v1/services.proto");
}

#[test]
fn a_changed_rpc_type_is_named() {
    let changed = contract_with(
        FILES[2],
        "rpc ReportCapacity(CapacityReport) returns (Ack);",
        "rpc ReportCapacity(RegisterNode) returns (Ack);",
    );
    named(
        &breaks(&baseline(), &changed),
        "pairing.v1.CentralAuthority/ReportCapacity",
        "RPC_SAME_REQUEST_TYPE",
    );
}

#[test]
fn a_removed_enum_value_is_named() {
    let removed = contract_with(FILES[0], "  ROLE_CITY = 3;\n", "");
    let found = breaks(&baseline(), &removed);
    let b = named(
        &found,
        "pairing.v1.Role.ROLE_CITY",
        "ENUM_VALUE_NO_DELETE_UNLESS_RESERVED",
    );
    assert_eq!(b.file, "pairing/v1/common.proto");
    let reserved = contract_with(
        FILES[0],
        "  ROLE_CITY = 3;\n",
        "  reserved 3;\n  reserved \"ROLE_CITY\";\n",
    );
    assert!(breaks(&baseline(), &reserved).is_empty());
}

#[test]
fn an_added_field_rpc_or_value_is_no_break() {
    let added = contract_with(
        FILES[1],
        CLOCK_START,
        &clock_start("ScenarioClock clock = 2;\n  string note = 3;"),
    );
    assert!(breaks(&baseline(), &added).is_empty());
    let value = contract_with(
        FILES[0],
        "  ROLE_CITY = 3;\n",
        "  ROLE_CITY = 3;\n  ROLE_OBSERVER = 4;\n",
    );
    assert!(breaks(&baseline(), &value).is_empty());
}
