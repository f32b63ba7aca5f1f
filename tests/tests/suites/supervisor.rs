//! `pairctl up` as a supervisor: a user `kill -9`s nodes in the middle of a
//! run, pairctl starts each again on its data directory and port, and the
//! run still ends with every case closed and the nodes' own books agreeing
//! with central's ledger. Each kill is placed at a scenario day.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use counterpart_domain::clock::DAY_MS;
use counterpart_tests::checks::{
    assert_holds, books_reconcile, cases_as_expected, legal_order, SMALL_SCENARIO_CASES,
};
use counterpart_tests::cluster::central_client_as;
use counterpart_tests::scenario_path;
use node_kit::client::request_with_deadline;
use node_kit::tls::{NodeTls, OPERATOR_ID};
use pairing_proto::v1::StatusQuery;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

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

/// Reads pairctl's stdout up to the line that says where central listens;
/// the rest is collected in the background (so pairctl never blocks on a
/// full pipe) and handed back when pairctl closes it.
async fn central_endpoint(
    stdout: tokio::process::ChildStdout,
) -> (String, tokio::task::JoinHandle<String>) {
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    let endpoint = loop {
        let line = lines
            .next_line()
            .await
            .expect("pairctl's stdout")
            .unwrap_or_else(|| panic!("pairctl never said where central is:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split_once("central at ").map(|(_, r)| r) {
            break rest.split(',').next().unwrap().to_string();
        }
    };
    let rest = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    (endpoint, rest)
}

/// Waits until central, asked as the operator, says its clock reads `day`
/// (scenario days); central may be down for a while meanwhile.
async fn until_day(endpoint: &str, operator: &NodeTls, day: f64) {
    let mut central = central_client_as(endpoint, Some(operator));
    let started = Instant::now();
    loop {
        let status = central
            .get_status(request_with_deadline(
                StatusQuery {},
                Duration::from_secs(2),
            ))
            .await;
        if let Ok(s) = status {
            let now = s.into_inner().scenario_now_ms as f64 / DAY_MS as f64;
            if now >= day {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "central never reached day {day}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn nodes_killed_mid_run_are_restarted_and_every_case_closes() {
    let dir = std::env::temp_dir().join(format!("counterpart-supervisor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let report_path = dir.join("report.json");
    let mut up = tokio::process::Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
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
    let mut stderr = up.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let (endpoint, stdout) = central_endpoint(up.stdout.take().unwrap()).await;
    let operator = NodeTls::load(&dir.join("logs/certs"), OPERATOR_ID).unwrap();
    // Central while it decides, a donor while it ships, a city while goods
    // arrive (the days of the small scenario's run).
    for (node, day) in [("central", 3.0), ("alpha", 6.0), ("north", 8.0)] {
        until_day(&endpoint, &operator, day).await;
        kill_9(&data.join(node)).await;
    }
    let status = tokio::time::timeout(Duration::from_secs(240), up.wait())
        .await
        .expect("pairctl up ends")
        .expect("pairctl up runs");
    let stdout = stdout.await.unwrap();
    assert!(
        status.success(),
        "pairctl up failed ({status}):\n{stdout}\n{}",
        stderr.await.unwrap()
    );
    for node in ["central", "alpha", "north"] {
        assert!(
            stdout.contains(&format!(" {node} exited (signal: 9")),
            "{node}'s restart is reported:\n{stdout}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_holds(
        "expected cases",
        cases_as_expected(&report, SMALL_SCENARIO_CASES),
    );
    assert_holds("legal order", legal_order(&report));
    // The nodes' own books, read by pairctl before it stopped them.
    assert_holds("nodes' books reconcile", books_reconcile(&report));
    let _ = std::fs::remove_dir_all(&dir);
}
