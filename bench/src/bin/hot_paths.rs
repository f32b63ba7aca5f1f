//! Point 1 of the benchmarks: central's hot paths over real gRPC beside a
//! bare tonic echo with the same request and reply sizes, same client, same
//! machine, same run. For each path and each number of calls in flight:
//! throughput and p50/p99 latency of both, and central's share of the echo's
//! throughput (target: 80% or more with validation, ledger and tracing on).
//!
//! Paths: `request` (AssistanceRequest, a fresh city each call, accepted),
//! `report` (a donor's cumulative SupervisoryReport with its shipments),
//! `receipt` (a city's SupervisoryReport with its receipts). Central logs
//! at `info` to stderr as the binary does; with `--otlp URL` it also exports
//! spans there (point 5).
//!
//! cargo run --release -p counterpart-bench --bin hot_paths -- 2>/tmp/hot_paths.log

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use counterpart_bench::echo::v1::echo_client::EchoClient;
use counterpart_bench::echo::v1::EchoRequest;
use counterpart_bench::echo::{echo_bodies, echo_reply_body, EchoBodies, EchoBody};
use counterpart_bench::load::{self, Load, LoadResult};
use counterpart_bench::machine;
use counterpart_bench::procs;
use counterpart_bench::report_rows::{print_header, print_row, Totals, TARGET_RATIO};
use counterpart_bench::rig::{Messages, Rig, RigOptions};
use counterpart_bench::scenario_gen::{self, city_id, GenOptions};
use counterpart_bench::setting::{central_tls, issue_certificates, Scratch, Senders, Setting};
use counterpart_domain::scenario;
use node_kit::client;
use node_kit::sequencer::Concurrency;
use pairing_proto::v1::{Ack, AssistanceRequestAck};
use prost::Message;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

#[derive(Debug, Parser)]
struct Args {
    /// Seconds of measurement per path, level and server.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Seconds of unmeasured warm-up before each measurement.
    #[arg(long, default_value_t = 0.5)]
    warmup_seconds: f64,
    /// Central and the echo take turns in this many slices of each
    /// measurement, so a change of the machine's load hits both alike.
    #[arg(long, default_value_t = 6)]
    slices: usize,
    /// Calls in flight, comma separated.
    #[arg(long, default_value = "1,8,32,128", value_delimiter = ',')]
    levels: Vec<usize>,
    /// Paths to measure, comma separated: request, report, receipt.
    #[arg(long, default_value = "request,report,receipt", value_delimiter = ',')]
    paths: Vec<String>,
    /// Cities in the request path's scenario: at most this many requests
    /// per level (each city asks once).
    #[arg(long, default_value_t = 6_000)]
    request_cities: usize,
    /// Cases the report and receipt paths spread their reports over.
    #[arg(long, default_value_t = 256)]
    report_cases: usize,
    /// Export central's spans to this OTLP/gRPC collector.
    #[arg(long)]
    otlp: Option<String>,
    /// Central journals to a data directory and answers once a change is
    /// on disk, as `pairctl up` runs it.
    #[arg(long)]
    durable: bool,
    /// Central and the echo serve mutual TLS; each city and province calls
    /// on its own connection with its own certificate.
    #[arg(long)]
    tls: bool,
    /// How central's handlers reach the authority: lock or sequencer.
    #[arg(long, default_value = "lock")]
    concurrency: Concurrency,
    /// What the echo's client sends as its body: `message`, the protocol
    /// message central's client sends, built and encoded afresh for each
    /// call as central's client does (both clients then do the same work
    /// on the cores they share with the servers); `padding`, one buffer of
    /// as many bytes, copied (the benchmark before 2026-12-07).
    #[arg(long, value_enum, default_value_t = EchoBody::Message)]
    echo_body: EchoBody,
}

impl Args {
    fn setting(&self) -> Setting {
        Setting {
            durable: self.durable,
            tls: self.tls,
            concurrency: self.concurrency,
        }
    }
}

/// What the echo is reached by: the same senders on the same kind of
/// connections as central.
struct Echo {
    endpoint: String,
    certs: PathBuf,
    setting: Setting,
}

