//! Point 4 of the benchmarks: how start-up, memory and time to all pairings
//! grow with the number of nodes, on generated scenarios (every figure
//! invented, every file labelled GENERATED).
//!
//! - `scale processes`: `pairctl up` on a generated national scenario, one
//!   process per node; RSS per process from /proc/<pid>/status.
//! - `scale in-process`: every node a server in this one process (as the
//!   integration tests' cluster does); RSS of the process over its nodes.
//!
//! Each run stops once every city's case is paired, or closed with
//! `--until closed` (or at its time limit), and every node is stopped
//! whatever happens.
//!
//! target/release/scale processes --cities 50,100,300
//! target/release/scale in-process --nodes 500,1000,2000
//! target/release/scale in-process --nodes 10000 --net memory --clock lockstep --until closed

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use central::cli::ClockMode;
use clap::{Parser, Subcommand, ValueEnum};
use counterpart_bench::machine;
use counterpart_bench::procs::{self, ChildGuard};
use counterpart_bench::scale_rows::{failed, print_growth, print_row, Row};
use counterpart_bench::scenario_gen::{self, GenOptions};
use counterpart_bench::stats;
use counterpart_domain::scenario;
use node_kit::client;
use node_kit::tls::{NodeTls, OPERATOR_ID};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::StatusQuery;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

/// How long a size runs, and on which clock: the flags both modes share.
#[derive(Debug, Clone, clap::Args)]
struct Run {
    /// `wall`: scenario time is wall time (--day-ms a day), so "paired" is
    /// a wall time a watcher can see. `lockstep`: central waits for every
    /// node at each step, so the scenario ends whatever the load.
    #[arg(long, value_enum, default_value_t = ClockMode::Wall)]
    clock: ClockMode,
    /// Lockstep: scenario minutes per step.
    #[arg(long, default_value_t = 1440)]
    step_minutes: u32,
    /// Wall ms per scenario day (the wall clock).
    #[arg(long, default_value_t = 500)]
    day_ms: i64,
    /// Stop once every city's case is paired, or once every case is closed.
    #[arg(long, value_enum, default_value_t = Until::Paired)]
    until: Until,
    /// Give up on one size after this many seconds.
    #[arg(long, default_value_t = 150)]
    limit_s: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Until {
    Paired,
    Closed,
}

/// How `value` is spelt on the command line.
fn flag_value(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .expect("every value is a flag value")
        .get_name()
        .to_string()
}

/// What the in-process nodes talk over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Net {
    /// Real sockets on loopback: about five open files a node.
    Tcp,
    /// In-memory pipes (`node_kit::net::memory`): no open files, so the
    /// open-file limit does not bound the node count.
    Memory,
}

impl Run {
    /// The same settings as flags, for a child of this binary.
    fn args(&self) -> Vec<String> {
        [
            ("--clock", flag_value(self.clock)),
            ("--step-minutes", self.step_minutes.to_string()),
            ("--day-ms", self.day_ms.to_string()),
            ("--until", flag_value(self.until)),
            ("--limit-s", self.limit_s.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_string(), v])
        .collect()
    }

