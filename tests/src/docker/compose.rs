//! A project of the committed `deploy/docker-compose.yml`, run the way a
//! user runs it (under a project name of its own, as names are global on
//! the engine); and what its containers hold, read from outside, since the
//! image has no shell to ask inside.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::docker;

/// From `up` to every container healthy: hubei-2020's 36 took about 15 s
/// on two busy cores; the limit leaves room for a neighbour's load.
pub const HEALTHY_LIMIT: Duration = Duration::from_secs(240);

/// One compose project of a compose file; dropping it, on success or
/// during a panic, takes it down with its volumes.
pub struct ComposeProject {
    command: Vec<String>,
    project: String,
    file: PathBuf,
    /// Override files, each given after `file` (`-f FILE -f OVERRIDE`).
    overrides: Vec<PathBuf>,
    env: Vec<(String, String)>,
    down_done: bool,
}

impl ComposeProject {
    /// `command` is the compose program that answers (`docker compose` or
    /// `docker-compose`, see [`super::compose_command`]).
    pub fn new(command: Vec<String>, project: String, file: PathBuf) -> ComposeProject {
        ComposeProject {
            command,
            project,
            file,
            overrides: Vec::new(),
            env: Vec::new(),
            down_done: false,
        }
    }

    /// An override file every compose command of the project is given,
    /// after the compose file and earlier overrides (compose merges them in
    /// that order).
    pub fn with_override(mut self, file: PathBuf) -> ComposeProject {
        self.overrides.push(file);
        self
    }

