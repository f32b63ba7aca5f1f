//! The protocol crate stays pure: no async runtime, no transport, no
//! storage below it. Read from `cargo tree`, so a dependency that pulls one
//! of them in transitively fails here too.

use std::process::Command;

/// Crates that mean I/O: a runtime, an HTTP/gRPC transport, a database.
const FORBIDDEN: &[&str] = &["tokio", "hyper", "tonic", "rusqlite", "mio", "h2", "axum"];

/// The forbidden crates in a `cargo tree --prefix none` listing.
fn forbidden_in(tree: &str) -> Vec<String> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN.contains(name))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_protocol_crate_has_no_io_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "counterpart-protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listing.starts_with("counterpart-protocol "),
        "unexpected listing:\n{listing}"
    );
    let found = forbidden_in(&listing);
    assert!(found.is_empty(), "I/O crates below the protocol: {found:?}");
}

/// The check itself: a listing with tokio, tonic or rusqlite in it (as
/// `cargo tree` prints it when one creeps in) is caught, by name.
#[test]
fn a_runtime_or_a_database_below_the_protocol_is_caught() {
    let planted = "counterpart-protocol v0.1.0 (/x/protocol)\n\
                   serde v1.0.228\n\
                   tonic v0.14.2\n\
                   tokio v1.47.1\n\
                   rusqlite v0.43.0\n\
                   tokio-util v0.7.16\n";
    assert_eq!(forbidden_in(planted), ["tonic", "tokio", "rusqlite"]);
    assert!(forbidden_in("counterpart-protocol v0.1.0\nserde v1\n").is_empty());
}
