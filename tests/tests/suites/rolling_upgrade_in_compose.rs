//! A rolling upgrade in compose, as deploy/README.md ("Upgrade a running
//! cluster") tells an operator to do it: hubei-2020's 36 nodes from the
//! committed `deploy/docker-compose.yml` with each node's state in a volume
//! of its own (`deploy/docker-compose.state.yml`), central and the 16 cities
//! on this build's image and the 19 provinces on the previous release's
//! (compat/PREVIOUS, built once by `compat/build-previous.sh --image`). Once
//! shipments are under way, each province's container is given this
//! build's image, one at a time in an order drawn from a printed seed
//! (`up -d --no-deps SERVICE`, then wait until it is healthy and has
//! registered again). Checked: every case closes, central's ledger agrees
//! with every node's own books (`pairctl ledger --reconcile`: nothing lost
//! or counted twice), and the report names the version each node now
//! speaks. `down -v` at the end, whatever happens.
//!
//! hubei-2020, not a smaller scenario: it is the compose file operators
//! run (a smaller one would need a compose file of its own), it has 19
//! provinces to replace, and the small scenarios end with a case rejected,
//! not closed. It costs a slower clock (DAY_MS) so the run outlasts 19
//! upgrades of about 5 s each: about 4.5 minutes in all,
//! while other suites of the binary run beside it.
//!
//! The provinces start on the previous release's IMAGE but under the
//! CURRENT compose file, pinned by an override: that release's own compose
//! file had no `certs` service (its certificates were bind-mounted from the
//! host), so it cannot be the one a current cluster is upgraded from. The
//! nodes' command, environment and health check are the same in both.
//!
//! Needs a Docker engine, compose and the previous release's source in this
//! clone's history: with `CI=true` a lack of any fails the test; elsewhere
//! it is skipped with the reason printed.

use std::time::{Duration, Instant, SystemTime};

use counterpart_domain::scenario;
use counterpart_tests::checks;
use counterpart_tests::docker::compose::{self, ComposeProject};
use counterpart_tests::docker::rolling::{
    self, central_report, container_image_and_health, image_id, previous_image_or_skip,
    ProjectSweep, ServiceImages,
};
use counterpart_tests::docker::{compose_ready, image_ref, run_suffix, IMAGE_VARIABLE};
use counterpart_tests::{repo_root, scenario_path};
use pairing_proto::version::PROTOCOL_VERSION;
use serde_json::Value;

/// Slow enough that the run outlasts all 19 upgrades with room to spare.
/// Measured at 2500 ms: the clock started about 10 s after `up`, the first
/// shipment at 26 s, each upgrade took 4.3 to 5.2 s (replaced, healthy,
/// registered again), all 19 were done at 122 s and the run finished at
/// 171 s, so steps half again as slow would have outrun it. At 3000 ms a
/// day (about 64 days, 190 s) they might take nearly twice as long; at
/// 4000 (about 256 s), nearly three times as long: this suite shares the
/// machine with whichever other suite of the binary runs beside it (a
/// cluster of 36 processes beside two CPU hogs, at worst), and it costs
/// little wall time, as that suite runs meanwhile. The shipments
/// themselves fall in the run's first 20 days or so: about half the
/// provinces are replaced while they still ship.
const DAY_MS: &str = "4000";
/// From the clock's start to the first shipment in central's ledger.
const MID_RUN_LIMIT: Duration = Duration::from_secs(120);
/// One province: its container replaced and healthy, then registered again.
const STEP_LIMIT: Duration = Duration::from_secs(60);
/// From the last upgrade to the end of the run.
const FINISH_LIMIT: Duration = Duration::from_secs(240);
/// Set it to repeat a run's upgrade order.
const SEED_VARIABLE: &str = "COMPOSE_UPGRADE_SEED";

/// The seed of the upgrade order: `$COMPOSE_UPGRADE_SEED`, or a new one
/// each run (printed, so a failing order can be run again).
fn seed() -> u64 {
    match std::env::var(SEED_VARIABLE) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VARIABLE}={s:?} is not a number")),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(2020, |d| d.as_nanos() as u64 % 1_000_000),
    }
}

