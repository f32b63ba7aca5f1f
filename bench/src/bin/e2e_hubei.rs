//! Point 3 of the benchmarks: the whole protocol end to end, hubei-2020 with
//! `pairctl up` (one process per node) at the fastest clock it accepts, run
//! several times. Per run: wall time from the first request to the last
//! assignment acknowledged (2020: 3 days), the whole run's wall time, and
//! messages per second; then the median and spread over the runs.
//!
//! With `--compare-arg=--in-memory` the runs alternate between durable
//! nodes (the default) and nodes without data directories: what durable
//! state costs. With `--otlp URL --compare` the runs alternate between no export and
//! export to URL (point 5; start `pairctl otlp-sink` there first).
//!
//! cargo build --release -p pairctl -p counterpart-bench
//! target/release/e2e_hubei --runs 5

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::Parser;
use counterpart_bench::machine;
use counterpart_bench::procs::ChildGuard;
use counterpart_bench::run_report::RunFigures;
use counterpart_bench::stats;

#[derive(Debug, Parser)]
struct Args {
    /// The release pairctl binary.
    #[arg(long, default_value = "target/release/pairctl")]
    pairctl: PathBuf,
    #[arg(long, default_value = "deploy/scenarios/hubei-2020.toml")]
    scenario: PathBuf,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Wall ms per scenario day; by default the smallest pairctl accepts
    /// (found by trying 0, then 1).
    #[arg(long)]
    day_ms: Option<i64>,
    /// Give up on a run after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Export spans to this OTLP/gRPC collector.
    #[arg(long)]
    otlp: Option<String>,
    /// Alternate runs without and with --otlp.
    #[arg(long)]
    compare: bool,
    /// Alternate runs with and without this extra `pairctl up` argument
    /// (e.g. --compare-arg=--in-memory: what durable state costs).
    #[arg(long, allow_hyphen_values = true)]
    compare_arg: Option<String>,
    /// Where reports and logs go.
    #[arg(long, default_value = "/tmp/counterpart-e2e")]
    work: PathBuf,
}

/// One run's figures.
struct Run {
    /// The compared variant: OTLP on, or the --compare-arg given.
    variant: bool,
    exit_ok: bool,
    process_wall_s: f64,
    figures: Option<RunFigures>,
    note: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_start("e2e_hubei: pairctl up, one process per node");
    std::fs::create_dir_all(&args.work)?;
    let day_ms = match args.day_ms {
        Some(d) => d,
        None => fastest_day_ms(&args)?,
    };
    println!(
        "scenario {}, --day-ms {day_ms}, {} runs{}",
        args.scenario.display(),
        args.runs,
        match (&args.otlp, args.compare) {
            (Some(url), true) => format!(", alternating OTLP export off / on to {url}"),
            (Some(url), false) => format!(", OTLP export to {url}"),
            _ => String::new(),
        }
    );
    println!(
        "{:>3} | {:>4} | {:>6} | {:>13} | {:>13} | {:>10} | {:>9} | {:>8} | {:>5} | {:>14}",
        "run",
        "var.",
        "exit",
        "req->ack ms",
        "req->ack days",
        "run wall s",
        "messages",
        "msg/s",
        "open",
        "load avg"
    );
    let mut runs = Vec::new();
    let comparing = (args.compare && args.otlp.is_some()) || args.compare_arg.is_some();
    for k in 0..args.runs {
        // Alternate which variant goes first, so drift in load hits both.
        let variant = match comparing {
            true => k % 2 == 1,
            false => args.otlp.is_some(),
        };
        let run = run_once(&args, day_ms, k, variant)?;
        print_run(k, &run);
        runs.push(run);
        if comparing {
            let run = run_once(&args, day_ms, k + 1000, !variant)?;
            print_run(k, &run);
            runs.push(run);
        }
    }
    println!();
    let label = |variant: bool| match (&args.compare_arg, variant) {
        (Some(arg), true) => format!("with {arg}"),
        (Some(arg), false) => format!("without {arg}"),
        (None, true) => "OTLP on".to_string(),
        (None, false) => "OTLP off".to_string(),
    };
    for variant in [false, true] {
        let group: Vec<&Run> = runs.iter().filter(|r| r.variant == variant).collect();
        if !group.is_empty() {
            summarise(&label(variant), &group);
        }
    }
    machine::print_end();
    Ok(())
}

