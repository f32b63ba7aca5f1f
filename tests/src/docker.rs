//! Docker for the container suites: whether an engine answers, the node
//! image built from the current sources, names unique to one run, and a
//! guard that removes what a test created.
//!
//! - [`cluster`]: a scenario's cluster in containers, and its faults.
//! - [`compose`]: a project of the committed compose file, run as a user
//!   runs it, and what its containers hold.
//! - [`rolling`]: a compose project's services given a new image one at a
//!   time, and the previous release's image.
//!
//! The project's rule: a Docker test runs when `CI=true` and fails loudly
//! there if no engine answers; elsewhere it may skip, saying why.

pub mod cluster;
pub mod compose;
pub mod rolling;

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::repo_root;

/// The node image every container suite runs, built by
/// `deploy/build-images.sh --from-test-build`: the release image's layout
/// with the test build's binaries. A tag of its own, not the script's
/// default `counterpart:dev`, so a test run never replaces the release
/// image a user built.
pub const IMAGE_NAME: &str = "counterpart";
pub const IMAGE_TAG: &str = "test";

/// The variable that names another image tag, read by compose and
/// `deploy/build-images.sh` as well.
pub const IMAGE_VARIABLE: &str = "COUNTERPART_IMAGE";

/// The image the suites build and run: `$COUNTERPART_IMAGE` if set, else
/// `counterpart:test`, as name and tag. Tags are global on the engine: a
/// tag of its own keeps a run from testing what another checkout built.
pub fn image() -> (String, String) {
    match std::env::var(IMAGE_VARIABLE) {
        Ok(image) if !image.trim().is_empty() => match image.trim().rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
            _ => (image.trim().to_string(), "latest".to_string()),
        },
        _ => (IMAGE_NAME.to_string(), IMAGE_TAG.to_string()),
    }
}

/// [`image`] as one reference, `name:tag`.
pub fn image_ref() -> String {
    let (name, tag) = image();
    format!("{name}:{tag}")
}

/// Label on every container and network a test creates, valued with the
/// run's suffix, so the guard finds them all.
pub const RUN_LABEL: &str = "org.counterpart.test-run";

/// How long `docker info` may take before the engine counts as absent.
const DOCKER_INFO_LIMIT: Duration = Duration::from_secs(30);
/// How long a test process waits for another one's image build (after a
/// cold `cargo test` it links city-node; a cold build of the rest, if the
/// test build was not done first, takes minutes).
const BUILD_LOCK_LIMIT: Duration = Duration::from_secs(30 * 60);

/// True when a Docker engine answers. When none does: panics if `CI=true`
/// ("CI=true but no Docker engine: ..."), otherwise says why on stderr and
/// returns false so the test returns early.
pub fn require_docker() -> bool {
    match docker_answers() {
        Ok(()) => true,
        Err(reason) => {
            skip_or_fail(&format!("no Docker engine: {reason}"));
            false
        }
    }
}

/// The compose command that answers (see [`compose_command`]). When none
/// does: panics if `CI=true`, otherwise says why on stderr and returns None.
pub fn require_compose() -> Option<Vec<String>> {
    let command = compose_command();
    if command.is_none() {
        skip_or_fail("neither `docker compose` nor `docker-compose` answers");
    }
    command
}

/// What a compose suite needs before it starts: an engine, a compose
/// command, and the node image built from the current sources
/// ([`ensure_image`]). The compose command, or None when the test should
/// return (the skip said on stderr; with `CI=true` a panic instead).
pub fn compose_ready() -> Option<Vec<String>> {
    if !require_docker() {
        return None;
    }
    let command = require_compose()?;
    ensure_image();
    Some(command)
}

fn skip_or_fail(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {reason}");
    }
    // Straight to the process's stderr: libtest captures eprintln! and
    // shows it only for failing tests, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED ({reason}); with CI=true this is a failure"
    );
}

fn docker_answers() -> Result<(), String> {
    let mut child = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `docker info`: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                return Err(format!(
                    "`docker info` {status}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            Ok(None) if started.elapsed() > DOCKER_INFO_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`docker info` gave no answer in {DOCKER_INFO_LIMIT:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for `docker info`: {e}")),
        }
    }
}

/// Makes sure [`image_ref`] is built from the current sources: runs
/// `deploy/build-images.sh --from-test-build` once per test process, never
/// two at once across processes. Panics with the build's output if it
/// fails.
///
/// From the test build, not the static release build a user's image
/// comes from: `cargo test` has compiled every crate already, so the
/// image costs city-node's link and a copy, where the release build
/// compiled every crate again (about 290 s of CI's two cores, a fifth of
/// the test command). The suites test the nodes, the compose file and the
/// image's layout; the release build's static link is not among them.
pub fn ensure_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build_image) {
        panic!("{e}");
    }
}

