//! `pairctl up`: runs a whole scenario on this machine, one process per node.
//!
//! Central starts first; once it has announced its address, every province
//! and city starts with it. Then pairctl watches central's status until the
//! run is finished (or the timeout passes, or a node dies), collects the
//! pairings, ledger and report, stops every node, and prints the outcome.
//! Whatever happens, every node is stopped before pairctl exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use counterpart_domain::clock::unix_now_ms;
use counterpart_domain::scenario::Scenario;
use node_kit::client::Dialer;
use node_kit::retry::RetryPolicy;
use node_kit::tls::NodeTls;
use pairing_proto::v1::{Ledger, PairingTable};
use serde_json::Value;
use tokio::time::Instant;

use crate::central_client::CentralClient;
use crate::cli::{scenario_path, UpArgs};
use crate::cluster::{Cluster, StopOutcome, ANNOUNCE_TIMEOUT, STOP_GRACE};
use crate::commands::ledger::reconcile_cluster;
use crate::commands::report::write_report;
use crate::dashboard::RunningDashboard;
use crate::plan::{self, ChildOptions};
use crate::reconcile::Reconciliation;
use crate::render::{self, CityNames};
use crate::report::{merge_launch_facts, parse_report, render_identity, RunSummary};
use central::cli::ClockMode;
use watch::{watch, Watch};

mod watch;

/// How long the nodes stay up, once the run finished, for the dashboard to
/// hear it from central's stream (a few of its 250 ms intervals).
const DASHBOARD_FINISH_WAIT: Duration = Duration::from_secs(10);
/// Collecting the results must get through a busy moment, but not hang.
const COLLECT_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    initial_backoff_ms: 200,
    max_backoff_ms: 2_000,
};

/// How the watch over a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunEnd {
    Finished,
    TimedOut(Duration),
}

/// What pairctl gathers from central at the end of a run.
#[derive(Debug)]
struct RunResults {
    end: RunEnd,
    pairings: PairingTable,
    ledger: Ledger,
    /// Central's report with the launch facts merged in, the
    /// reconciliation under `reconcile`, and its `digest`.
    report: Value,
    /// Central's ledger beside every node's books, read before the nodes
    /// stopped.
    reconciliation: Reconciliation,
}

pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let path = scenario_path(args.scenario.clone());
    let scenario = counterpart_domain::scenario::load(&path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    // Children may resolve paths differently: hand them an absolute one.
    let path = path
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    let exe = std::env::current_exe().context("cannot find pairctl's own executable")?;
    let mut cluster = Cluster::new(exe, &args.log_dir)?;
    for binary in &args.binaries {
        println!(
            "Every {} runs {}",
            binary.role.as_str(),
            binary.exe.display()
        );
        cluster.run_role_from(binary.clone());
    }
    if let Some(url) = &args.otlp {
        cluster.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", url);
    }

    let data_root = match args.in_memory {
        true => None,
        false => Some(absolute(&args.data_dir.clone().unwrap_or_else(|| {
            Path::new("target/pairctl-data").join(format!("run-{}", unix_now_ms()))
        }))?),
    };

    let signals = node_kit::shutdown::on_signals();
    let dashboard = match &args.dashboard {
        Some(listen) => {
            let dashboard = RunningDashboard::start(listen, "pairctl up", &args.jaeger_url).await?;
            println!("Dashboard at {}", dashboard.url);
            Some(dashboard)
        }
        None => None,
    };
    let outcome = tokio::select! {
        biased;
        _ = signals.cancelled() => Err(anyhow!("interrupted")),
        outcome = drive(&args, &scenario, &path, data_root.as_deref(), &mut cluster, dashboard.as_ref()) => outcome,
    };
    let finished = matches!(&outcome, Ok(results) if matches!(results.end, RunEnd::Finished));
    if let (true, Some(dashboard)) = (finished, &dashboard) {
        if !dashboard.await_finished(DASHBOARD_FINISH_WAIT).await {
            eprintln!(
                "pairctl: the dashboard did not hear central say the run finished within {DASHBOARD_FINISH_WAIT:?}"
            );
        }
    }
    println!("Stopping {} nodes...", cluster.nodes().len());
    let stop = cluster.stop_all(STOP_GRACE).await;
    warn_about_stop(&stop, &args.log_dir);
    let results = outcome.with_context(|| {
        format!(
            "run failed, every node stopped (logs in {})",
            args.log_dir.display()
        )
    })?;
    let code = finish(&args, &scenario, results)?;
    if let Some(dashboard) = dashboard {
        // The finished run stays on the page for the person looking at it.
        if !signals.is_cancelled() {
            println!(
                "\nDashboard still at {} with the finished run; Ctrl-C to exit",
                dashboard.url
            );
            signals.cancelled().await;
        }
        dashboard.stop().await;
    }
    // The state is for restarts during the run: a default directory goes
    // once the run has settled (one the user named, or of a failed run,
    // stays for them to look at).
    if let (true, None, Some(root)) = (code == ExitCode::SUCCESS, &args.data_dir, &data_root) {
        let _ = std::fs::remove_dir_all(root);
    }
    Ok(code)
}

