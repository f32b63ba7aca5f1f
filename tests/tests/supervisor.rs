//! `pairctl up` as a supervisor: a user `kill -9`s nodes in the middle of a
//! run, pairctl starts each again on its data directory and port, and the
//! run still ends with every case closed and every receipt matching.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use counterpart_tests::checks::{all_closed, assert_holds, receipts_match};
use counterpart_tests::scenario_path;

/// The pid of the node process whose command line names `data_dir`.
fn pid_of(data_dir: &Path) -> Option<i32> {
    let needle = data_dir.display().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.contains(" node ") && cmdline.contains(&needle)).then_some(pid)
        })
}

/// Waits for the node to be up, then kills it with SIGKILL.
async fn kill_9(data_dir: &Path) {
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = pid_of(data_dir) {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no node for {data_dir:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // SAFETY: kill has no memory effects; pid is a node pairctl started.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

#[tokio::test]
async fn nodes_killed_mid_run_are_restarted_and_every_case_closes() {
    let dir = std::env::temp_dir().join(format!("counterpart-supervisor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let report_path = dir.join("report.json");
    let up = tokio::process::Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["up", "--day-ms", "200", "--scenario"])
        .arg(scenario_path("small"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--report")
        .arg(&report_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("pairctl starts");
    // Central at about day 3 (deciding), a donor and a city while goods move.
    for (node, after_ms) in [("central", 1_200), ("alpha", 1_000), ("north", 600)] {
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        kill_9(&data.join(node)).await;
    }
    let output = tokio::time::timeout(Duration::from_secs(240), up.wait_with_output())
        .await
        .expect("pairctl up ends")
        .expect("pairctl up runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pairctl up failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for node in ["central", "alpha", "north"] {
        assert!(
            stdout.contains(&format!(" {node} exited (signal: 9")),
            "{node}'s restart is reported:\n{stdout}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_holds("every case closed", all_closed(&report, true));
    assert_holds("receipts match shipments", receipts_match(&report));
    let _ = std::fs::remove_dir_all(&dir);
}
