//! Old and new nodes in one run: hubei-2020 through `pairctl up` with central
//! and the 16 cities from this build and the 19 provinces from the previous
//! release (compat/PREVIOUS, built once by compat/build-previous.sh), as a
//! cluster mid-upgrade would be. Every case closes, the nodes' own books
//! reconcile with central's ledger, and the report names each node's
//! protocol version (the previous release's provinces state none). The
//! cities of this build raise disputes (mediation, a feature the old
//! provinces never declared): central rules, and only the cities hear of
//! the rulings.
//!
//! Needs the previous release's source from this clone's history and a
//! build of it: with `CI=true` a failure to get either fails the test;
//! elsewhere it is skipped with the reason printed.

use counterpart_domain::scenario;
use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::{previous_release_or_skip, scenario_for_previous_release, up_file};

#[test]
fn provinces_of_the_previous_release_serve_a_run_of_this_one() {
    let Some(previous) = previous_release_or_skip() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("counterpart-mixed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario_for_previous_release("hubei-2020", &dir);
    let binaries = format!("province={}", previous.display());
    let run = up_file(
        env!("CARGO_BIN_EXE_pairctl-under-test"),
        &path,
        &dir,
        // Nodes of a release before the lockstep clock take no steps: the
        // mixed run keeps the wall clock (central refuses them otherwise).
        &[
            "--binaries".into(),
            binaries,
            "--clock".into(),
            "wall".into(),
        ],
    );
    assert!(
        run.stdout.contains(&format!(
            "Every province runs {}",
            previous.join("pairctl").display()
        )),
        "{}",
        run.stdout
    );
    let report = run.report;
    let scenario = scenario::load(&path).unwrap();
    checks::assert_complete_historical_run(&report, &scenario);
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));

    let versions = &report["protocol_versions"];
    for province in &scenario.provinces {
        assert_eq!(
            versions[&province.id], "1 (not stated)",
            "{}: the previous release states no version",
            province.id
        );
    }
    let current = pairing_proto::version::PROTOCOL_VERSION.to_string();
    for city in &scenario.cities {
        assert_eq!(versions[&city.id], current.as_str(), "{}", city.id);
    }
    // Mediation reaches only the nodes that declared it: each ruling is
    // counted by its city alone, never by an old province.
    let ruled = (report["cases"].as_array().into_iter().flatten())
        .flat_map(|c| c["events"].as_array().into_iter().flatten())
        .filter(|e| e["step"] == "mediated")
        .count() as u64;
    assert!(ruled >= 1, "no dispute ruled on: {}", report["messages"]);
    assert_eq!(
        report["messages"]["Mediation"].as_u64(),
        Some(ruled),
        "one receiver per ruling (the city): {}",
        report["messages"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
