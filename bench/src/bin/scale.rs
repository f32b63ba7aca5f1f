//! Point 4 of the benchmarks: how start-up, memory and time to all pairings
//! grow with the number of nodes, on generated scenarios (every figure
//! invented, every file labelled GENERATED).
//!
//! - `scale processes`: `pairctl up` on a generated national scenario, one
//!   process per node; RSS per process from /proc/<pid>/status.
//! - `scale in-process`: every node a server in this one process (as the
//!   integration tests' cluster does); RSS of the process over its nodes.
//!
//! Each run stops once every city's case is paired (or at its time limit),
//! and every node is stopped whatever happens.
//!
//! target/release/scale processes --cities 50,100,300
//! target/release/scale in-process --nodes 500,1000,2000

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
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
        /// Wall ms per scenario day.
        #[arg(long, default_value_t = 500)]
        day_ms: i64,
        /// Give up on one size after this many seconds.
        #[arg(long, default_value_t = 150)]
        limit_s: u64,
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
        #[arg(long, default_value_t = 500)]
        day_ms: i64,
        #[arg(long, default_value_t = 150)]
        limit_s: u64,
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
            day_ms,
            limit_s,
            work,
        } => {
            machine::print_start("scale: one process per node (pairctl up)");
            println!(
                "open-file limit {fds}; --day-ms {day_ms}; decision window 3 scenario days = {} ms",
                3 * day_ms
            );
            std::fs::create_dir_all(&work)?;
            let mut rows = Vec::new();
            for n in cities {
                let limit = Duration::from_secs(limit_s);
                let row = runtime.block_on(processes(&pairctl, &work, n, provinces, day_ms, limit));
                rows.push(row.unwrap_or_else(|e| failed(n + provinces + 1, n, e)));
                print_row(rows.last().expect("pushed"));
            }
            rows
        }
        Mode::InProcess {
            nodes,
            provinces,
            day_ms,
            limit_s,
            one: true,
        } => {
            let n = nodes[0];
            let cities = n.saturating_sub(provinces + 1).max(1);
            let limit = Duration::from_secs(limit_s);
            let row = runtime.block_on(in_process(cities, provinces, day_ms, limit));
            let row = row.unwrap_or_else(|e| failed(n, cities, e));
            println!("ROW {}", row.to_json());
            return Ok(());
        }
        Mode::InProcess {
            nodes,
            provinces,
            day_ms,
            limit_s,
            one: false,
        } => {
            machine::print_start("scale: every node in one process");
            println!(
                "open-file limit {fds}; --day-ms {day_ms}; decision window 3 scenario days = {} ms",
                3 * day_ms
            );
            println!("each size in a fresh process of this binary, so its RSS is its own");
            let mut rows = Vec::new();
            for n in nodes {
                let cities = n.saturating_sub(provinces + 1).max(1);
                let row = in_fresh_process(n, provinces, day_ms, limit_s)
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
fn in_fresh_process(
    nodes: usize,
    provinces: usize,
    day_ms: i64,
    limit_s: u64,
) -> anyhow::Result<Row> {
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(["in-process", "--one", "--nodes", &nodes.to_string()])
        .args([
            "--provinces",
            &provinces.to_string(),
            "--day-ms",
            &day_ms.to_string(),
        ])
        .args(["--limit-s", &limit_s.to_string()])
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

/// Polls central until the clock runs and every one of `cities` cases is
/// paired; returns both times from `launched`.
async fn watch_pairings(
    endpoint: &str,
    operator: Option<&NodeTls>,
    cities: usize,
    launched: Instant,
    limit: Duration,
    mut on_poll: impl FnMut(),
) -> anyhow::Result<(f64, f64)> {
    let channel = client::Dialer::new(operator).channel(endpoint)?;
    let mut central = CentralAuthorityClient::new(channel);
    let mut clock_s = None;
    loop {
        on_poll();
        if launched.elapsed() > limit {
            return Err(anyhow!(
                "not every case paired within {limit:?} (clock at {clock_s:?} s)"
            ));
        }
        if let Ok(status) = central.get_status(client::request(StatusQuery {})).await {
            let status = status.into_inner();
            if status.clock.is_some() && clock_s.is_none() {
                clock_s = Some(launched.elapsed().as_secs_f64());
            }
            let paired = status
                .cases
                .iter()
                .filter(|c| c.stage != "awaiting_pairing")
                .count();
            if paired >= cities {
                let clock = clock_s.unwrap_or(0.0);
                return Ok((clock, launched.elapsed().as_secs_f64()));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn processes(
    pairctl: &PathBuf,
    work: &std::path::Path,
    cities: usize,
    provinces: usize,
    day_ms: i64,
    limit: Duration,
) -> anyhow::Result<Row> {
    let mut gen = GenOptions::new(cities, provinces);
    gen.name = format!("generated-national-{cities}");
    let path = work.join(format!("{}.toml", gen.name));
    let text = scenario_gen::generate(&gen);
    scenario::parse(&text, "generated")?;
    std::fs::write(&path, text)?;
    let logs = work.join(format!("logs-{cities}"));
    let launched = Instant::now();
    // The wall clock: the run lasts long enough to be watched, and "paired"
    // is a wall time after the launch (the lockstep clock would finish the
    // whole scenario as fast as it goes).
    let child = Command::new(pairctl)
        .args(["up", "--clock", "wall", "--day-ms", &day_ms.to_string()])
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
    let (clock_s, paired_s) =
        watch_pairings(&endpoint, Some(&operator), cities, launched, limit, || {
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
        clock_s: Some(clock_s),
        paired_s: Some(paired_s),
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

async fn in_process(
    cities: usize,
    provinces: usize,
    day_ms: i64,
    limit: Duration,
) -> anyhow::Result<Row> {
    let mut gen = GenOptions::new(cities, provinces);
    gen.name = format!("generated-in-process-{cities}");
    let scenario = Arc::new(scenario::parse(&scenario_gen::generate(&gen), "generated")?);
    let rss_before = procs::status_kib("self", "VmRSS").unwrap_or(0);
    let launched = Instant::now();
    let central = central::start(central::CentralConfig {
        concurrency: Default::default(),
        scenario: scenario.clone(),
        // Stub nodes take no steps: the wall clock.
        clock: central::authority::ClockPlan::wall(central::authority::DEFAULT_SEED),
        listen_addr: "127.0.0.1:0".into(),
        day_ms,
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
        let (clock_s, paired_s) = watch_pairings(&endpoint, None, cities, launched, limit, || {
            peak = peak.max(procs::status_kib("self", "VmRSS").unwrap_or(0));
        })
        .await?;
        let peak = peak.max(procs::status_kib("self", "VmHWM").unwrap_or(0));
        // Every node's listener, its connection to central and central's to
        // it: what bounds the nodes one process can hold (the open-file
        // limit), printed beside the row.
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        anyhow::Ok((started_s, clock_s, paired_s, peak, fds))
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
    let (started_s, clock_s, paired_s, peak, fds) = outcome?;
    Ok(Row {
        nodes: count + 1,
        cities,
        started_s: Some(started_s),
        clock_s: Some(clock_s),
        paired_s: Some(paired_s),
        central_rss_mib: mib(peak.saturating_sub(rss_before)),
        node_rss_mib: mib(peak.saturating_sub(rss_before)) / (count + 1) as f64,
        note: format!(
            "in-process: first MiB column is the whole process's RSS growth, over {} nodes; {fds} open files when paired{}",
            count + 1,
            if stopped {
                ""
            } else {
                "; nodes did not all stop within 30 s"
            }
        ),
    })
}