/// Starts the nodes, watches the run, collects the results.
async fn drive(
    args: &UpArgs,
    scenario: &Scenario,
    scenario_path: &Path,
    data_root: Option<&Path>,
    cluster: &mut Cluster,
    dashboard: Option<&RunningDashboard>,
) -> anyhow::Result<RunResults> {
    let started = Instant::now();
    let (tls_dir, operator) = if args.insecure {
        (None, None)
    } else {
        let (dir, operator) = make_certs(&args.log_dir.join("certs"), scenario)?;
        (Some(dir), Some(operator))
    };
    let dialer = Dialer::new(operator.as_ref());
    let options = ChildOptions {
        scenario_path,
        day_ms: args.day_ms,
        pairing_mode: args.pairing_mode,
        policy: args.policy.as_ref(),
        tls_dir: tls_dir.as_deref(),
        data_root,
        durability: args.durability,
    };
    for (key, value) in args.clock.to_env() {
        cluster.set_env(key, &value);
    }
    let central = plan::central();
    cluster.spawn(central.clone(), &plan::child_args(&central, &options, None))?;
    cluster
        .await_announces(Instant::now() + ANNOUNCE_TIMEOUT)
        .await?;
    let central_addr = cluster.nodes()[0].addr.expect("central has announced");
    let endpoint = dialer.endpoint_url(&format!("http://{central_addr}"));

    let others = plan::donors_and_recipients(scenario);
    for spec in &others {
        cluster.spawn(
            spec.clone(),
            &plan::child_args(spec, &options, Some(&endpoint)),
        )?;
    }
    cluster
        .await_announces(Instant::now() + ANNOUNCE_TIMEOUT)
        .await?;
    println!(
        "Scenario {}: central at {endpoint}, {} provinces, {} cities; logs in {}, state in {}",
        scenario.name,
        scenario.provinces.len(),
        scenario.cities.len(),
        args.log_dir.display(),
        data_root.map_or("memory".into(), |d| d.display().to_string())
    );

    let client = CentralClient::via(&dialer, &endpoint)?;
    if let Some(dashboard) = dashboard {
        dashboard.follow(client.clone());
    }
    let day_ms = match args.clock.clock {
        ClockMode::Lockstep => args.day_ms.max(plan::LOCKSTEP_DAY_FLOOR_MS),
        ClockMode::Wall => args.day_ms,
    };
    let timeout = plan::run_timeout(plan::scenario_days(scenario), day_ms, args.timeout_s);
    // A node without saved state would start its run over: no restarts.
    let max_restarts = if args.in_memory { 0 } else { args.max_restarts };
    let watching = Watch {
        nodes_expected: others.len(),
        timeout,
        max_restarts,
        log_dir: &args.log_dir,
    };
    let end = watch(&client, cluster, watching).await?;
    let client = client.with_retries(COLLECT_POLICY);
    let collected = collect(&client).await;
    let (pairings, ledger, report) = match (end, collected) {
        (_, Ok(collected)) => collected,
        (RunEnd::Finished, Err(e)) => return Err(e),
        (RunEnd::TimedOut(after), Err(e)) => {
            return Err(anyhow!(
                "the run did not finish within {} s, and central's report could not be read: {e:#}",
                after.as_secs()
            ))
        }
    };
    // Central's report is checked against the nodes' own books, which go
    // with the nodes: read them now.
    let reconciliation = reconcile_cluster(&client, &dialer)
        .await
        .context("cannot reconcile central's ledger with the nodes' books")?;
    if let Some(dashboard) = dashboard {
        let board = &dashboard.board;
        board.set_reconciliation(reconciliation.lines.len(), &reconciliation.problems());
    }
    let wall_time_ms = started.elapsed().as_millis() as u64;
    let mut report = merge_launch_facts(report, &cluster.launched(), wall_time_ms)
        .map_err(anyhow::Error::msg)?;
    report["reconcile"] = serde_json::to_value(&reconciliation)?;
    // Last: the digest of the story, the launch facts left out.
    crate::digest::stamp(&mut report);
    Ok(RunResults {
        end,
        pairings,
        ledger,
        report,
        reconciliation,
    })
}

