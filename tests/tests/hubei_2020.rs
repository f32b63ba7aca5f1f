//! The built-in hubei-2020 scenario end to end, the way a user runs it:
//! `pairctl up` (built for the tests as `pairctl-under-test`) starting central, 19 provinces and 16 cities as 36 separate
//! processes on loopback, at 200 ms a scenario day (the ten-week scenario in
//! about 15 s): fast, yet slow enough that a debug build on a busy shared
//! machine keeps up with the wall-clock scenario. Asserts the report it writes.

use std::process::Command;

use counterpart_domain::scenario;
use counterpart_tests::checks;
use counterpart_tests::scenario_path;

#[test]
fn hubei_2020_replays_the_nhc_table_and_closes_every_case() {
    let dir = std::env::temp_dir().join(format!("counterpart-hubei-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report_path = dir.join("report.json");
    let path = scenario_path("hubei-2020");
    let output = Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["up", "--day-ms", "200", "--scenario"])
        .arg(&path)
        .arg("--report")
        .arg(&report_path)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .expect("pairctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pairctl up failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let scenario = scenario::load(&path).unwrap();

    assert_eq!(scenario.cities.len(), 16);
    assert_eq!(scenario.provinces.len(), 19);
    assert_eq!(
        report["nodes"].as_array().map(Vec::len),
        Some(36),
        "one process per node"
    );
    let pids: std::collections::BTreeSet<i64> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["pid"].as_i64())
        .collect();
    assert_eq!(pids.len(), 36, "every node is its own process");
    checks::assert_complete_historical_run(&report, &scenario);

    // Jiangsu's team reached Huangshi: 103 doctors and 200 nurses, from its pools.
    let huangshi = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["city"] == "huangshi")
        .unwrap();
    assert_eq!(huangshi["provinces"][0], "jiangsu");
    assert!(
        huangshi["received"]["personnel/doctor"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{huangshi}"
    );
    assert!(
        report["messages"]["AssistanceRequest"]
            .as_u64()
            .unwrap_or(0)
            >= 16
    );
    let _ = std::fs::remove_dir_all(&dir);
}