/// Tries `--day-ms 0`; if pairctl refuses it, says why and takes 1.
fn fastest_day_ms(args: &Args) -> anyhow::Result<i64> {
    let out = Command::new(&args.pairctl)
        .args(["up", "--day-ms", "0", "--scenario"])
        .arg(&args.scenario)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", args.pairctl.display()))?;
    if out.status.success() {
        return Ok(0);
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let first = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    println!("--day-ms 0 refused: {}", first.trim());
    Ok(1)
}

fn run_once(args: &Args, day_ms: i64, k: usize, variant: bool) -> anyhow::Result<Run> {
    let report = args.work.join(format!("report-{k}.json"));
    let logs = args.work.join(format!("logs-{k}"));
    let stdout = std::fs::File::create(args.work.join(format!("stdout-{k}.txt")))?;
    let _ = std::fs::remove_file(&report);
    let mut command = Command::new(&args.pairctl);
    command
        .args(["up", "--day-ms", &day_ms.to_string()])
        .arg("--scenario")
        .arg(&args.scenario)
        .arg("--report")
        .arg(&report)
        .arg("--log-dir")
        .arg(&logs)
        .args(["--timeout-s", &args.timeout_s.to_string()])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    match (&args.compare_arg, &args.otlp) {
        (Some(arg), _) if variant => {
            command.arg(arg);
        }
        (None, Some(url)) if variant => {
            command.args(["--otlp", url]);
        }
        _ => {}
    }
    // Durable runs keep their state apart; --in-memory takes no directory.
    if !(variant && args.compare_arg.as_deref() == Some("--in-memory")) {
        let data = args.work.join(format!("data-{k}"));
        let _ = std::fs::remove_dir_all(&data);
        command.arg("--data-dir").arg(data);
    }
    let started = Instant::now();
    let mut guard = ChildGuard::new(command.spawn()?, Duration::from_secs(15));
    // pairctl bounds the run itself (--timeout-s); this only guards a hang.
    let limit = Duration::from_secs(args.timeout_s + 60);
    let status = loop {
        if let Some(status) = guard.child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            guard.stop();
            return Err(anyhow!("pairctl did not end within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let process_wall_s = started.elapsed().as_secs_f64();
    let mut stderr = String::new();
    if let Some(mut e) = guard.child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let figures = read_figures(&report).ok();
    Ok(Run {
        variant,
        exit_ok: status.success(),
        process_wall_s,
        figures,
        note: stderr.lines().last().unwrap_or("").to_string(),
    })
}

fn read_figures(path: &Path) -> anyhow::Result<RunFigures> {
    let text = std::fs::read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    RunFigures::from_report(&value).map_err(|e| anyhow!(e))
}

fn print_run(k: usize, run: &Run) {
    let f = run.figures.as_ref();
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    let messages = f.map(|f| f.messages);
    println!(
        "{:>3} | {:>4} | {:>6} | {:>13} | {:>13} | {:>10.2} | {:>9} | {:>8} | {:>5} | {:>14}",
        k,
        if run.variant { "on" } else { "off" },
        if run.exit_ok { "ok" } else { "FAILED" },
        opt(f.and_then(RunFigures::request_to_last_ack_wall_ms), 1),
        opt(f.and_then(RunFigures::request_to_last_ack_days), 2),
        run.process_wall_s,
        messages.map_or("-".into(), |m| m.to_string()),
        opt(messages.map(|m| m as f64 / run.process_wall_s), 0),
        f.map_or("-".into(), |f| f.cases_open.to_string()),
        machine::load_average(),
    );
    if !run.exit_ok {
        println!("      pairctl: {}", run.note);
    }
}

fn summarise(label: &str, runs: &[&Run]) {
    let collect = |f: &dyn Fn(&Run) -> Option<f64>| -> Vec<f64> {
        runs.iter().filter_map(|r| f(r)).collect()
    };
    let ack_ms = collect(&|r| r.figures.as_ref()?.request_to_last_ack_wall_ms());
    let wall = collect(&|r| Some(r.process_wall_s));
    let rate = collect(&|r| Some(r.figures.as_ref()?.messages as f64 / r.process_wall_s));
    let ok = runs.iter().filter(|r| r.exit_ok).count();
    let show = |name: &str, v: &[f64], unit: &str| {
        if v.is_empty() {
            println!("  {name}: no figures");
        } else {
            let (lo, hi) = stats::spread(v);
            println!(
                "  {name}: median {:.2} {unit} (min {:.2}, max {:.2}, n {})",
                stats::median(v),
                lo,
                hi,
                v.len()
            );
        }
    };
    println!("{label}: {ok} of {} runs settled every case", runs.len());
    show("first request -> last acknowledgement", &ack_ms, "ms wall");
    show("whole run (pairctl up, start to exit)", &wall, "s");
    show("messages per second of the whole run", &rate, "msg/s");
}
