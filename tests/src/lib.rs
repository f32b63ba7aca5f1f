//! Integration harness for Counterpart clusters.
//!
//! - [`cluster`]: start a whole scenario in-process on loopback ports, or
//!   find the `pairctl` binary to start one as child processes.
//! - [`checks`]: the properties every run must have, checked on the run
//!   report: the pairing table, the legal order of each case's steps, the
//!   cases a suite expects (city, status, count), and the nodes' own books
//!   reconciled with central's ledger.
//! - [`secure`]: clusters over mutual TLS for the attack tests: certificates,
//!   clients presenting a given node's, central's view before and after.
//! - [`host`]: one node on a thread and runtime of its own, to crash and
//!   restart on its data directory.
//! - [`browser`]: a headless Chromium driven through WebDriver (the
//!   dashboard's test); required when `CI=true`.
//! - [`chaos`]: seeded fault schedules for the fault suite.
//! - [`resilient`]: a whole scenario of such nodes, with durable state.
//! - [`docker`]: for the container suites: whether a Docker engine answers
//!   (required when `CI=true`), the node image built from the current
//!   sources, per-run names, a guard that removes what a test created, and
//!   a scenario's cluster in containers with its faults.
//! - [`wire`]: arbitrary bytes decoded as requests and handed to the state
//!   machines (shared with the fuzz target in `fuzz/`).

pub mod browser;
pub mod chaos;
pub use pairctl::checks;
pub mod cluster;
pub mod docker;
pub mod host;
pub mod resilient;
pub mod secure;
pub mod wire;

/// The repository root, for scenario files.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A scenario file under deploy/scenarios.
pub fn scenario_path(name: &str) -> std::path::PathBuf {
    repo_root()
        .join("deploy/scenarios")
        .join(format!("{name}.toml"))
}

/// What `pairctl up` printed and the run report it wrote.
pub struct UpRun {
    pub output: std::process::Output,
    pub stdout: String,
    pub report: serde_json::Value,
}

/// Runs `pairctl` (the binary `exe`) `up` on hubei-2020 at 200 ms a scenario
/// day, durable, with logs, state and report under `dir` and `extra`
/// arguments; fails the test, with what it printed, unless it succeeds.
pub fn up_hubei(exe: &str, dir: &std::path::Path, extra: &[String]) -> UpRun {
    up_scenario(exe, "hubei-2020", dir, extra)
}

/// [`up_hubei`] on scenario `name` of deploy/scenarios.
pub fn up_scenario(exe: &str, name: &str, dir: &std::path::Path, extra: &[String]) -> UpRun {
    up_file(exe, &scenario_path(name), dir, extra)
}

/// [`up_hubei`] on the scenario file `scenario`.
pub fn up_file(
    exe: &str,
    scenario: &std::path::Path,
    dir: &std::path::Path,
    extra: &[String],
) -> UpRun {
    up_file_with_env(exe, scenario, dir, extra, &[])
}

/// `--day-ms 200` unless `extra` gives a pace: on the lockstep clock a
/// floor each day keeps to (a debug build takes longer anyway), on the
/// wall clock a speed a debug build on a busy machine keeps up with.
fn default_pace(extra: &[String]) -> Vec<String> {
    if extra.iter().any(|a| a.starts_with("--day-ms")) {
        return vec![];
    }
    vec!["--day-ms".into(), "200".into()]
}

/// [`up_file`] with `env` set for pairctl and every node it starts.
pub fn up_file_with_env(
    exe: &str,
    scenario: &std::path::Path,
    dir: &std::path::Path,
    extra: &[String],
    env: &[(&str, &str)],
) -> UpRun {
    let report_path = dir.join("report.json");
    let output = std::process::Command::new(exe)
        .envs(env.iter().copied())
        .arg("up")
        .args(default_pace(extra))
        .arg("--scenario")
        .arg(scenario)
        .args(extra)
        .arg("--report")
        .arg(&report_path)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .expect("pairctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "pairctl up failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&report_path).expect("the report"))
        .expect("the report is JSON");
    UpRun {
        output,
        stdout,
        report,
    }
}

/// The directory holding the previous release's pairctl (built once by
/// compat/build-previous.sh from this clone's history), or why not.
pub fn previous_release() -> Result<std::path::PathBuf, String> {
    let output = std::process::Command::new(repo_root().join("compat/build-previous.sh"))
        .output()
        .map_err(|e| format!("cannot run compat/build-previous.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "compat/build-previous.sh failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().into())
}

/// Fields this release added to scenario files: optional map positions
/// (`lat`, `lon`) for the dashboard, and a city's sourced `final_deaths`
/// for the outcome model. The previous release's loader refuses
/// unknown fields (a typo must not pass silently), so it cannot read a file
/// that has them.
pub const SCENARIO_FIELDS_SINCE_PREVIOUS: &[&str] = &["lat", "lon", "final_deaths"];

/// `name`'s scenario as every release of a mixed cluster reads it: the
/// shipped file without the fields added since the previous release (nor
/// their names in `estimated` lists), in `dir`. That is what an operator does too (docs/CHANGING-THE-PROTOCOL.md,
/// "Scenario files"): a mixed cluster runs on a file its oldest node reads.
pub fn scenario_for_previous_release(name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(scenario_path(name)).expect("the scenario file");
    let added = |line: &str| {
        let key = line.split('=').next().unwrap_or("").trim();
        line.contains('=') && SCENARIO_FIELDS_SINCE_PREVIOUS.contains(&key)
    };
    // The fields go, and so do their names in `estimated` lists.
    let unlisted = |line: &str| {
        SCENARIO_FIELDS_SINCE_PREVIOUS
            .iter()
            .fold(line.to_string(), |line, field| {
                line.replace(&format!(", \"{field}\""), "")
                    .replace(&format!("\"{field}\", "), "")
            })
    };
    let kept: Vec<String> = text
        .lines()
        .filter(|line| !added(line))
        .map(unlisted)
        .collect();
    std::fs::create_dir_all(dir).expect("the scenario's directory");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, kept.join("\n") + "\n").expect("the scenario copy");
    path
}

/// What a test needs and may lack (the previous release, its image):
/// with `CI=true` its absence fails the test; elsewhere the test is
/// skipped, saying why. The one rule of every such test.
pub fn needed_or_skip<T>(what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED ({what} is not available): {why}");
            None
        }
        Err(why) => panic!("{what} is needed with CI=true: {why}"),
    }
}

/// The previous release for a test that needs it ([`needed_or_skip`]).
pub fn previous_release_or_skip() -> Option<std::path::PathBuf> {
    needed_or_skip("the previous release", previous_release())
}

/// Two CPU hogs (`yes > /dev/null`) for as long as the value lives: a
/// busy machine, for the tests that show a run's story does not depend on
/// the machine's load.
pub struct Hogs(Vec<std::process::Child>);

impl Hogs {
    pub fn start() -> Hogs {
        let hog = || {
            std::process::Command::new("yes")
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("yes runs")
        };
        Hogs(vec![hog(), hog()])
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}