/// Polls central's report (at most `limit`) until `not_yet` says nothing
/// (it says why not, for the failure's message); returns the report.
fn wait_report(
    central: &str,
    what: &str,
    limit: Duration,
    not_yet: impl Fn(&Value) -> Option<String>,
) -> Value {
    let started = Instant::now();
    loop {
        let last = match central_report(central) {
            Ok(report) => match not_yet(&report) {
                None => return report,
                Some(why) => why,
            },
            Err(e) => e,
        };
        assert!(
            started.elapsed() < limit,
            "waited {limit:?} for {what}; last: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn shipped(report: &Value) -> i64 {
    let lines = report["ledger"].as_array().into_iter().flatten();
    lines.filter_map(|l| l["shipped"].as_i64()).sum()
}

fn version_of<'a>(report: &'a Value, node: &str) -> &'a str {
    report["protocol_versions"][node].as_str().unwrap_or("none")
}

/// A directory of the test's own files, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

#[test]
fn the_committed_state_override_is_what_state_volumes_makes() {
    let output = std::process::Command::new(repo_root().join("deploy/state-volumes.sh"))
        .output()
        .expect("deploy/state-volumes.sh runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let committed = std::fs::read_to_string(repo_root().join("deploy/docker-compose.state.yml"))
        .expect("deploy/docker-compose.state.yml");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        committed,
        "deploy/docker-compose.state.yml is stale: \
         deploy/state-volumes.sh > deploy/docker-compose.state.yml"
    );
    // Every node of the scenario keeps its state: central, every province
    // and every city.
    let scenario = scenario::load(&scenario_path("hubei-2020")).unwrap();
    let provinces = scenario
        .provinces
        .iter()
        .map(|p| format!("province-{}", p.id));
    let cities = scenario.cities.iter().map(|c| format!("city-{}", c.id));
    for service in std::iter::once("central".to_string())
        .chain(provinces)
        .chain(cities)
    {
        assert!(
            committed.contains(&format!("\"data-{service}:/data\"")),
            "{service} has no state volume"
        );
    }
}

