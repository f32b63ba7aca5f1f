//! Upgrading in place: a cluster of the previous release (compat/PREVIOUS)
//! runs the small scenario to its end with its state in data directories;
//! then this release's `pairctl up` starts every node on those same
//! directories. The previous release saved each machine whole; this one
//! journals it: each node must read its old state (and journal it) rather
//! than start over. The resumed run's report equals the old one case by
//! case, ledger line by ledger line, and every node's books still
//! reconcile with central's ledger.

use std::path::Path;
use std::process::Command;

use counterpart_tests::{previous_release_or_skip, scenario_for_previous_release};
use serde_json::Value;

/// `pairctl up` of the small scenario by `exe` on `data`; its report.
fn run_small(exe: &Path, dir: &Path, data: &Path, name: &str) -> (Value, String) {
    let report = dir.join(format!("{name}.json"));
    let output = Command::new(exe)
        .args(["up", "--day-ms", "100", "--scenario"])
        .arg(scenario_for_previous_release("small", dir))
        .arg("--data-dir")
        .arg(data)
        .arg("--log-dir")
        .arg(dir.join(format!("logs-{name}")))
        .arg("--report")
        .arg(&report)
        .output()
        .expect("pairctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name}: pairctl up failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    (report, stdout)
}

#[test]
fn a_run_of_the_previous_release_resumes_on_its_data_directories() {
    let Some(previous) = previous_release_or_skip() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("counterpart-upgrade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let (old, _) = run_small(&previous.join("pairctl"), &dir, &data, "previous");
    let (new, stdout) = run_small(
        Path::new(env!("CARGO_BIN_EXE_pairctl-under-test")),
        &dir,
        &data,
        "upgraded",
    );

    // Each case by what tells one run from another: when it was asked for,
    // decided and closed. Then the whole records, which must be equal too.
    let summary = |report: &Value| -> Vec<String> {
        let cases = report["cases"].as_array().cloned().unwrap_or_default();
        cases
            .iter()
            .map(|c| {
                let at = |k: &str| c[k].as_str().unwrap_or("-").to_string();
                let fields = [
                    "case_id",
                    "status",
                    "requested_at",
                    "decided_at",
                    "closed_at",
                ];
                fields.map(at).join(" ")
            })
            .collect()
    };
    assert_eq!(
        summary(&old).len(),
        4,
        "north, south, and west twice: {:?}",
        summary(&old)
    );
    assert_eq!(
        summary(&new),
        summary(&old),
        "the upgraded nodes resumed the old run, not a new one"
    );
    // Field by field as the previous release reported them: this release
    // adds fields of its own (`first_shipments`), which are additions.
    let as_before = |report: &Value| -> Vec<Value> {
        let cases = report["cases"].as_array().cloned().unwrap_or_default();
        let old_cases = old["cases"].as_array().cloned().unwrap_or_default();
        cases
            .iter()
            .zip(&old_cases)
            .map(|(case, before)| {
                let keys = before
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>());
                let kept = keys
                    .unwrap_or_default()
                    .into_iter()
                    .map(|k| (k.clone(), case[&k].clone()))
                    .collect();
                Value::Object(kept)
            })
            .collect()
    };
    assert_eq!(
        summary(&new).len(),
        summary(&old).len(),
        "as many cases after the upgrade"
    );
    assert!(
        as_before(&new) == as_before(&old),
        "the cases' records differ after the upgrade"
    );
    for field in ["finished_at", "ledger", "costs", "pairings"] {
        assert_eq!(new[field], old[field], "{field}");
    }
    assert!(
        stdout.contains("Reconciled central's ledger with the nodes' books: ")
            && stdout.contains(" lines, 0 differences"),
        "{stdout}"
    );
    let central_log = std::fs::read_to_string(dir.join("logs-upgraded/central.log")).unwrap();
    assert!(
        central_log.contains("resumed from the previous release's saved state"),
        "central read the old state: {central_log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
