//! Old and new nodes in one run: hubei-2020 through `pairctl up` with central
//! and the 16 cities from this build and the 19 provinces from the previous
//! release (compat/PREVIOUS, built once by compat/build-previous.sh), as a
//! cluster mid-upgrade would be. Every case closes, the nodes' own books
//! reconcile with central's ledger, and the report names each node's
//! protocol version (the previous release's provinces state none).
//!
//! Needs the previous release's source from this clone's history and a
//! build of it: with `CI=true` a failure to get either fails the test;
//! elsewhere it is skipped with the reason printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use counterpart_domain::scenario;
use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::{scenario_path, up_hubei};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding the previous release's pairctl, or why not.
fn previous_release() -> Result<PathBuf, String> {
    let output = Command::new(repository().join("compat/build-previous.sh"))
        .output()
        .map_err(|e| format!("cannot run compat/build-previous.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "compat/build-previous.sh failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok(PathBuf::from(dir))
}

#[test]
fn provinces_of_the_previous_release_serve_a_run_of_this_one() {
    let previous = match previous_release() {
        Ok(dir) => dir,
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED (the previous release is not available): {why}");
            return;
        }
        Err(why) => panic!("the previous release is needed with CI=true: {why}"),
    };
    let dir = std::env::temp_dir().join(format!("counterpart-mixed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario_path("hubei-2020");
    let binaries = format!("province={}", previous.display());
    let run = up_hubei(
        env!("CARGO_BIN_EXE_pairctl-under-test"),
        &dir,
        &["--binaries".into(), binaries],
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
    let _ = std::fs::remove_dir_all(&dir);
}