/// Makes (or refreshes) the run's certificates in `dir`, reusing its CA,
/// and returns its absolute path and the operator's certificate, which
/// pairctl's own queries present.
fn make_certs(dir: &Path, scenario: &Scenario) -> anyhow::Result<(PathBuf, NodeTls)> {
    // The children read the directory from their own working directory.
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    crate::certs::write_all(&dir, &crate::certs::holders(scenario))?;
    let operator = NodeTls::load(&dir, node_kit::tls::OPERATOR_ID).map_err(anyhow::Error::msg)?;
    Ok((dir, operator))
}

/// `path` made absolute (children may run elsewhere) and created.
fn absolute(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create data directory {}", path.display()))?;
    path.canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))
}

async fn collect(central: &CentralClient) -> anyhow::Result<(PairingTable, Ledger, Value)> {
    let pairings = central.pairings().await?;
    let ledger = central.ledger().await?;
    let report = parse_report(&central.report().await?.json).map_err(anyhow::Error::msg)?;
    Ok((pairings, ledger, report))
}

/// Prints the pairings, the summary and the reconciliation's verdict,
/// writes the report, prints its digest; the exit code says whether every
/// case was settled and the nodes' books agree with central's ledger.
fn finish(args: &UpArgs, scenario: &Scenario, results: RunResults) -> anyhow::Result<ExitCode> {
    let names: CityNames = scenario
        .cities
        .iter()
        .map(|c| (c.id.clone(), c.name_zh.clone()))
        .collect();
    println!();
    print!("{}", render::pairings(&results.pairings, &names));
    println!();
    let summary = RunSummary::from_report(&results.report).map_err(anyhow::Error::msg)?;
    print!("{}", summary.render());
    println!();
    print!("{}", render::donor_costs(&results.ledger));
    let problems = results.reconciliation.problems();
    println!(
        "\nReconciled central's ledger with the nodes' books: {} lines, {} differences",
        results.reconciliation.lines.len(),
        problems.len()
    );
    if let Some(path) = &args.report {
        write_report(path, &results.report)?;
        println!("\nReport written to {}", path.display());
    }
    // The run's story in one line, to compare runs by.
    print!("\n{}", render_identity(&results.report));
    match verdict(
        results.end,
        &summary,
        &results.reconciliation,
        &args.log_dir,
    ) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(why) => {
            eprintln!("pairctl: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Whether the run succeeded: it finished, the nodes' books agree with
/// central's ledger, and every case was settled; else why not.
fn verdict(
    end: RunEnd,
    summary: &RunSummary,
    reconciliation: &Reconciliation,
    log_dir: &Path,
) -> Result<(), String> {
    if let RunEnd::TimedOut(after) = end {
        return Err(format!(
            "the run did not finish within {} s (see --timeout-s); logs in {}",
            after.as_secs(),
            log_dir.display()
        ));
    }
    let problems = reconciliation.problems();
    if !problems.is_empty() {
        return Err(format!(
            "the nodes' books and central's ledger differ:\n  {}",
            problems.join("\n  ")
        ));
    }
    if !summary.all_cases_settled() {
        return Err(format!(
            "{} of {} cases are still open at the end of the run",
            summary.cases_open,
            summary.cases_total()
        ));
    }
    Ok(())
}

fn warn_about_stop(stop: &StopOutcome, log_dir: &Path) {
    for id in &stop.killed {
        eprintln!(
            "pairctl: {id} did not stop within {} s of SIGTERM and was killed; see {}",
            STOP_GRACE.as_secs(),
            log_dir.join(format!("{id}.log")).display()
        );
    }
    for (id, status) in &stop.failed {
        eprintln!(
            "pairctl: {id} stopped with {status}; see {}",
            log_dir.join(format!("{id}.log")).display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::{BookLine, Books, LedgerLine};

    fn settled() -> RunSummary {
        let report = serde_json::json!({"cases": [{"status": "closed"}, {"status": "rejected"}]});
        RunSummary::from_report(&report).unwrap()
    }

    /// Central's ledger and a province's books say 10 doctors went from
    /// jiangsu to huangshi; the city's books say `received`.
    fn reconciled(received: i64) -> Reconciliation {
        let line = BookLine {
            case_id: "case-huangshi-1".into(),
            city_id: "huangshi".into(),
            province_id: "jiangsu".into(),
            resource_type: "personnel/doctor".into(),
            shipped: 10,
            received: 10,
            discrepancy: 0,
            shipments: 1,
        };
        let ledger = Ledger {
            lines: vec![LedgerLine {
                case_id: line.case_id.clone(),
                city_id: line.city_id.clone(),
                province_id: line.province_id.clone(),
                resource_type: line.resource_type.clone(),
                target: 10,
                shipped: 10,
                received: 10,
                ..Default::default()
            }],
            costs: vec![],
        };
        let province = Books {
            node_id: "jiangsu".into(),
            lines: vec![line.clone()],
        };
        let city = Books {
            node_id: "huangshi".into(),
            lines: vec![BookLine {
                shipped: 0,
                received,
                ..line
            }],
        };
        Reconciliation::new(&ledger, &[province], &[city], true)
    }

    #[test]
    fn a_finished_run_whose_books_agree_succeeds() {
        let log_dir = Path::new("logs");
        assert_eq!(
            verdict(RunEnd::Finished, &settled(), &reconciled(10), log_dir),
            Ok(())
        );
    }

    #[test]
    fn a_difference_in_the_books_fails_the_run_naming_pair_and_type() {
        let log_dir = Path::new("logs");
        let why = verdict(RunEnd::Finished, &settled(), &reconciled(9), log_dir).unwrap_err();
        assert!(
            why.contains(
                "case-huangshi-1: jiangsu -> huangshi personnel/doctor: 1 shipped, never received"
            ),
            "{why}"
        );
        let mut unread = reconciled(10);
        unread
            .unreachable
            .push("huangshi at http://x: refused".into());
        let why = verdict(RunEnd::Finished, &settled(), &unread, log_dir).unwrap_err();
        assert!(why.contains("no books from huangshi"), "{why}");
    }

    #[test]
    fn an_open_case_or_a_timeout_fails_the_run() {
        let log_dir = Path::new("logs");
        let open =
            RunSummary::from_report(&serde_json::json!({"cases": [{"status": "open"}]})).unwrap();
        let why = verdict(RunEnd::Finished, &open, &reconciled(10), log_dir).unwrap_err();
        assert!(why.contains("1 of 1 cases are still open"), "{why}");
        let late = RunEnd::TimedOut(Duration::from_secs(7));
        let why = verdict(late, &settled(), &reconciled(10), log_dir).unwrap_err();
        assert!(why.contains("within 7 s"), "{why}");
    }
}
