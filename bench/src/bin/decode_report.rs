//! What decoding a city's report costs central, alone: the report the
//! receipt path of `hot_paths` sends (four receipts of five lines, a
//! discrepancy each, the counters' map), decoded from its bytes and
//! dropped, `--decodes` times a round. No server, no network: the part of
//! a call that BENCHMARKS.md table 1's profile put at a third of central's
//! server side before resource type names were decoded without an
//! allocation.
//!
//! Prints each round's mean per decode and the median of the rounds. For
//! an A/B, build it at each commit and run the two in turn under
//! `perf stat -e task-clock` (the rounds' times move with the machine).
//!
//! `cargo run --release -p counterpart-bench --bin decode_report -- --decodes 200000`

use std::time::Instant;

use clap::Parser;
use counterpart_bench::{machine, rig, scenario_gen};
use pairing_proto::v1::{MessageHeader, SupervisoryReport};
use prost::Message;

#[derive(Debug, Parser)]
struct Args {
    /// Decodes a round.
    #[arg(long, default_value_t = 200_000)]
    decodes: usize,
    /// Rounds, each timed on its own.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

fn main() {
    let args = Args::parse();
    machine::print_start("decode_report");
    let header = MessageHeader {
        message_id: "msg-city-0007-000123".into(),
        sender_id: scenario_gen::city_id(7),
        scenario_time_ms: 0,
    };
    let bytes = rig::city_report(header, 7, 3).encode_to_vec();
    println!(
        "a city's report of {} receipts: {} bytes",
        rig::SHIPMENTS_PER_REPORT,
        bytes.len()
    );
    let mut per_decode_ns: Vec<f64> = (0..args.rounds.max(1))
        .map(|round| {
            let started = Instant::now();
            let mut receipts = 0;
            for _ in 0..args.decodes {
                let report = SupervisoryReport::decode(&bytes[..]).expect("the report decodes");
                receipts += report.receipts.len();
            }
            assert_eq!(receipts, args.decodes * rig::SHIPMENTS_PER_REPORT);
            let ns = started.elapsed().as_nanos() as f64 / args.decodes.max(1) as f64;
            println!("round {round}: {ns:.0} ns a decode and drop");
            ns
        })
        .collect();
    per_decode_ns.sort_by(f64::total_cmp);
    println!(
        "median of {} rounds: {:.0} ns a decode and drop",
        per_decode_ns.len(),
        per_decode_ns[per_decode_ns.len() / 2]
    );
    machine::print_end();
}