const PROVINCES: usize = 34;

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_start("hot_paths: central vs bare tonic echo");
    if let Some(url) = &args.otlp {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", url);
    }
    // Central and the echo serve on one runtime, the load comes from another,
    // both with two workers (central's binary runs on two).
    let servers = runtime("server");
    let clients = runtime("client");
    // Channels are built here and spawn their workers on the client runtime.
    let _client_context = clients.enter();
    let telemetry = servers.block_on(async { node_kit::telemetry::init("central") });
    println!(
        "tracing: logs to stderr at RUST_LOG={}, OTLP export {}",
        std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        match &args.otlp {
            Some(url) if telemetry.exporting() => format!("ON to {url}"),
            _ => "off".to_string(),
        }
    );
    let setting = args.setting();
    // One set of certificates for every rig and the echo: issuing thousands
    // per rig would dominate the run.
    let scratch = Scratch::new()?;
    let tls = if setting.tls {
        check_fd_budget(&args)?;
        let cities = args.request_cities.max(args.report_cases);
        let scenario = scenario::parse(
            &scenario_gen::generate(&GenOptions::new(cities, PROVINCES)),
            "generated.toml",
        )?;
        issue_certificates(&scratch.certs_dir(), &scenario)?;
        Some(central_tls(&scratch.certs_dir())?)
    } else {
        None
    };
    let echo_stop = CancellationToken::new();
    let echo_addr = servers.block_on(counterpart_bench::echo::start(
        echo_stop.clone(),
        tls.as_ref(),
    ))?;
    let echo = Echo {
        endpoint: format!("http://{echo_addr}"),
        certs: scratch.certs_dir(),
        setting,
    };
    println!("central: {}", setting.name());
    println!(
        "echo's body: {}",
        match args.echo_body {
            EchoBody::Message => "central's message, built and encoded for each call",
            EchoBody::Padding => "padding of central's message's size, copied",
        }
    );
    println!(
        "{} s per measurement (central and echo alternating in {} slices) after {} s warm-up; levels {:?}",
        args.seconds, args.slices, args.warmup_seconds, args.levels
    );
    let mut summary = Vec::new();
    for path in &args.paths {
        let worst = match path.as_str() {
            "request" => bench_requests(&args, &servers, &clients, &echo)?,
            "report" | "receipt" => bench_reports(&args, path, &servers, &clients, &echo)?,
            other => anyhow::bail!("unknown path {other:?}: request, report or receipt"),
        };
        summary.push((path.clone(), worst));
    }
    println!();
    for (path, worst) in summary {
        println!(
            "{path}: lowest central/echo throughput ratio over the levels {:.2} (target >= {TARGET_RATIO:.2}: {})",
            worst,
            if worst >= TARGET_RATIO { "met" } else { "MISSED" }
        );
    }
    servers.block_on(telemetry.shutdown());
    echo_stop.cancel();
    machine::print_end();
    Ok(())
}

/// Warms the echo up, then returns a measurer of one slice of load. Call
/// `i` goes as `senders[i % len]` sends, as central's calls do.
fn echo_measurer<'a>(
    clients: &'a Runtime,
    echo: &Echo,
    senders: &[String],
    warmup: Load,
    bodies: EchoBodies,
    reply_len: u32,
) -> anyhow::Result<impl FnMut(Load) -> LoadResult + 'a> {
    let _context = clients.enter();
    let dialled = Senders::dial(
        &echo.endpoint,
        echo.setting,
        &echo.certs,
        senders.iter().cloned(),
    )?;
    let by_sender: Arc<Vec<EchoClient<Channel>>> = Arc::new(
        senders
            .iter()
            .map(|s| EchoClient::new(dialled.channel(s)))
            .collect(),
    );
    let call = move |i: u64| {
        let sender = i as usize % by_sender.len();
        let mut echo = by_sender[sender].clone();
        let m = EchoRequest {
            body: bodies(sender),
            reply_len,
        };
        async move {
            echo.echo(client::request(m))
                .await
                .map(drop)
                .map_err(|s| s.to_string())
        }
    };
    // Every connection made before the clock runs, as central's were at
    // registration: a handshake is not what either side is measured on.
    let connect = Load {
        concurrency: 32,
        duration: Duration::from_secs(600),
        max_calls: senders.len() as u64,
    };
    clients.block_on(load::run(connect, call.clone()));
    clients.block_on(load::run(warmup, call.clone()));
    Ok(move |slice| clients.block_on(load::run(slice, call.clone())))
}

