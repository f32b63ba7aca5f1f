//! The node processes `pairctl up` starts: spawn each one, learn where it
//! listens, watch that it stays up, and stop them all.
//!
//! Stopping is layered so no node outlives the launcher: SIGTERM then
//! SIGKILL on the normal and error paths; `kill_on_drop` if the launcher
//! unwinds; and on Linux `PR_SET_PDEATHSIG`, which has the kernel send
//! SIGTERM to a child whose launcher was killed outright. Children run in
//! their own process group so a Ctrl-C in the terminal reaches only the
//! launcher, which then stops them in order.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

use crate::announce::parse_announce;
use crate::plan::NodeSpec;
use crate::report::LaunchedNode;

/// How long a node may take, from spawn, to print its LISTENING line.
pub const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines a node may print on stdout before its announce; beyond that it is
/// not a node of ours.
pub const MAX_LINES_BEFORE_ANNOUNCE: usize = 1_000;
/// Restarts of one node in a run before the launcher gives up on it, as
/// compose's `restart: on-failure:5` would.
pub const DEFAULT_MAX_RESTARTS: u32 = 5;
/// How long nodes get to stop after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// One node process.
#[derive(Debug)]
pub struct NodeProcess {
    pub spec: NodeSpec,
    pub pid: u32,
    pub log_path: PathBuf,
    /// Known once the node has announced it.
    pub addr: Option<SocketAddr>,
    /// Times the launcher started it again after it died.
    pub restarts: u32,
    /// The arguments it was started with, to start it again.
    args: Vec<String>,
    child: Child,
    stdout: Option<ChildStdout>,
}

impl NodeProcess {
    fn describe(&self) -> String {
        format!(
            "{} {} (pid {}, log {})",
            self.spec.role.as_str(),
            self.spec.id,
            self.pid,
            self.log_path.display()
        )
    }
}

/// How the nodes stopped.
#[derive(Debug, Default)]
pub struct StopOutcome {
    /// Nodes that ignored SIGTERM for the grace period.
    pub killed: Vec<String>,
    /// Nodes that stopped with a failure status.
    pub failed: Vec<(String, ExitStatus)>,
}

