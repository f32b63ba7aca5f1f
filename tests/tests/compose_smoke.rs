//! The committed `deploy/docker-compose.yml`, run the way a user runs it:
//! hubei-2020's 36 nodes in containers of the local `counterpart:dev`
//! image, without Jaeger (`OTLP_ENDPOINT=` empty), at 100 ms a scenario day,
//! under a project name of its own; every node healthy, the run finished,
//! central's report checked, the project taken down whatever happens.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use counterpart_domain::scenario;
use counterpart_tests::checks;
use counterpart_tests::cluster::{report_as, wait_finished_as};
use counterpart_tests::docker::{
    docker, ensure_image, require_compose, require_docker, run_suffix, IMAGE_NAME, IMAGE_TAG,
};
use counterpart_tests::{repo_root, scenario_path};
use node_kit::tls::NodeTls;

/// Where the compose file publishes central, and where `pairctl` looks.
const CENTRAL_ADDR: &str = "127.0.0.1:50051";
const DAY_MS: &str = "100";
/// Another cluster (a user's `counterpart` project, another test run) may
/// hold central's port for a while: wait this long for it, then fail.
const PORT_WAIT_LIMIT: Duration = Duration::from_secs(120);
/// Measured: about 15 s to all 36 healthy on two busy cores.
const HEALTHY_LIMIT: Duration = Duration::from_secs(240);
/// hubei-2020 is about 70 days, 7 s at 100 ms a day.
const FINISH_LIMIT: Duration = Duration::from_secs(120);

/// The certificates the compose file mounts (deploy/certs, next to it), as
/// deploy/compose-run.sh makes them; returns the operator's, which the test
/// presents to central.
fn compose_certificates(scenario: &scenario::Scenario) -> NodeTls {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = repo_root().join("deploy/certs");
    pairctl::certs::write_all(&dir, &pairctl::certs::holders(scenario))
        .expect("certificates written");
    // The containers' user (65534) owns none of these files: the nodes'
    // keys must be readable to it. A development CA's, never its own key.
    for entry in std::fs::read_dir(&dir).expect("certificates listed") {
        let path = entry.expect("a directory entry").path();
        let node_key = path.extension().is_some_and(|e| e == "key")
            && path.file_stem().is_some_and(|s| s != "ca");
        if node_key {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .expect("key made readable");
        }
    }
    NodeTls::load(&dir, node_kit::tls::OPERATOR_ID).expect("the operator's certificate")
}

/// One compose project of the committed file; dropping it, on success or
/// during a panic, takes it down with its volumes.
struct ComposeProject {
    command: Vec<String>,
    project: String,
    file: PathBuf,
    down_done: bool,
}

impl ComposeProject {
    fn compose(&self) -> Command {
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(&self.file)
            .env("PAIRING_DAY_MS", DAY_MS)
            // Empty, not unset: export nothing (there is no Jaeger here).
            .env("OTLP_ENDPOINT", "")
            .env("COUNTERPART_IMAGE", format!("{IMAGE_NAME}:{IMAGE_TAG}"))
            .stdin(Stdio::null());
        command
    }

    fn up(&self) {
        let output = self
            .compose()
            .args(["up", "-d"])
            .output()
            .expect("compose runs");
        assert!(
            output.status.success(),
            "`{} up -d` failed ({}):\n{}",
            self.command.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// How many of the project's containers Docker reports healthy.
    fn healthy(&self) -> usize {
        let project = format!("label=com.docker.compose.project={}", self.project);
        docker(&[
            "ps",
            "-q",
            "--filter",
            &project,
            "--filter",
            "health=healthy",
        ])
        .map(|ids| ids.split_whitespace().count())
        .unwrap_or(0)
    }

    fn down(&mut self) {
        if self.down_done {
            return;
        }
        self.down_done = true;
        let output = self
            .compose()
            .args(["down", "-v", "--remove-orphans", "--timeout", "10"])
            .output();
        match output {
            Ok(o) if o.status.success() => println!("{}: down", self.project),
            Ok(o) => eprintln!(
                "{}: down failed ({}): {}",
                self.project,
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("{}: cannot run compose down: {e}", self.project),
        }
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the nodes said before they go.
            if let Ok(o) = self
                .compose()
                .args(["logs", "--no-color", "--tail", "10"])
                .output()
            {
                println!("{}", String::from_utf8_lossy(&o.stdout));
            }
        }
        self.down();
    }
}

/// Waits until nothing listens on central's published address.
fn wait_for_central_port() {
    let started = Instant::now();
    let mut said = false;
    while TcpListener::bind(CENTRAL_ADDR).is_err() {
        assert!(
            started.elapsed() < PORT_WAIT_LIMIT,
            "{CENTRAL_ADDR} is still taken after {PORT_WAIT_LIMIT:?}: the compose file \
             publishes central there, so another cluster (`docker ps` shows which; a \
             `counterpart` compose project?) must stop first"
        );
        if !said {
            println!("{CENTRAL_ADDR} is taken (another cluster?); waiting for it");
            said = true;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubei_2020_runs_in_compose_and_closes_every_case() {
    if !require_docker() {
        return;
    }
    let Some(command) = require_compose() else {
        return;
    };
    ensure_image();
    let path = scenario_path("hubei-2020");
    let scenario = scenario::load(&path).expect("hubei-2020 loads");
    let nodes = 1 + scenario.provinces.len() + scenario.cities.len();
    wait_for_central_port();
    let operator = compose_certificates(&scenario);

    let mut project = ComposeProject {
        command,
        project: format!("counterpart-smoke-{}", run_suffix()),
        file: repo_root().join("deploy/docker-compose.yml"),
        down_done: false,
    };
    println!(
        "{}: `{} up -d` ({nodes} nodes, {DAY_MS} ms a day, no Jaeger)",
        project.project,
        project.command.join(" ")
    );
    let started = Instant::now();
    project.up();
    println!("up returned after {:.1} s", seconds(started));

    loop {
        let healthy = project.healthy();
        if healthy >= nodes {
            break;
        }
        assert!(
            started.elapsed() < HEALTHY_LIMIT,
            "{healthy}/{nodes} nodes healthy after {HEALTHY_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    println!("all {nodes} nodes healthy after {:.1} s", seconds(started));

    let endpoint = format!("http://{CENTRAL_ADDR}");
    let status = wait_finished_as(&endpoint, Some(&operator), FINISH_LIMIT).await;
    println!(
        "finished at {} after {:.1} s",
        status.scenario_now,
        seconds(started)
    );
    let report = report_as(&endpoint, Some(&operator)).await;

    checks::assert_complete_historical_run(&report, &scenario);
    assert_eq!(report["scenario"], "hubei-2020");
    let day_ms: i64 = DAY_MS.parse().expect("DAY_MS is a number");
    assert_eq!(report["day_ms"], day_ms, "PAIRING_DAY_MS reached central");

    project.down();
    println!(
        "compose smoke: up -> down done in {:.1} s",
        seconds(started)
    );
}