/// Over TLS each city holds a connection to central and one to the echo,
/// both ends in this process: four descriptors a city.
fn check_fd_budget(args: &Args) -> anyhow::Result<()> {
    let limit = procs::raise_fd_limit() as usize;
    let needed = 4 * args.request_cities.max(args.report_cases) + 1_000;
    if needed > limit {
        anyhow::bail!(
            "--tls with --request-cities {} needs about {needed} open files, the limit is {limit}: \
             lower --request-cities",
            args.request_cities
        );
    }
    Ok(())
}

fn loads(args: &Args, level: usize) -> (Load, Load) {
    let load = Load {
        concurrency: level,
        duration: Duration::from_secs_f64(args.seconds),
        max_calls: u64::MAX,
    };
    let warmup = Load {
        duration: Duration::from_secs_f64(args.warmup_seconds),
        ..load
    };
    (load, warmup)
}

/// A fresh central per level: each city can ask once, and central's cost
/// per request grows with the cases it holds.
fn bench_requests(
    args: &Args,
    servers: &Runtime,
    clients: &Runtime,
    echo: &Echo,
) -> anyhow::Result<f64> {
    let mut worst = f64::INFINITY;
    let mut header_printed = false;
    let cities: Vec<String> = (0..args.request_cities).map(city_id).collect();
    for &level in &args.levels {
        let rig = servers.block_on(Rig::start(RigOptions {
            cities: args.request_cities,
            provinces: PROVINCES,
            decision_window_days: 30.0,
            setting: args.setting(),
            certs: Some(echo.certs.clone()),
            callers: Some(clients.handle().clone()),
        }))?;
        let messages = rig.messages.clone();
        let sample_reply = AssistanceRequestAck {
            case_id: "case-gen-city-00000-1".into(),
            duplicate: false,
        };
        let (request_bytes, reply_bytes) = (
            messages.request(0).encoded_len(),
            sample_reply.encoded_len(),
        );
        let reply_len = echo_reply_body(reply_bytes) as u32;
        if !header_printed {
            print_header("request (AssistanceRequest)", request_bytes, reply_bytes);
            header_printed = true;
        }
        let (mut load, mut warmup) = loads(args, level);
        let warmup_calls = (args.request_cities / 10) as u64;
        warmup.max_calls = warmup_calls;
        load.max_calls = args.request_cities as u64 - warmup_calls;
        let by_city: Arc<Vec<_>> =
            Arc::new(cities.iter().map(|c| rig.senders.central(c)).collect());
        let call = |offset: u64| {
            let by_city = by_city.clone();
            let messages: Arc<Messages> = messages.clone();
            move |i: u64| {
                let city = (offset + i) as usize;
                let mut central = by_city[city].clone();
                let m = messages.request(city);
                async move {
                    central
                        .request_assistance(client::request(m))
                        .await
                        .map(drop)
                        .map_err(|s| s.to_string())
                }
            }
        };
        clients.block_on(load::run(warmup, call(0)));
        let mut offset = warmup_calls;
        let mut slices_left = args.slices.max(1) as u64;
        // The cities left are shared out over the slices left, so central
        // still takes its turn in every slice when it asks faster than the
        // cities last.
        let measure_central = |slice: Load| {
            let left = (args.request_cities as u64).saturating_sub(offset);
            let slice = Load {
                max_calls: left / slices_left,
                ..slice
            };
            slices_left = slices_left.saturating_sub(1).max(1);
            let result = clients.block_on(load::run(slice, call(offset)));
            offset += result.calls();
            result
        };
        let measure_echo = echo_measurer(
            clients,
            echo,
            &cities,
            loads(args, level).1,
            echo_bodies(args.echo_body, request_bytes, reply_len, {
                let messages = messages.clone();
                move |city| messages.request(city).encode_to_vec()
            }),
            reply_len,
        )?;
        let before = Totals::now();
        let (measured, echo) = load::alternate(load, args.slices, measure_central, measure_echo);
        servers.block_on(rig.stop());
        worst = worst.min(print_row(level, &measured, &echo));
        before.print_since(&measured);
        if measured.elapsed < load.duration.mul_f64(0.95) {
            println!(
                "          (central's share of the cities lasted {:.2} s of its {:.2} s: {} requests)",
                measured.elapsed.as_secs_f64(),
                load.duration.as_secs_f64(),
                measured.ok,
            );
        }
    }
    Ok(worst)
}