    fn describe(&self) -> String {
        match self.clock {
            ClockMode::Wall => format!(
                "wall clock, --day-ms {} (decision window 3 scenario days = {} ms)",
                self.day_ms,
                3 * self.day_ms
            ),
            ClockMode::Lockstep => {
                format!("lockstep clock, {}-minute steps", self.step_minutes)
            }
        }
    }
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// One process per node, launched by `pairctl up`.
    Processes {
        /// City counts, comma separated.
        #[arg(long, default_value = "50,100,300", value_delimiter = ',')]
        cities: Vec<usize>,
        #[arg(long, default_value_t = 34)]
        provinces: usize,
        #[arg(long, default_value = "target/release/pairctl")]
        pairctl: PathBuf,
        #[command(flatten)]
        run: Run,
        #[arg(long, default_value = "/tmp/counterpart-scale")]
        work: PathBuf,
    },
    /// Every node in this process.
    InProcess {
        /// Total node counts (cities + provinces + central), comma separated.
        #[arg(long, default_value = "500,1000,2000", value_delimiter = ',')]
        nodes: Vec<usize>,
        #[arg(long, default_value_t = 34)]
        provinces: usize,
        #[command(flatten)]
        run: Run,
        #[arg(long, value_enum, default_value_t = Net::Tcp)]
        net: Net,
        /// (internal) measure the one size given, print it as a ROW line.
        #[arg(long, hide = true)]
        one: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let fds = procs::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let rows = match cli.mode {
        Mode::Processes {
            cities,
            provinces,
            pairctl,
            run,
            work,
        } => {
            machine::print_start("scale: one process per node (pairctl up)");
            println!("open-file limit {fds}; {}", run.describe());
            std::fs::create_dir_all(&work)?;
            let mut rows = Vec::new();
            for n in cities {
                let row = runtime.block_on(processes(&pairctl, &work, n, provinces, &run));
                rows.push(row.unwrap_or_else(|e| failed(n + provinces + 1, n, e)));
                print_row(rows.last().expect("pushed"));
            }
            rows
        }
        Mode::InProcess {
            nodes,
            provinces,
            run,
            net,
            one: true,
        } => {
            let n = nodes[0];
            let cities = n.saturating_sub(provinces + 1).max(1);
            if net == Net::Memory {
                node_kit::net::memory::enable();
            }
            // The nodes' own log lines, when asked for (RUST_LOG=warn): the
            // only window on nodes that talk in memory.
            let _logs = std::env::var_os("RUST_LOG")
                .map(|_| runtime.block_on(async { node_kit::telemetry::init("scale") }));
            let row = runtime.block_on(in_process(cities, provinces, &run, net));
            let row = row.unwrap_or_else(|e| failed(n, cities, e));
            println!("ROW {}", row.to_json());
            return Ok(());
        }
        Mode::InProcess {
            nodes,
            provinces,
            run,
            net,
            one: false,
        } => {
            machine::print_start("scale: every node in one process");
            println!("open-file limit {fds}; {}; network {net:?}", run.describe());
            println!("each size in a fresh process of this binary, so its RSS is its own");
            let mut rows = Vec::new();
            for n in nodes {
                let cities = n.saturating_sub(provinces + 1).max(1);
                let row = in_fresh_process(n, provinces, &run, net)
                    .unwrap_or_else(|e| failed(n, cities, e));
                rows.push(row);
                print_row(rows.last().expect("pushed"));
            }
            rows
        }
    };
    println!();
    print_growth(&rows);
    machine::print_end();
    Ok(())
}

/// Runs one in-process size in a child process of this binary.
fn in_fresh_process(nodes: usize, provinces: usize, run: &Run, net: Net) -> anyhow::Result<Row> {
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(["in-process", "--one", "--nodes", &nodes.to_string()])
        .args([
            "--provinces",
            &provinces.to_string(),
            "--net",
            &flag_value(net),
        ])
        .args(run.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut guard = ChildGuard::new(child, Duration::from_secs(10));
    let stdout = guard.child.stdout.take().expect("piped");
    let mut row = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(json) = line.strip_prefix("ROW ") {
            row = Some(Row::from_json(json)?);
        }
    }
    guard.stop();
    row.ok_or_else(|| anyhow!("the child measuring {nodes} nodes printed no row"))
}

/// How often a size says how far it got, on stderr: a run of thousands of
/// nodes in memory can be watched by nothing else.
const PROGRESS_EVERY_S: f64 = 10.0;

/// One progress line: scenario time and the cases by stage.
fn progress(at_s: f64, status: &pairing_proto::v1::ClusterStatus) -> String {
    let mut stages = std::collections::BTreeMap::<&str, usize>::new();
    for case in &status.cases {
        *stages.entry(case.stage.as_str()).or_default() += 1;
    }
    let stages: Vec<String> = stages.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(
        "  {at_s:>7.1} s: scenario {}, {} nodes registered; cases: {}",
        if status.clock.is_some() {
            status.scenario_now.as_str()
        } else {
            "not started"
        },
        status.nodes.len(),
        stages.join(", ")
    )
}

/// When a size got where: seconds from the launch.
struct Watched {
    /// Every node registered: central's clock runs.
    clock_s: f64,
    /// Every city's case has left `awaiting_pairing`.
    paired_s: f64,
    /// Every case closed, when the run waited for that.
    closed_s: Option<f64>,
}

/// Polls central until the clock runs and every one of `cities` cases is
/// paired, and then, with `until` closed, every case closed.
async fn watch_cases(
    endpoint: &str,
    operator: Option<&NodeTls>,
    cities: usize,
    launched: Instant,
    run: &Run,
    mut on_poll: impl FnMut(),
) -> anyhow::Result<Watched> {
    let limit = Duration::from_secs(run.limit_s);
    let channel = client::Dialer::new(operator).channel(endpoint)?;
    // The status of 10,000 cases is more than tonic's default 4 MiB.
    let mut central = CentralAuthorityClient::new(channel)
        .max_decoding_message_size(pairctl::central_client::MAX_REPLY_BYTES);
    let (mut clock_s, mut paired_s) = (None, None);
    let mut last_error = None;
    let mut next_progress_s = PROGRESS_EVERY_S;
    loop {
        on_poll();
        if launched.elapsed() > limit {
            return Err(anyhow!(
                "not every case {} within {limit:?} (clock at {clock_s:?} s, paired at {paired_s:?} s; last status error: {last_error:?})",
                if paired_s.is_none() { "paired" } else { "closed" }
            ));
        }
        let status = central.get_status(client::request(StatusQuery {})).await;
        if let Err(e) = &status {
            last_error = Some(format!("{}: {}", e.code(), e.message()));
        }
        if let Ok(status) = status {
            let status = status.into_inner();
            let now = launched.elapsed().as_secs_f64();
            if !status.clock_stalled.is_empty() {
                return Err(anyhow!("the clock stalled: {}", status.clock_stalled));
            }
            if now >= next_progress_s {
                next_progress_s = now + PROGRESS_EVERY_S;
                eprintln!("{}", progress(now, &status));
            }
            if status.clock.is_some() && clock_s.is_none() {
                clock_s = Some(now);
            }
            let count =
                |stage: fn(&str) -> bool| status.cases.iter().filter(|c| stage(&c.stage)).count();
            if paired_s.is_none() && count(|s| s != "awaiting_pairing") >= cities {
                paired_s = Some(now);
            }
            let closed = count(|s| s == "closed") == status.cases.len();
            match (paired_s, run.until) {
                (Some(paired_s), Until::Paired) => {
                    let clock_s = clock_s.unwrap_or(0.0);
                    return Ok(Watched {
                        clock_s,
                        paired_s,
                        closed_s: None,
                    });
                }
                (Some(paired_s), Until::Closed) if closed => {
                    let clock_s = clock_s.unwrap_or(0.0);
                    return Ok(Watched {
                        clock_s,
                        paired_s,
                        closed_s: Some(now),
                    });
                }
                _ => {}
            }
        }
        // Polled more slowly while closing: a status of 10,000 cases is a
        // megabyte that central builds under its lock.
        let pause_ms = if paired_s.is_none() { 100 } else { 1_000 };
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `pairctl up`'s clock flags for `run`. On the lockstep clock the steps
/// go as fast as the nodes answer (`--day-ms 0`).
fn pace_args(run: &Run) -> Vec<String> {
    match run.clock {
        ClockMode::Wall => vec![
            "--clock".into(),
            flag_value(run.clock),
            "--day-ms".into(),
            run.day_ms.to_string(),
        ],
        ClockMode::Lockstep => vec![
            "--clock".into(),
            flag_value(run.clock),
            "--step-minutes".into(),
            run.step_minutes.to_string(),
            "--day-ms".into(),
            "0".into(),
        ],
    }
}

/// The clock central runs for an in-process size. A lockstep step of
/// thousands of nodes in one process on two cores can take minutes: the
/// barrier waits as long as the size's whole limit.
fn clock_plan(run: &Run) -> central::authority::ClockPlan {
    let seed = central::authority::DEFAULT_SEED;
    let wait_s = u32::try_from(run.limit_s)
        .unwrap_or(u32::MAX)
        .clamp(1, 3_600);
    run.clock.plan(run.step_minutes, seed).waiting(wait_s)
}

async fn processes(
    pairctl: &PathBuf,
    work: &std::path::Path,
    cities: usize,
    provinces: usize,
    run: &Run,
) -> anyhow::Result<Row> {
    let limit = Duration::from_secs(run.limit_s);
    let mut gen = GenOptions::new(cities, provinces);
    gen.name = format!("generated-national-{cities}");
    let path = work.join(format!("{}.toml", gen.name));
    let text = scenario_gen::generate(&gen);
    scenario::parse(&text, "generated")?;
    std::fs::write(&path, text)?;
    let logs = work.join(format!("logs-{cities}"));
    let launched = Instant::now();
    let child = Command::new(pairctl)
        .arg("up")
        .args(pace_args(run))
        .arg("--scenario")
        .arg(&path)
        .arg("--log-dir")
        .arg(&logs)
        .args(["--timeout-s", &limit.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .spawn()
        .with_context(|| format!("cannot run {}", pairctl.display()))?;
    let mut guard = ChildGuard::new(child, Duration::from_secs(30));
    let pairctl_pid = guard.pid();
    // pairctl prints "Scenario ...: central at http://..." once every node
    // has announced its address.
    let stdout = guard.child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<(f64, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((launched.elapsed().as_secs_f64(), line)).is_err() {
                break;
            }
        }
    });
    let (started_s, endpoint) = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((at, line)) => {
                if let Some(rest) = line.split("central at ").nth(1) {
                    let endpoint = rest.split(',').next().unwrap_or("").trim().to_string();
                    break (at, endpoint);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => return Err(anyhow!("pairctl ended before every node announced")),
        }
        if let Some(status) = guard.child.try_wait()? {
            return Err(anyhow!(
                "pairctl exited with {status} before every node announced"
            ));
        }
        if launched.elapsed() > limit {
            return Err(anyhow!("nodes not all listening within {limit:?}"));
        }
    };
    let mut peak_rss: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut central_pid = None;
    // `pairctl up` runs over mutual TLS: the status is asked with the
    // operator's certificate it issued.
    let operator = NodeTls::load(&logs.join("certs"), OPERATOR_ID).map_err(|e| anyhow!(e))?;
    let watched = watch_cases(&endpoint, Some(&operator), cities, launched, run, || {
        let children = procs::children_of(pairctl_pid);
        if central_pid.is_none() {
            central_pid = children
                .iter()
                .copied()
                .find(|pid| procs::is_node(*pid, "central"));
        }
        for pid in children {
            if let Some(rss) = procs::status_kib(&pid.to_string(), "VmRSS") {
                let peak = peak_rss.entry(pid).or_insert(0);
                *peak = (*peak).max(rss);
            }
        }
    })
    .await?;
    // Peak RSS per process as the kernel counted it, up to the pairing.
    for (pid, peak) in peak_rss.iter_mut() {
        if let Some(hwm) = procs::status_kib(&pid.to_string(), "VmHWM") {
            *peak = (*peak).max(hwm);
        }
    }
    let central_pid = central_pid.ok_or_else(|| anyhow!("no node process seen"))?;
    let central_rss = peak_rss.get(&central_pid).copied().unwrap_or(0);
    let others: Vec<f64> = peak_rss
        .iter()
        .filter(|(pid, _)| **pid != central_pid)
        .map(|(_, kib)| mib(*kib))
        .collect();
    let expected = cities + provinces;
    let clean = guard.stop();
    Ok(Row {
        nodes: expected + 1,
        cities,
        started_s: Some(started_s),
        clock_s: Some(watched.clock_s),
        paired_s: Some(watched.paired_s),
        closed_s: watched.closed_s,
        central_rss_mib: mib(central_rss),
        node_rss_mib: stats::median(&others),
        note: format!(
            "peak RSS of {} node processes (median shown){}",
            others.len(),
            if clean {
                ""
            } else {
                "; pairctl had to be killed"
            }
        ),
    })
}

async fn in_process(cities: usize, provinces: usize, run: &Run, net: Net) -> anyhow::Result<Row> {
    let mut gen = GenOptions::new(cities, provinces);
    gen.name = format!("generated-in-process-{cities}");
    let scenario = Arc::new(scenario::parse(&scenario_gen::generate(&gen), "generated")?);
    let rss_before = procs::status_kib("self", "VmRSS").unwrap_or(0);
    let launched = Instant::now();
    let central = central::start(central::CentralConfig {
        concurrency: Default::default(),
        scenario: scenario.clone(),
        clock: clock_plan(run),
        listen_addr: "127.0.0.1:0".into(),
        day_ms: match run.clock {
            ClockMode::Wall => run.day_ms,
            ClockMode::Lockstep => 0,
        },
        policy: Default::default(),
        data_dir: None,
        durability: Default::default(),
        faults: None,
        tls: None,
    })
    .await
    .map_err(|e| anyhow!(e))?;
    let endpoint = central.endpoint();
    let mut nodes = Vec::with_capacity(cities + provinces);
    let outcome = async {
        for p in &scenario.provinces {
            nodes.push(
                province_node::start(province_node::ProvinceConfig {
                    scenario: scenario.clone(),
                    province_id: p.id.clone(),
                    central_endpoint: endpoint.clone(),
                    listen_addr: "127.0.0.1:0".into(),
                    advertise: None,
                    data_dir: None,
                    durability: Default::default(),
                    faults: None,
                    tls: None,
                })
                .await
                .map_err(|e| anyhow!("province {}: {e}", p.id))?,
            );
        }
        for c in &scenario.cities {
            nodes.push(
                city_node::start(city_node::CityConfig {
                    scenario: scenario.clone(),
                    city_id: c.id.clone(),
                    central_endpoint: endpoint.clone(),
                    listen_addr: "127.0.0.1:0".into(),
                    advertise: None,
                    data_dir: None,
                    durability: Default::default(),
                    faults: None,
                    tls: None,
                })
                .await
                .map_err(|e| anyhow!("city {}: {e}", c.id))?,
            );
        }
        let started_s = launched.elapsed().as_secs_f64();
        let mut peak = 0;
        let watched = watch_cases(&endpoint, None, cities, launched, run, || {
            peak = peak.max(procs::status_kib("self", "VmRSS").unwrap_or(0));
        })
        .await?;
        let peak = peak.max(procs::status_kib("self", "VmHWM").unwrap_or(0));
        // Every node's listener, its connection to central and central's to
        // it: what bounds the nodes one process can hold (the open-file
        // limit), printed beside the row.
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        anyhow::Ok((started_s, watched, peak, fds))
    }
    .await;
    let count = nodes.len();
    // Stop everything, bounded: a node that will not stop is left to exit
    // with the process.
    // Every node's token first, then wait for all of them at once.
    central.shutdown.cancel();
    for node in &nodes {
        node.shutdown.cancel();
    }
    let stopping = async {
        for node in nodes {
            let _ = node.task.await;
        }
        let _ = central.task.await;
    };
    let stopped = tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .is_ok();
    let (started_s, watched, peak, fds) = outcome?;
    Ok(Row {
        nodes: count + 1,
        cities,
        started_s: Some(started_s),
        clock_s: Some(watched.clock_s),
        paired_s: Some(watched.paired_s),
        closed_s: watched.closed_s,
        central_rss_mib: mib(peak.saturating_sub(rss_before)),
        node_rss_mib: mib(peak.saturating_sub(rss_before)) / (count + 1) as f64,
        note: format!(
            "in-process over {}: first MiB column is the whole process's RSS growth, over {} nodes; {fds} open files at the end{}",
            match net {
                Net::Tcp => "loopback TCP",
                Net::Memory => "in-memory pipes",
            },
            count + 1,
            if stopped {
                ""
            } else {
                "; nodes did not all stop within 30 s"
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(argv: &[String]) -> Run {
        match Cli::try_parse_from(argv).expect("flags parse").mode {
            Mode::InProcess { run, .. } => run,
            other => panic!("not in-process: {other:?}"),
        }
    }

    #[test]
    fn a_size_measured_in_a_child_gets_the_run_settings_given() {
        let given: Vec<String> = [
            "scale",
            "in-process",
            "--clock",
            "lockstep",
            "--step-minutes",
            "360",
            "--until",
            "closed",
            "--limit-s",
            "42",
        ]
        .map(String::from)
        .to_vec();
        let run = run_of(&given);
        let child: Vec<String> = ["scale", "in-process"]
            .map(String::from)
            .into_iter()
            .chain(run.args())
            .collect();
        assert_eq!(format!("{:?}", run_of(&child)), format!("{run:?}"));
        assert_eq!(run.until, Until::Closed);
        assert_eq!(run.clock, ClockMode::Lockstep);
    }
}
