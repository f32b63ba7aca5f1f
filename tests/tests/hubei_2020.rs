//! The built-in hubei-2020 scenario end to end, the way a user runs it:
//! `pairctl up` (built for the tests as `pairctl-under-test`) starting central, 19 provinces and 16 cities as 36 separate
//! processes on loopback, at 200 ms a scenario day (the ten-week scenario in
//! about 15 s): fast, yet slow enough that a debug build on a busy shared
//! machine keeps up with the wall-clock scenario. Asserts the report it writes,
//! the nodes' own books reconciled in it among them.

use counterpart_domain::scenario;
use counterpart_tests::checks::{self, assert_holds};
use counterpart_tests::{scenario_path, up_hubei};

#[test]
fn hubei_2020_replays_the_nhc_table_and_closes_every_case() {
    let dir = std::env::temp_dir().join(format!("counterpart-hubei-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario_path("hubei-2020");
    let run = up_hubei(env!("CARGO_BIN_EXE_pairctl-under-test"), &dir, &[]);
    let (stdout, report) = (run.stdout, run.report);
    let scenario = scenario::load(&path).unwrap();

    assert_eq!(
        report["nodes"].as_array().map(Vec::len),
        Some(36),
        "one process per node: central, 19 provinces, 16 cities"
    );
    let pids: std::collections::BTreeSet<i64> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["pid"].as_i64())
        .collect();
    assert_eq!(pids.len(), 36, "every node is its own process");
    // One closed case for each of the 16 cities of the NHC table.
    assert_eq!(
        report["cases"].as_array().map(Vec::len),
        Some(16),
        "{}",
        report["cases"]
    );
    checks::assert_complete_historical_run(&report, &scenario);
    // The nodes' own books, read by pairctl before it stopped them.
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    assert!(
        stdout.contains("Reconciled central's ledger with the nodes' books: ")
            && stdout.contains(" lines, 0 differences"),
        "{stdout}"
    );
    jiangsus_team_reached_huangshi(&report);
    // Masks lost in transit (0.2 %, above the shortfall's 0.1 % once a
    // pairing has lost 250) call for disputes in the largest pairings;
    // every one is ruled on and both sides take the ruling.
    assert!(
        report["messages"]["Dispute"].as_u64().unwrap_or(0) >= 1,
        "no dispute raised: {}",
        report["messages"]
    );
    assert_holds("disputes ruled", checks::disputes_ruled(&report));
    assert!(
        report["messages"]["AssistanceRequest"]
            .as_u64()
            .unwrap_or(0)
            >= 16
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Jiangsu's team to Huangshi, as the scenario's sources give it (Chinanews
/// 11 Feb, Xinhua 4 Mar 2020): 103 doctors and 200 nurses, all of Jiangsu's
/// pool. Read from the nodes' books and central's targets as reconciled:
/// central commits Jiangsu to within a fifth of the team (Huangshi's need is
/// calibrated on it), Jiangsu ships doctors and nurses from that pool and
/// no more, and Huangshi's books account for every one of them.
fn jiangsus_team_reached_huangshi(report: &serde_json::Value) {
    const TEAM: [(&str, i64); 2] = [("personnel/doctor", 103), ("personnel/nurse", 200)];
    let huangshi = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["city"] == "huangshi")
        .expect("huangshi's case");
    assert_eq!(huangshi["provinces"], serde_json::json!(["jiangsu"]));
    for (resource_type, team) in TEAM {
        let line = checks::reconciled_line(report, "huangshi", "jiangsu", resource_type)
            .unwrap_or_else(|| {
                panic!("no reconciled line for jiangsu -> huangshi {resource_type}")
            });
        let n = |k: &str| line[k].as_i64().unwrap_or(-1);
        // Within a fifth of the team, not at least the team: with scenario
        // time on the wall clock, whether central raises the first targets
        // (about 90 doctors, assessed on 7 Feb) to about 110 before the run
        // ends depends on the machine's load (issue 12's lockstep clock makes
        // it exact). Measured: 90 and 92 without the raise, 110 and 111 with.
        let band = team * 4 / 5..=team * 6 / 5;
        assert!(
            band.contains(&n("committed")),
            "committed outside {band:?}, a fifth either side of the team: {line}"
        );
        assert!(
            (1..=team).contains(&n("shipped")),
            "shipped outside Jiangsu's pool of {team}: {line}"
        );
        assert_eq!(
            n("received") + n("discrepancy"),
            n("shipped"),
            "Huangshi's books: {line}"
        );
    }
}
