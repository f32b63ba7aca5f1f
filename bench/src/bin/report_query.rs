//! What central's run report costs as the number of cases grows: the
//! `GetReport` an operator asks for, and what every `WatchOperation`
//! stream (`pairctl up`'s dashboard) builds again each 250 ms.
//!
//! For each size, central runs in-process as the binary does (in memory,
//! plain TCP) with a generated scenario (INVENTED figures, see
//! scenario_gen) of that many cities: every case opened and paired, each
//! donor's report with its shipments and each city's with its receipts
//! sent, as in a run a few weeks in. Then `GetReport` and `GetStatus` are
//! timed, one after the other, `--queries` times each: median and
//! slowest, in milliseconds.
//!
//! `cargo run --release -p counterpart-bench --bin report_query -- --cases 1000,3000,10000`

use std::time::{Duration, Instant};

use clap::Parser;
use counterpart_bench::rig::{Rig, RigOptions};
use counterpart_bench::{machine, stats};
use node_kit::client;
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::{ReportQuery, StatusQuery};

/// Long enough for the quadratic report of the code before (about 20 s
/// at ten thousand cases, extrapolated from 1.8 s at three thousand).
const QUERY_DEADLINE: Duration = Duration::from_secs(300);

/// A province holds at most 256 assignments: one for every 100 cities
/// leaves room for the re-pairings.
const CITIES_PER_PROVINCE: usize = 100;

#[derive(Parser)]
struct Args {
    /// State sizes, in cases (one per generated city).
    #[arg(long, value_delimiter = ',', default_value = "1000,3000,10000")]
    cases: Vec<usize>,
    /// Timed queries of each kind per size.
    #[arg(long, default_value_t = 5)]
    queries: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_start("report_query");
    println!("| cases | GetReport median ms | GetReport max ms | report MB | GetStatus median ms | GetStatus max ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for &cases in &args.cases {
        runtime.block_on(measure(cases, args.queries))?;
    }
    machine::print_end();
    Ok(())
}

async fn measure(cases: usize, queries: usize) -> anyhow::Result<()> {
    let rig = Rig::start(RigOptions {
        cities: cases,
        provinces: cases.div_ceil(CITIES_PER_PROVINCE).max(34),
        // 0.0001 days is 60 ms at the rig's crawl: paired right after setup.
        decision_window_days: 0.0001,
        setting: Default::default(),
        certs: None,
        callers: None,
    })
    .await?;
    rig.open_cases(cases).await?;
    rig.wait_paired(Duration::from_secs(120)).await?;
    for i in 0..cases {
        let m = &rig.messages;
        rig.senders
            .central(&m.donor(i))
            .submit_report(client::request(m.donor_report(i)))
            .await?;
        rig.senders
            .central(&m.city(i))
            .submit_report(client::request(m.city_report(i)))
            .await?;
    }
    // An operator's channel that waits as long as the slowest report
    // measured (the rig's has the standard three seconds).
    let channel =
        client::Dialer::new(None).channel_with_deadline(&rig.central.endpoint(), QUERY_DEADLINE)?;
    let operator = CentralAuthorityClient::new(channel)
        .max_decoding_message_size(pairctl::central_client::MAX_REPLY_BYTES);
    let (mut report, mut status) = (Vec::new(), Vec::new());
    let mut report_bytes = 0;
    for _ in 0..queries {
        let started = Instant::now();
        let reply = operator
            .clone()
            .get_report(long_request(ReportQuery::default()))
            .await?;
        report.push(started.elapsed());
        report_bytes = prost::Message::encoded_len(reply.get_ref());
        let started = Instant::now();
        operator
            .clone()
            .get_status(long_request(StatusQuery {}))
            .await?;
        status.push(started.elapsed());
    }
    let ms = |l: &stats::Latencies, q: f64| l.quantile_us(q) as f64 / 1e3;
    let (report, status) = (stats::Latencies::new(report), stats::Latencies::new(status));
    println!(
        "| {cases} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        ms(&report, 0.5),
        ms(&report, 1.0),
        report_bytes as f64 / 1e6,
        ms(&status, 0.5),
        ms(&status, 1.0),
    );
    rig.stop().await;
    Ok(())
}

/// A query with a deadline long enough for the slowest report measured.
fn long_request<T>(message: T) -> tonic::Request<T> {
    client::request_with_deadline(message, QUERY_DEADLINE)
}