    /// A variable every compose command of the project is given.
    pub fn with_env(mut self, key: &str, value: &str) -> ComposeProject {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn name(&self) -> &str {
        &self.project
    }

    /// The compose command line as typed, for messages.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }

    fn compose(&self) -> Command {
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(&self.file)
            .args(
                self.overrides
                    .iter()
                    .flat_map(|o| [OsStr::new("-f"), o.as_os_str()]),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Runs `compose ARGS`; its stdout, or what went wrong with its stderr.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let output = self
            .compose()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.command_line()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`{} {}` {}:\n{}{}",
                self.command_line(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// `up -d`: the user's `up`, without holding the terminal.
    pub fn up(&self) {
        if let Err(e) = self.run(&["up", "-d"]) {
            panic!("{e}");
        }
    }

    /// `exec -T SERVICE ARGS` (no terminal: the test reads the output).
    pub fn exec(&self, service: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["exec", "-T", service];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// The id of each service's container, by service name: one `docker
    /// ps` (compose v1 takes a second or more per `ps SERVICE`).
    pub fn containers(&self) -> BTreeMap<String, String> {
        let project = format!("label=com.docker.compose.project={}", self.project);
        let listed = docker(&[
            "ps",
            "-a",
            "--filter",
            &project,
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.ID}}",
        ])
        .unwrap_or_else(|e| panic!("docker ps: {e}"));
        listed
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(service, id)| (service.to_string(), id.to_string()))
            .collect()
    }

    /// How many of the project's containers Docker reports healthy.
    pub fn healthy(&self) -> usize {
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

    /// Waits until `nodes` of the project's containers are healthy; fails
    /// when [`HEALTHY_LIMIT`] has passed since `started` (when `up` ran).
    #[track_caller]
    pub fn wait_healthy(&self, nodes: usize, started: Instant) {
        loop {
            let healthy = self.healthy();
            if healthy >= nodes {
                return;
            }
            assert!(
                started.elapsed() < HEALTHY_LIMIT,
                "{healthy}/{nodes} nodes healthy after {HEALTHY_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `down -v`: containers, network and volumes go.
    pub fn down(&mut self) {
        if self.down_done {
            return;
        }
        self.down_done = true;
        match self.run(&["down", "-v", "--remove-orphans", "--timeout", "10"]) {
            Ok(_) => println!("{}: down", self.project),
            Err(e) => eprintln!("{}: down failed: {e}", self.project),
        }
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the nodes said before they go.
            if let Ok(logs) = self.run(&["logs", "--no-color", "--tail", "10"]) {
                println!("{logs}");
            }
        }
        self.down();
    }
}

/// One entry of a directory copied out of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The path below the directory copied; "" for the directory itself.
    pub name: String,
    /// Permission bits (`0o600`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
    pub data: Vec<u8>,
}

/// The entries of directory `path` in container `id` with the mode and
/// owner they have there, a mounted volume's included: what `docker cp
/// ID:PATH -` archives, read from the archive's headers.
pub fn files_in(id: &str, path: &str) -> Result<Vec<FileEntry>, String> {
    let output = Command::new("docker")
        .args(["cp", &format!("{id}:{path}"), "-"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run docker cp: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "docker cp {id}:{path}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let entries = tar_entries(&output.stdout)?;
    // The archive names the directory by its last component, then its
    // contents below it.
    let base = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    Ok(entries
        .into_iter()
        .map(|mut e| {
            let name = e.name.trim_end_matches('/');
            e.name = name
                .strip_prefix(base)
                .map(|rest| rest.trim_start_matches('/'))
                .unwrap_or(name)
                .to_string();
            e
        })
        .collect())
}

const BLOCK: usize = 512;

/// The entries of a tar archive (ustar, with the PAX and GNU long-name
/// records Go's archive/tar may write), enough for `docker cp`'s output.
pub fn tar_entries(bytes: &[u8]) -> Result<Vec<FileEntry>, String> {
    let mut entries = Vec::new();
    let mut at = 0;
    let (mut long_name, mut pax) = (None::<String>, Vec::<(String, String)>::new());
    while at + BLOCK <= bytes.len() {
        let header = &bytes[at..at + BLOCK];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&header[124..136]).ok_or("a tar header with a bad size")? as usize;
        let data_at = at + BLOCK;
        let data = bytes
            .get(data_at..data_at + size)
            .ok_or("a tar entry runs past the end of the archive")?;
        at = data_at + size.div_ceil(BLOCK) * BLOCK;
        match header[156] {
            b'x' => pax = pax_records(data),
            b'L' => long_name = Some(text(data)),
            b'g' => {}
            kind => {
                let prefix = text(&header[345..500]);
                let name = text(&header[0..100]);
                let mut entry = FileEntry {
                    name: if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    },
                    mode: octal(&header[100..108]).ok_or("a tar header with a bad mode")? as u32
                        & 0o7777,
                    uid: octal(&header[108..116]).ok_or("a tar header with a bad uid")? as u32,
                    gid: octal(&header[116..124]).ok_or("a tar header with a bad gid")? as u32,
                    is_dir: kind == b'5',
                    data: data.to_vec(),
                };
                if let Some(name) = long_name.take() {
                    entry.name = name;
                }
                for (key, value) in std::mem::take(&mut pax) {
                    match key.as_str() {
                        "path" => entry.name = value,
                        "uid" => entry.uid = value.parse().map_err(|_| "a bad PAX uid")?,
                        "gid" => entry.gid = value.parse().map_err(|_| "a bad PAX gid")?,
                        _ => {}
                    }
                }
                entries.push(entry);
            }
        }
    }
    Ok(entries)
}

/// A NUL-terminated header field.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal header field (NUL- or space-terminated).
fn octal(field: &[u8]) -> Option<u64> {
    let digits = text(field);
    let digits = digits.trim_matches(|c: char| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// PAX records: `<length> <key>=<value>\n` each.
fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .filter_map(|line| line.split_once(' ').map(|(_, kv)| kv))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where the compose file publishes central on the host.
pub const CENTRAL_ADDR: &str = "127.0.0.1:50051";
/// Another cluster (a user's `counterpart` project, another test run) may
/// hold central's port for a while: wait this long for it, then fail.
pub const PORT_WAIT_LIMIT: Duration = Duration::from_secs(120);
/// Another compose test of this process holds the port for its whole run
/// (the compose upgrade about four minutes, more on a busy machine): wait
/// this long for it, then fail.
pub const CLAIM_WAIT_LIMIT: Duration = Duration::from_secs(900);

/// The compose tests of this process, one at a time on central's port.
static CENTRAL_PORT: Mutex<()> = Mutex::new(());

/// Central's published port, this process's while the returned guard
/// lives: waits for any other compose test of this process (the suites run
/// side by side in one binary), then until nothing else listens there, so
/// a compose test never fails on a port another cluster still holds.
/// Declare the guard before the project, so it is dropped after `down`.
pub fn claim_central_port() -> MutexGuard<'static, ()> {
    let started = Instant::now();
    let mut said = false;
    let guard = loop {
        match CENTRAL_PORT.try_lock() {
            Ok(guard) => break guard,
            // A compose test that panicked still ran its `down -v` (the
            // project's drop) before the guard went.
            Err(TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
        assert!(
            started.elapsed() < CLAIM_WAIT_LIMIT,
            "another compose test of this process held {CENTRAL_ADDR} for {CLAIM_WAIT_LIMIT:?}"
        );
        if !said {
            println!("{CENTRAL_ADDR}: another compose test of this process runs; waiting for it");
            said = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    wait_for_central_port();
    guard
}

/// Waits until nothing listens on central's published address.
fn wait_for_central_port() {
    let started = Instant::now();
    let mut said = false;
    while std::net::TcpListener::bind(CENTRAL_ADDR).is_err() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar header block for `name`, as Go's archive/tar writes one.
    fn header(name: &str, mode: u32, uid: u32, kind: u8, size: usize) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let mut field = |at: usize, width: usize, value: u64| {
            let s = format!("{value:0w$o}\0", w = width - 1);
            h[at..at + width].copy_from_slice(s.as_bytes());
        };
        field(100, 8, mode as u64);
        field(108, 8, uid as u64);
        field(116, 8, uid as u64);
        field(124, 12, size as u64);
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h
    }

    #[test]
    fn an_archive_gives_each_entrys_mode_owner_and_bytes() {
        let mut archive = header("certs/", 0o700, 65534, b'5', 0);
        archive.extend(header("certs/wuhan.key", 0o600, 65534, b'0', 3));
        archive.extend(b"KEY");
        archive.extend(vec![0u8; BLOCK - 3]);
        let record = "30 path=certs/a-long-name.pem\n";
        archive.extend(header("PaxHeaders/x", 0o644, 0, b'x', record.len()));
        archive.extend(record.as_bytes());
        archive.extend(vec![0u8; BLOCK - record.len()]);
        archive.extend(header("certs/short", 0o644, 0, b'0', 0));
        archive.extend(vec![0u8; 2 * BLOCK]);
        let entries = tar_entries(&archive).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(entries[0].is_dir && entries[0].mode == 0o700);
        assert_eq!(
            (entries[1].name.as_str(), entries[1].mode, entries[1].uid),
            ("certs/wuhan.key", 0o600, 65534)
        );
        assert_eq!(entries[1].data, b"KEY");
        assert_eq!(entries[2].name, "certs/a-long-name.pem");
    }

    #[test]
    fn a_truncated_archive_is_an_error() {
        let archive = header("certs/wuhan.key", 0o600, 65534, b'0', 100);
        assert!(tar_entries(&archive).is_err());
    }
}