/// Every node process of a run.
#[derive(Debug)]
pub struct Cluster {
    exe: PathBuf,
    /// Roles run by another pairctl (a mixed-version run).
    by_role: Vec<crate::cli::RoleBinary>,
    /// Nodes run by another pairctl (replaced by a rolling upgrade).
    by_node: Vec<(String, PathBuf)>,
    log_dir: PathBuf,
    nodes: Vec<NodeProcess>,
    /// Extra environment for every node (e.g. the OTLP endpoint).
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Children run `exe` (pairctl itself); their logs go to `log_dir`.
    pub fn new(exe: PathBuf, log_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("cannot create log directory {}", log_dir.display()))?;
        Ok(Cluster {
            exe,
            by_role: Vec::new(),
            by_node: Vec::new(),
            log_dir: log_dir.to_path_buf(),
            nodes: Vec::new(),
            env: Vec::new(),
        })
    }

    /// Every node of `binary.role` started from now on runs `binary.exe`.
    pub fn run_role_from(&mut self, binary: crate::cli::RoleBinary) {
        self.by_role.retain(|b| b.role != binary.role);
        self.by_role.push(binary);
    }

    /// The pairctl node `spec` runs: its own if upgraded, its role's, or
    /// this one.
    fn exe_for(&self, spec: &NodeSpec) -> &Path {
        if let Some((_, exe)) = self.by_node.iter().find(|(id, _)| *id == spec.id) {
            return exe;
        }
        self.by_role
            .iter()
            .find(|b| b.role == spec.role)
            .map_or(self.exe.as_path(), |b| b.exe.as_path())
    }

    /// Replaces node `id` by `exe`: stops it (SIGTERM, then SIGKILL after
    /// [`STOP_GRACE`]), starts `exe` on its data directory and port, and
    /// returns once the new process announces that port, with its pid.
    pub async fn replace(&mut self, id: &str, exe: &Path) -> anyhow::Result<u32> {
        let i = self
            .nodes
            .iter()
            .position(|n| n.spec.id == id)
            .with_context(|| format!("no node {id} in this run"))?;
        let addr = self.nodes[i]
            .addr
            .with_context(|| format!("{id} never announced"))?;
        let node = &mut self.nodes[i];
        if let Some(pid) = node.child.id() {
            terminate(pid);
        }
        if tokio::time::timeout(STOP_GRACE, node.child.wait())
            .await
            .is_err()
        {
            let _ = node.child.start_kill();
            let _ = node.child.wait().await;
        }
        self.by_node.retain(|(node, _)| node != id);
        self.by_node.push((id.to_string(), exe.to_path_buf()));
        let (mut child, pid) = self.relaunch(i, addr)?;
        let stdout = child.stdout.take().context("a child's stdout is piped")?;
        let announced = tokio::time::timeout(ANNOUNCE_TIMEOUT, read_announce(stdout))
            .await
            .map_err(|_| {
                anyhow!("{id} did not announce within {ANNOUNCE_TIMEOUT:?} after its upgrade")
            })?
            .map_err(|e| anyhow!("{id} after its upgrade: {e}"))?;
        anyhow::ensure!(
            announced == addr,
            "{id} came back on {announced}, not {addr}"
        );
        let node = &mut self.nodes[i];
        node.child = child;
        node.pid = pid;
        Ok(pid)
    }

    /// Sets an environment variable for every node started from now on.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    pub fn nodes(&self) -> &[NodeProcess] {
        &self.nodes
    }

    /// Starts one node: `exe args...`, stderr to `<log_dir>/<id>.log`.
    pub fn spawn(&mut self, spec: NodeSpec, args: &[String]) -> anyhow::Result<()> {
        let log_path = self.log_dir.join(format!("{}.log", spec.id));
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create log file {}", log_path.display()))?;
        let mut child = self.launch(&spec, args, log)?;
        let pid = child.id().context("a child just spawned has a pid")?;
        let stdout = child.stdout.take();
        self.nodes.push(NodeProcess {
            spec,
            pid,
            log_path,
            addr: None,
            restarts: 0,
            args: args.to_vec(),
            child,
            stdout,
        });
        Ok(())
    }

    fn launch(&self, spec: &NodeSpec, args: &[String], log: File) -> anyhow::Result<Child> {
        let mut command = Command::new(self.exe_for(spec));
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches only the child's
        // own process attributes, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command
            .spawn()
            .with_context(|| format!("cannot start {} {}", spec.role.as_str(), spec.id))
    }

    /// Waits for every node not yet announced to print its LISTENING line,
    /// all by `deadline`. The nodes start in parallel; this only collects.
    pub async fn await_announces(&mut self, deadline: Instant) -> anyhow::Result<()> {
        for node in self.nodes.iter_mut().filter(|n| n.addr.is_none()) {
            let stdout = node.stdout.take().context("stdout already taken")?;
            let addr = tokio::time::timeout_at(deadline, read_announce(stdout))
                .await
                .map_err(|_| anyhow!("{} did not announce its address in time", node.describe()))?
                .map_err(|why| anyhow!("{} {why}", node.describe()))?;
            node.addr = Some(addr);
        }
        Ok(())
    }

    /// Fails naming the first node that has exited: during a run, none may.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        self.supervise(0).map(|_| ())
    }

    /// Starts again, on its data directory and its old port, every
    /// announced node that has exited, as compose's restart policy would;
    /// returns a line for each restart. Fails naming a node that has
    /// exited more than `max_restarts` times (or before announcing).
    pub fn supervise(&mut self, max_restarts: u32) -> anyhow::Result<Vec<String>> {
        let mut restarted = Vec::new();
        for i in 0..self.nodes.len() {
            let Some(status) = self.nodes[i].child.try_wait()? else {
                continue;
            };
            let node = &self.nodes[i];
            let Some(addr) = node.addr.filter(|_| node.restarts < max_restarts) else {
                return Err(anyhow!(
                    "{} exited unexpectedly ({status}) after {} restarts",
                    node.describe(),
                    node.restarts
                ));
            };
            self.restart(i, addr)?;
            let node = &self.nodes[i];
            restarted.push(format!(
                "{} {} exited ({status}); restarted on {addr} with its saved state (pid {}, restart {} of {max_restarts})",
                node.spec.role.as_str(),
                node.spec.id,
                node.pid,
                node.restarts
            ));
        }
        Ok(restarted)
    }

    /// Starts node `i` again on `addr`, its log appended to; the new
    /// child and its pid.
    fn relaunch(&self, i: usize, addr: SocketAddr) -> anyhow::Result<(Child, u32)> {
        let node = &self.nodes[i];
        let args = pin_listen(&node.args, addr);
        let log = File::options()
            .append(true)
            .open(&node.log_path)
            .with_context(|| format!("cannot reopen log file {}", node.log_path.display()))?;
        let child = self.launch(&node.spec, &args, log)?;
        let pid = child.id().context("a child just spawned has a pid")?;
        Ok((child, pid))
    }

    fn restart(&mut self, i: usize, addr: SocketAddr) -> anyhow::Result<()> {
        let (mut child, pid) = self.relaunch(i, addr)?;
        if let Some(stdout) = child.stdout.take() {
            // Peers already know the address: just keep the pipe drained.
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut BufReader::new(stdout), &mut tokio::io::sink()).await;
            });
        }
        let node = &mut self.nodes[i];
        node.child = child;
        node.pid = pid;
        node.restarts += 1;
        Ok(())
    }

    /// The nodes as the report lists them (announced ones only).
    pub fn launched(&self) -> Vec<LaunchedNode> {
        self.nodes
            .iter()
            .filter_map(|n| {
                Some(LaunchedNode {
                    id: n.spec.id.clone(),
                    role: n.spec.role.as_str().to_string(),
                    pid: n.pid,
                    addr: n.addr?,
                })
            })
            .collect()
    }

    /// SIGTERM to every node still running, up to `grace` for all to stop,
    /// then SIGKILL for the rest. Nodes that had already exited are left
    /// out of the outcome: whoever saw them exit has reported it.
    pub async fn stop_all(&mut self, grace: Duration) -> StopOutcome {
        let mut running = Vec::new();
        for node in &mut self.nodes {
            if !matches!(node.child.try_wait(), Ok(None)) {
                continue;
            }
            // `id()` is None once the child has been reaped: its pid may
            // already belong to another process.
            if let Some(pid) = node.child.id() {
                terminate(pid);
                running.push(node);
            }
        }
        let deadline = Instant::now() + grace;
        let mut outcome = StopOutcome::default();
        for node in running {
            let status = match tokio::time::timeout_at(deadline, node.child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    outcome.killed.push(node.spec.id.clone());
                    let _ = node.child.start_kill();
                    node.child.wait().await
                }
            };
            if let Ok(status) = status {
                if !status.success() && !outcome.killed.contains(&node.spec.id) {
                    outcome.failed.push((node.spec.id.clone(), status));
                }
            }
        }
        outcome
    }
}

