//! The committed `deploy/docker-compose.yml`, run the way the README tells a
//! user to: `deploy/build-images.sh` (here with `--from-test-build`: the
//! same image from the test build's binaries, tagged `counterpart:test`;
//! `counterpart_tests::docker::ensure_image` says why), then `up`, and
//! nothing else (no certificate made on the host, no file mode changed, no
//! TLS variable exported). hubei-2020's 36 nodes in containers, at 100 ms a scenario
//! day (`PAIRING_DAY_MS`, a documented setting), in lockstep steps of 6
//! hours (`PAIRING_STEP_MINUTES`, another), without Jaeger
//! (`OTLP_ENDPOINT=` empty), under a project name of its own. Checked:
//! every node healthy; the run finished and every city's case closed,
//! asked through `docker compose exec central pairctl` as an operator
//! would; every node's key readable by that node's user alone; a second
//! run of the `certs` service keeps every key; `down -v` at the end,
//! whatever happens.
//!
//! One compose run, not two: that the lockstep clock tells the same story
//! on a busy machine is shown by `hubei_2020.rs` (the same code as
//! processes, beside two CPU hogs); a second compose run here, beside the
//! hogs, cost the suite about 100 s and tested nothing the containers
//! change.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use counterpart_domain::scenario::{self, Scenario};
use counterpart_tests::checks;
use counterpart_tests::docker::compose::{self, files_in, ComposeProject, FileEntry};
use counterpart_tests::docker::{compose_ready, docker, image_ref, run_suffix, IMAGE_VARIABLE};
use counterpart_tests::{repo_root, scenario_path};
use serde_json::Value;