#[test]
fn provinces_are_upgraded_one_container_at_a_time_mid_run() {
    let Some(command) = compose_ready() else {
        return;
    };
    let Some(previous) = previous_image_or_skip() else {
        return;
    };
    let current = image_ref();
    let (current_id, previous_id) = (image_id(&current), image_id(&previous));
    assert_ne!(
        current_id, previous_id,
        "{current} and {previous} are one image"
    );
    let scenario = scenario::load(&scenario_path("hubei-2020")).expect("hubei-2020 loads");
    let nodes = 1 + scenario.provinces.len() + scenario.cities.len();
    let provinces: Vec<String> = scenario
        .provinces
        .iter()
        .map(|p| format!("province-{}", p.id))
        .collect();
    let seed = seed();
    let order = pairctl::upgrade::drawn_order(provinces.clone(), seed);
    println!(
        "upgrade order (seed {seed}; {SEED_VARIABLE}={seed} repeats it): {}",
        order.join(", ")
    );

    let dir = TempDir::new(&format!("counterpart-compose-upgrade-{}", run_suffix()));
    let mut images = ServiceImages::write(&dir.0.join("provinces.yml"), &previous, &provinces);
    // Declared before the project, so held until after its `down -v`.
    let _port = compose::claim_central_port();
    let name = format!("counterpart-upgrade-{}", run_suffix());
    // Declared before the project, so dropped after its `down -v`.
    let _sweep = ProjectSweep {
        project: name.clone(),
    };
    let project = ComposeProject::new(command, name, repo_root().join("deploy/docker-compose.yml"))
        .with_override(repo_root().join("deploy/docker-compose.state.yml"))
        .with_override(images.path().to_path_buf())
        .with_env("PAIRING_DAY_MS", DAY_MS)
        // The previous release takes no lockstep steps: the wall clock.
        .with_env("PAIRING_CLOCK", "wall")
        .with_env("OTLP_ENDPOINT", "")
        .with_env(IMAGE_VARIABLE, &current);
    println!(
        "{}: up ({nodes} nodes, {DAY_MS} ms a day; central and cities {current}, \
         provinces {previous})",
        project.name()
    );
    let started = Instant::now();
    project.up();
    project.wait_healthy(nodes, started);
    println!("all {nodes} healthy after {:.1} s", seconds(started));
    let containers = project.containers();
    let central = containers["central"].clone();
    for service in &provinces {
        let (image, _) = container_image_and_health(&containers[service]).unwrap();
        assert_eq!(image, previous_id, "{service} does not run {previous}");
    }

    // The middle of the run: shipments under way, the provinces registered
    // as the previous release registers (no version stated).
    let report = wait_report(&central, "a shipment", MID_RUN_LIMIT, |r| {
        (shipped(r) == 0).then(|| "nothing shipped".to_string())
    });
    for province in &scenario.provinces {
        assert_eq!(version_of(&report, &province.id), "1 (not stated)");
    }
    println!(
        "mid-run after {:.1} s: {} units shipped; upgrading the provinces",
        seconds(started),
        shipped(&report)
    );

    let current_version = PROTOCOL_VERSION.to_string();
    let mut finished_during = None;
    for (n, service) in order.iter().enumerate() {
        images.set(service, &current);
        let step = rolling::replace_service(&project, service, STEP_LIMIT);
        let (image, _) = container_image_and_health(&step.new_container).unwrap();
        assert_eq!(
            image, current_id,
            "{service}'s new container is not {current}"
        );
        // Healthy is not enough: the node must be back in the run.
        let id = service.trim_start_matches("province-");
        let report = wait_report(
            &central,
            &format!("{id} to register again"),
            STEP_LIMIT,
            |r| {
                let stated = version_of(r, id);
                (stated != current_version).then(|| format!("{id} registered as {stated:?}"))
            },
        );
        println!(
            "upgraded {service} ({}/{}): {} -> {} in {:.1} s; {} units shipped",
            n + 1,
            order.len(),
            &step.old_container[..12.min(step.old_container.len())],
            &step.new_container[..12.min(step.new_container.len())],
            step.took.as_secs_f64(),
            shipped(&report)
        );
        if finished_during.is_none() && rolling::finished(&central).unwrap_or(false) {
            finished_during = Some(n + 1);
        }
    }
    // An upgrade after the end proves little: the run must outlast them.
    assert_eq!(
        finished_during, None,
        "the run finished during the upgrades (after upgrade {finished_during:?}): \
         slow PAIRING_DAY_MS down"
    );
    println!(
        "all {} provinces upgraded after {:.1} s",
        order.len(),
        seconds(started)
    );

    let until = Instant::now();
    while !rolling::finished(&central).unwrap_or(false) {
        assert!(
            until.elapsed() < FINISH_LIMIT,
            "not finished {FINISH_LIMIT:?} after the upgrades"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    println!("finished after {:.1} s", seconds(started));

    // As an operator checks it: through compose, in central's container.
    let json = project
        .exec("central", &["pairctl", "report", "--out", "-"])
        .unwrap_or_else(|e| panic!("{e}"));
    let report: Value = serde_json::from_str(&json).expect("the report is JSON");
    checks::assert_complete_historical_run(&report, &scenario);
    for node in scenario
        .provinces
        .iter()
        .map(|p| &p.id)
        .chain(scenario.cities.iter().map(|c| &c.id))
    {
        assert_eq!(
            version_of(&report, node),
            current_version,
            "{node}'s version"
        );
    }
    let containers = project.containers();
    for service in &provinces {
        let (image, _) = container_image_and_health(&containers[service]).unwrap();
        assert_eq!(
            image, current_id,
            "{service} does not run {current} at the end"
        );
    }
    // Central's ledger beside every node's own books: exit 0 only when
    // every line agrees (nothing lost or counted twice, nobody unreadable).
    let reconciled = project
        .exec("central", &["pairctl", "ledger", "--reconcile"])
        .unwrap_or_else(|e| panic!("the nodes' books and central's ledger disagree: {e}"));
    let lines = reconciled.lines().filter(|l| l.contains("case-")).count();
    assert!(
        lines >= scenario.cities.len(),
        "reconciled {lines} lines:\n{reconciled}"
    );
    for province in &scenario.provinces {
        assert!(
            reconciled.contains(&province.id),
            "{} is in no reconciled line:\n{reconciled}",
            province.id
        );
    }
    println!(
        "every case closed, {lines} ledger lines reconciled, every province on protocol \
         {current_version}: {:.1} s",
        seconds(started)
    );
}