/// `args` with the value of `--listen` replaced by `addr`: a restarted
/// node must be where its peers already reach it.
fn pin_listen(args: &[String], addr: SocketAddr) -> Vec<String> {
    let mut pinned = args.to_vec();
    if let Some(i) = pinned.iter().position(|a| a == "--listen") {
        if let Some(value) = pinned.get_mut(i + 1) {
            *value = addr.to_string();
        }
    }
    pinned
}

/// Sends SIGTERM to `pid`, which must be a real process id: `kill(0)` or
/// `kill(-1)` would signal our own group or every process we may signal.
fn terminate(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits in pid_t");
    assert!(pid > 0, "refusing to signal pid {pid}");
    // SAFETY: kill has no memory effects; pid is one of our live children.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Reads `stdout` until a LISTENING line. Afterwards the rest of stdout is
/// drained in the background so a chatty node never blocks on a full pipe.
async fn read_announce(stdout: ChildStdout) -> Result<SocketAddr, String> {
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..MAX_LINES_BEFORE_ANNOUNCE {
        let line = lines
            .next_line()
            .await
            .map_err(|e| format!("stdout unreadable: {e}"))?
            .ok_or("closed its stdout before announcing its address (did it exit?)")?;
        if let Some(addr) = parse_announce(&line) {
            let mut rest = lines.into_inner();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
            });
            return Ok(addr);
        }
    }
    Err(format!(
        "printed {MAX_LINES_BEFORE_ANNOUNCE} lines without a LISTENING line"
    ))
}

#[cfg(test)]
mod tests;