const DAY_MS: &str = "100";
/// The simulator's step (`pairctl::sim::DEFAULT_STEP_MINUTES`), not the
/// compose file's default of an hour: a lockstep run costs per step, each
/// step a round through all 36 containers, and hubei-2020 is about 250
/// steps of 6 hours against 1,500 of one. What the step changes, the
/// story's grain, is tested elsewhere: the simulator's hubei-2020 seeds
/// pass every checker at 6 hours, and `hubei_2020.rs` runs the README's
/// `pairctl up` at its default hour as processes.
const STEP_MINUTES: u32 = pairctl::sim::DEFAULT_STEP_MINUTES;
/// hubei-2020 is about 63 days on the lockstep clock, at least 6.3 s at
/// 100 ms a day. In containers of the test build's binaries on a
/// fuse-overlayfs engine (`deploy/compose-run.sh`, idle machine), `up` to
/// finished in one-hour steps: 135-170 s on one machine (2026-12-07, 08:00
/// UTC; 282 s beside a static release build), 64-69 s on another (10:23
/// UTC); in steps of 6 hours, 25-28 s on the second. The limit leaves room
/// for a neighbour's load and for a machine several times slower.
const FINISH_LIMIT: Duration = Duration::from_secs(300);
/// The user the image's nodes run as (deploy/Dockerfile's `USER`).
const NODE_USER: &str = "65534:65534";

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// `docker compose exec central pairctl status` until its first line says
/// the run is finished (`...; finished`, as deploy/compose-run.sh reads it).
fn wait_finished(project: &ComposeProject) -> String {
    let started = Instant::now();
    loop {
        let last = match project.exec("central", &["pairctl", "status"]) {
            Ok(status)
                if status
                    .lines()
                    .next()
                    .is_some_and(|l| l.ends_with("; finished")) =>
            {
                return status
            }
            Ok(status) => status,
            Err(e) => e,
        };
        assert!(
            started.elapsed() < FINISH_LIMIT,
            "not finished after {FINISH_LIMIT:?}; last `pairctl status`:\n{last}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Every city of the scenario has its case, by name, and it is closed.
fn assert_every_city_closed(report: &Value, scenario: &Scenario) {
    let cases = report["cases"].as_array().expect("the report lists cases");
    let closed: BTreeSet<&str> = cases
        .iter()
        .filter(|c| c["status"] == "closed")
        .filter_map(|c| c["city"].as_str())
        .collect();
    let not_closed: Vec<String> = scenario
        .cities
        .iter()
        .filter(|c| !closed.contains(c.id.as_str()))
        .map(|c| {
            let status = cases
                .iter()
                .find(|case| case["city"] == c.id.as_str())
                .map_or("no case".to_string(), |case| case["status"].to_string());
            format!("{}: {status}", c.id)
        })
        .collect();
    assert!(not_closed.is_empty(), "cases not closed: {not_closed:?}");
    assert_eq!(closed.len(), scenario.cities.len());
}

/// What a node's `/certs` must hold, and how: the CA certificate and its
/// own certificate and key (central's also the operator's), every file and
/// the directory owned by the container's user, the directory and the keys
/// for that user alone. No other key, the CA's included.
fn assert_only_its_own_key(service: &str, id: &str, user: (u32, u32), files: &[FileEntry]) {
    let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut expected: BTreeSet<String> = ["".to_string(), "ca.pem".to_string()].into();
    let mut holders = vec![id];
    if service == "central" {
        holders.push(node_kit::tls::OPERATOR_ID);
    }
    for holder in &holders {
        expected.insert(format!("{holder}.pem"));
        expected.insert(format!("{holder}.key"));
    }
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(names, expected, "{service}: /certs holds other files");
    for file in files {
        let what = format!("{service}:/certs/{}", file.name);
        assert_eq!((file.uid, file.gid), user, "{what}: not the node user's");
        if file.is_dir {
            assert_eq!(file.mode, 0o700, "{what}: the directory's mode");
        } else if file.name.ends_with(".key") {
            assert_eq!(file.mode, 0o600, "{what}: a key readable by others");
            assert!(!file.data.is_empty(), "{what}: empty");
        } else {
            assert_eq!(file.mode & 0o022, 0, "{what}: writable by others");
        }
    }
}

/// `UID:GID` as numbers.
fn numeric_user(user: &str) -> (u32, u32) {
    let parse = |s: &str| s.parse::<u32>().unwrap_or_else(|_| panic!("user {user:?}"));
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    (parse(uid), parse(gid))
}

/// Every node's key, in its container, is its user's alone; returns
/// central's key, to compare after the certificates are made again.
fn check_keys(project: &ComposeProject, scenario: &Scenario) -> Vec<u8> {
    let provinces = scenario.provinces.iter().map(|p| ("province", &p.id));
    let cities = scenario.cities.iter().map(|c| ("city", &c.id));
    let central_id = "central".to_string();
    let containers = project.containers();
    let mut central_key = Vec::new();
    let mut checked = 0;
    for (role, id) in std::iter::once(("central", &central_id))
        .chain(provinces)
        .chain(cities)
    {
        let service = if role == "central" {
            role.to_string()
        } else {
            format!("{role}-{id}")
        };
        let container = containers
            .get(&service)
            .unwrap_or_else(|| panic!("no container for {service}: {containers:?}"));
        let user = docker(&["inspect", "--format", "{{.Config.User}}", container])
            .unwrap_or_else(|e| panic!("docker inspect {service}: {e}"));
        assert_eq!(user.trim(), NODE_USER, "{service} runs as another user");
        let files = files_in(container, "/certs").unwrap_or_else(|e| panic!("{e}"));
        assert_only_its_own_key(&service, id, numeric_user(user.trim()), &files);
        if role == "central" {
            central_key = files
                .into_iter()
                .find(|f| f.name == "central.key")
                .map(|f| f.data)
                .unwrap_or_default();
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        1 + scenario.provinces.len() + scenario.cities.len()
    );
    central_key
}

#[test]
fn hubei_2020_runs_in_compose_from_two_commands_with_private_keys() {
    // The first command, deploy/build-images.sh (--from-test-build, once
    // per test process), is run by compose_ready.
    let Some(command) = compose_ready() else {
        return;
    };
    let scenario = scenario::load(&scenario_path("hubei-2020")).expect("hubei-2020 loads");
    let nodes = 1 + scenario.provinces.len() + scenario.cities.len();
    // Declared before the project, so held until after its `down -v`.
    let _port = compose::claim_central_port();

    let mut project = ComposeProject::new(
        command,
        format!("counterpart-smoke-{}", run_suffix()),
        repo_root().join("deploy/docker-compose.yml"),
    )
    .with_env("PAIRING_DAY_MS", DAY_MS)
    .with_env("PAIRING_STEP_MINUTES", &STEP_MINUTES.to_string())
    // Empty, not unset: export nothing (there is no Jaeger here).
    .with_env("OTLP_ENDPOINT", "")
    .with_env(IMAGE_VARIABLE, &image_ref());
    println!(
        "{}: `{} up -d` ({nodes} nodes, {DAY_MS} ms a day, steps of {STEP_MINUTES} minutes, no Jaeger, image {})",
        project.name(),
        project.command_line(),
        image_ref()
    );
    // The second command.
    let started = Instant::now();
    project.up();
    println!("up returned after {:.1} s", seconds(started));

    project.wait_healthy(nodes, started);
    println!("all {nodes} nodes healthy after {:.1} s", seconds(started));

    let status = wait_finished(&project);
    println!(
        "finished after {:.1} s: {}",
        seconds(started),
        status.lines().next().unwrap_or_default()
    );
    // The report as an operator gets it: pairctl in central's container,
    // presenting the operator's certificate with no flag given.
    let json = project
        .exec("central", &["pairctl", "report", "--out", "-"])
        .unwrap_or_else(|e| panic!("{e}"));
    let report: Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("`pairctl report --out -` printed no JSON ({e}):\n{json}"));
    assert_eq!(report["scenario"], "hubei-2020");
    assert_every_city_closed(&report, &scenario);
    checks::assert_complete_historical_run(&report, &scenario);
    let day_ms: i64 = DAY_MS.parse().expect("DAY_MS is a number");
    assert_eq!(report["day_ms"], day_ms, "PAIRING_DAY_MS reached central");
    assert_eq!(
        report["clock"]["step_minutes"], STEP_MINUTES,
        "PAIRING_STEP_MINUTES reached central"
    );
    for query in [["pairctl", "pairings"], ["pairctl", "ledger"]] {
        let out = project
            .exec("central", &query)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !out.trim().is_empty(),
            "`{}` printed nothing",
            query.join(" ")
        );
    }
    println!(
        "every one of {} cases closed, read through `exec central pairctl report`",
        scenario.cities.len()
    );
    // The nodes' own books beside central's ledger, asked as the operator
    // from inside the network: exit 0 only when every line agrees.
    let reconciled = project
        .exec("central", &["pairctl", "ledger", "--reconcile"])
        .unwrap_or_else(|e| panic!("the nodes' books and central's ledger disagree: {e}"));
    let lines = reconciled.lines().filter(|l| l.contains("case-")).count();
    assert!(
        lines >= scenario.cities.len(),
        "reconciled {lines} lines:\n{reconciled}"
    );
    println!("central's ledger = every node's books: {lines} lines reconciled");

    let central_key = check_keys(&project, &scenario);
    println!(
        "{nodes} nodes: each holds its own key only, mode 0600, owner {NODE_USER} \
         (checked after {:.1} s)",
        seconds(started)
    );

    // What a second `up` does: the certs service runs again and keeps
    // every certificate and key the volumes hold.
    let again = project
        .run(&["run", "--rm", "-T", "certs"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        again.contains("Reused the CA") && again.contains(" 0 issued"),
        "the certs service made certificates again: {again}"
    );
    assert_eq!(
        check_keys(&project, &scenario),
        central_key,
        "central's key changed when the certs service ran again"
    );
    println!(
        "certs service run again: {} (after {:.1} s)",
        again.trim(),
        seconds(started)
    );

    project.down();
    println!(
        "compose smoke: up -> down done in {:.1} s",
        seconds(started)
    );
}
