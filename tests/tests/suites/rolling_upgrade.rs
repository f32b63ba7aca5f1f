//! A rolling upgrade in the middle of a run: hubei-2020 starts with every
//! node (central, 19 provinces, 16 cities) from the previous release; once
//! its cases are being implemented, `pairctl upgrade` has the supervisor
//! replace every node by this release, one at a time, in an order drawn
//! from a seed. Each replaced node reads the previous release's saved state
//! and carries on. The run must still close every case, the nodes' books
//! reconcile with central's ledger, and every node be upgraded.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use counterpart_domain::scenario;
use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::{previous_release_or_skip, scenario_for_previous_release};

/// How long the run may take to reach its middle (its cases implementing).
const TO_THE_MIDDLE: Duration = Duration::from_secs(120);

#[test]
fn every_node_is_upgraded_mid_run_and_every_case_still_closes() {
    let Some(previous) = previous_release_or_skip() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("counterpart-rolling-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let new_binaries = dir.join("new");
    std::fs::create_dir_all(&new_binaries).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_pairctl-under-test"),
        new_binaries.join("pairctl"),
    )
    .unwrap();
    let logs = dir.join("logs");
    let report_path = dir.join("report.json");
    let path = scenario_for_previous_release("hubei-2020", &dir);
    let mut up = Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["up", "--day-ms", "1000", "--scenario"])
        .arg(&path)
        .args(
            ["central", "province", "city"]
                .map(|role| format!("--binaries={role}={}", previous.display())),
        )
        .arg("--log-dir")
        .arg(&logs)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--report")
        .arg(&report_path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("pairctl up starts");

    // Read the run's progress until its cases are being implemented.
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("pairctl up ended early:\n{}", seen.join("\n")))
            .unwrap();
        let middle = line.contains("implementing");
        seen.push(line);
        if middle {
            break;
        }
        assert!(
            started.elapsed() < TO_THE_MIDDLE,
            "no case implementing:\n{}",
            seen.join("\n")
        );
    }
    // The rest of what up prints, kept for a failure's message.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    let upgrade = Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["upgrade", "--seed", "2020", "--log-dir"])
        .arg(&logs)
        .arg("--binaries")
        .arg(&new_binaries)
        .output()
        .expect("pairctl upgrade runs");
    let upgrade_out = String::from_utf8_lossy(&upgrade.stdout).into_owned();
    let status = up.wait().unwrap();
    seen.extend(rest.join().unwrap());
    let up_out = seen.join("\n");
    assert!(
        upgrade.status.success(),
        "the upgrade failed:\n{upgrade_out}\n{}\n--- up:\n{up_out}",
        String::from_utf8_lossy(&upgrade.stderr)
    );
    assert!(
        status.success(),
        "the run failed after the upgrade:\n{up_out}"
    );

    assert!(upgrade_out.contains("(seed 2020)"), "{upgrade_out}");
    assert_eq!(
        upgrade_out.matches("\nupgraded ").count()
            + usize::from(upgrade_out.starts_with("upgraded ")),
        36,
        "every node replaced once:\n{upgrade_out}"
    );
    assert!(upgrade_out.contains("upgrade done 36"), "{upgrade_out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let scenario = scenario::load(&path).unwrap();
    checks::assert_complete_historical_run(&report, &scenario);
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    let _ = std::fs::remove_dir_all(&dir);
}