fn build_image() -> Result<(), String> {
    let root = repo_root();
    let lock_path = root.join("target/counterpart-image-build.lock");
    let waited = Instant::now();
    let _lock = BuildLock::acquire(&lock_path, BUILD_LOCK_LIMIT)?;
    if waited.elapsed() > Duration::from_secs(1) {
        println!(
            "image: waited {:.1} s for another test process's build",
            waited.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let image = image_ref();
    let output = Command::new(root.join("deploy/build-images.sh"))
        .args(["--from-test-build", &image])
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run deploy/build-images.sh: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "deploy/build-images.sh failed ({}) after {seconds:.1} s:\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    println!("image: deploy/build-images.sh took {seconds:.1} s ({last})");
    Ok(())
}

/// An exclusive `flock` on a file under `target/`: the kernel drops it when
/// the holder exits, so a crashed test process leaves no stale lock.
struct BuildLock {
    _file: File,
}

impl BuildLock {
    fn acquire(path: &Path, limit: Duration) -> Result<BuildLock, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let started = Instant::now();
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory
            // is shared with the kernel.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if locked == 0 {
                return Ok(BuildLock { _file: file });
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "another test process held {} for {limit:?}: its image build never ended",
                    path.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// A suffix no other run on this Docker engine uses at the same time:
/// this process's id and a counter (container and network names are
/// global on the daemon).
pub fn run_suffix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// What one test creates on the engine: a private network, and containers
/// that carry [`RUN_LABEL`] with this run's suffix. Dropping the guard, on
/// success or during a panic, removes every one of them.
pub struct RunGuard {
    suffix: String,
    network: String,
}

impl RunGuard {
    /// Creates the run's private network `counterpart-<test>-<suffix>`.
    pub fn new(test: &str) -> RunGuard {
        let suffix = format!("{test}-{}", run_suffix());
        let guard = RunGuard {
            network: format!("counterpart-{suffix}"),
            suffix,
        };
        if let Err(e) = docker(&[
            "network",
            "create",
            "--label",
            &format!("{RUN_LABEL}={}", guard.suffix),
            &guard.network,
        ]) {
            panic!("docker network create {}: {e}", guard.network);
        }
        println!("run {}: network {}", guard.suffix, guard.network);
        guard
    }

    /// The value of [`RUN_LABEL`] on everything this run creates.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    /// The container name for `node` in this run; it is also the node's
    /// host name on the run's network, so it must be a DNS label.
    pub fn container_name(&self, node: &str) -> String {
        let name = format!("cp-{}-{node}", self.suffix);
        assert!(
            name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name:?} is not a DNS label"
        );
        name
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        // Plain docker commands: this also runs while a panic unwinds,
        // where no async runtime can be counted on.
        let filter = format!("label={RUN_LABEL}={}", self.suffix);
        let ids: Vec<String> = match docker(&["ps", "-aq", "--filter", &filter]) {
            Ok(listed) => listed.split_whitespace().map(String::from).collect(),
            Err(e) => {
                cleanup_failed("docker ps", &e);
                Vec::new()
            }
        };
        if std::thread::panicking() {
            // The containers are about to go: keep what they said.
            for id in &ids {
                print_log_tail(id);
            }
        }
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            if let Err(e) = docker(&args) {
                cleanup_failed("docker rm", &e);
            }
        }
        if let Err(e) = docker(&["network", "rm", &self.network]) {
            cleanup_failed("docker network rm", &e);
        }
        println!(
            "run {}: removed {} containers and network {}",
            self.suffix,
            ids.len(),
            self.network
        );
    }
}

/// How much of a container's log a failing test shows.
const LOG_TAIL_LINES: &str = "40";

fn print_log_tail(id: &str) {
    let name = docker(&["inspect", "--format", "{{.Name}}", id]).unwrap_or_default();
    let output = Command::new("docker")
        .args(["logs", "--tail", LOG_TAIL_LINES, id])
        .stdin(Stdio::null())
        .output();
    let Ok(output) = output else { return };
    // Nodes log to stderr; both streams, in that order, are enough here.
    println!(
        "---- last {LOG_TAIL_LINES} log lines of {}:\n{}{}",
        name.trim().trim_start_matches('/'),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn cleanup_failed(what: &str, error: &str) {
    // Seen even when the test passes: a leak must not go unnoticed.
    let _ = writeln!(std::io::stderr(), "cleanup: {what}: {error}");
}

/// Runs `docker ARGS` and returns its stdout, or what went wrong (its
/// stderr, or why it could not run).
pub fn docker(args: &[&str]) -> Result<String, String> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The compose command that answers here: the v2 plugin (`docker compose`),
/// which users mostly have, or Debian's v1 (`docker-compose`). Both accept
/// the committed file.
pub fn compose_command() -> Option<Vec<String>> {
    let answers = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if answers("docker", &["compose", "version"]) {
        Some(vec!["docker".into(), "compose".into()])
    } else if answers("docker-compose", &["version"]) {
        Some(vec!["docker-compose".into()])
    } else {
        None
    }
}