/// One central whose cases are paired and have shipments on record; the
/// reports then go round the cases.
fn bench_reports(
    args: &Args,
    path: &str,
    servers: &Runtime,
    clients: &Runtime,
    echo: &Echo,
) -> anyhow::Result<f64> {
    let cases = args.report_cases;
    let rig = servers.block_on(async {
        let rig = Rig::start(RigOptions {
            cities: cases,
            provinces: PROVINCES,
            // 0.0001 days is 60 ms at the crawl: paired right after setup.
            decision_window_days: 0.0001,
            setting: args.setting(),
            certs: Some(echo.certs.clone()),
            callers: Some(clients.handle().clone()),
        })
        .await?;
        rig.open_cases(cases).await?;
        rig.wait_paired(Duration::from_secs(30)).await?;
        // The shipments on record before any receipt arrives.
        for i in 0..cases {
            rig.senders
                .central(&rig.messages.donor(i))
                .submit_report(client::request(rig.messages.donor_report(i)))
                .await?;
        }
        anyhow::Ok(rig)
    })?;
    let messages = rig.messages.clone();
    let donor = path == "report";
    let senders: Vec<String> = (0..cases)
        .map(|i| match donor {
            true => messages.donor(i),
            false => messages.city(i),
        })
        .collect();
    let build = move |i: usize| {
        if donor {
            messages.donor_report(i)
        } else {
            messages.city_report(i)
        }
    };
    let request_bytes = build(0).encoded_len();
    let reply_bytes = Ack { duplicate: false }.encoded_len();
    print_header(
        if donor {
            "report (donor SupervisoryReport, 4 shipments)"
        } else {
            "receipt (city SupervisoryReport, 4 receipts)"
        },
        request_bytes,
        reply_bytes,
    );
    let by_case: Arc<Vec<_>> = Arc::new(senders.iter().map(|s| rig.senders.central(s)).collect());
    let build = Arc::new(build);
    let reply_len = echo_reply_body(reply_bytes) as u32;
    let echo_build = build.clone();
    let call = move |i: u64| {
        let mut central = by_case[i as usize % cases].clone();
        let m = build(i as usize % cases);
        async move {
            central
                .submit_report(client::request(m))
                .await
                .map(drop)
                .map_err(|s| s.to_string())
        }
    };
    let mut worst = f64::INFINITY;
    for &level in &args.levels {
        let (load, warmup) = loads(args, level);
        clients.block_on(load::run(warmup, call.clone()));
        let measure_central = |slice| clients.block_on(load::run(slice, call.clone()));
        let measure_echo = echo_measurer(
            clients,
            echo,
            &senders,
            warmup,
            echo_bodies(args.echo_body, request_bytes, reply_len, {
                let build = echo_build.clone();
                move |case| build(case).encode_to_vec()
            }),
            reply_len,
        )?;
        let before = Totals::now();
        let (measured, echo) = load::alternate(load, args.slices, measure_central, measure_echo);
        worst = worst.min(print_row(level, &measured, &echo));
        before.print_since(&measured);
    }
    servers.block_on(rig.stop());
    Ok(worst)
}
