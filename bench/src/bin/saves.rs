//! What one save costs as central's state grows, before and after the
//! journal, side by side in one run.
//!
//! For each size a real `Authority` is built in memory from a generated
//! scenario (INVENTED figures, see scenario_gen): every node registered, a
//! case per city, and `REPORTS_PER_CASE` city reports per case of history.
//! Then, `--saves` times, one more city report is applied and saved:
//!
//! - **before** (the design up to 08cb88e): every record of the machine
//!   serialised and written as one row, `INSERT .. ON CONFLICT DO UPDATE`,
//!   in its own transaction: the whole state, however little changed.
//! - **after**: the records the report changed (`take_changes`: its case
//!   event, the case, the applied message id) appended to the journal in
//!   one transaction (`JournalStore::append`).
//!
//! Both on SQLite in WAL mode with the chosen `synchronous`, on the same
//! disk, alternating saves so load changes hit both. Prints median and p90
//! per save in microseconds and the state's size.
//!
//! `cargo run --release -p counterpart-bench --bin saves -- --cases 1000,10000,50000`

use std::sync::Arc;
use std::time::Instant;

use central::authority::{Authority, Now};
use clap::Parser;
use counterpart_bench::scenario_gen::{self, GenOptions};
use counterpart_bench::{machine, stats};
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::{self, Scenario};
use node_kit::durable::{Durability, JournalStore, Persistent};
use pairing_proto::v1::*;
use rusqlite::{params, Connection};

/// City reports per case before the measured saves: a few days of a run.
const REPORTS_PER_CASE: usize = 4;

#[derive(Parser)]
struct Args {
    /// State sizes, in cases (one per generated city).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
    cases: Vec<usize>,
    /// Measured saves per design and size.
    #[arg(long, default_value_t = 20)]
    saves: usize,
    #[arg(long, value_enum, default_value_t)]
    durability: Durability,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    machine::print_start("saves");
    println!(
        "durability {:?}; {} saves per design; sizes {:?} cases",
        args.durability, args.saves, args.cases
    );
    println!("| cases | state MB | records | before: median us | before: p90 us | after: median us | after: p90 us | ratio |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &cases in &args.cases {
        measure(cases, &args)?;
    }
    machine::print_end();
    Ok(())
}

fn measure(cases: usize, args: &Args) -> anyhow::Result<()> {
    let scenario = generated(cases)?;
    let (mut authority, case_ids) = with_history(&scenario);
    let dir =
        std::env::temp_dir().join(format!("counterpart-saves-{}-{cases}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut journal = JournalStore::open(
        &dir.join("after"),
        "central",
        &scenario.name,
        args.durability,
    )
    .map_err(anyhow::Error::msg)?;
    journal
        .append(&authority.take_changes().map_err(anyhow::Error::msg)?)
        .map_err(anyhow::Error::msg)?;
    journal.fold().map_err(anyhow::Error::msg)?;
    let whole = WholeStateRow::open(&dir.join("before"), args.durability)?;
    let records = authority.records().map_err(anyhow::Error::msg)?;
    let state_bytes: usize = records.iter().map(|(k, v)| k.id.len() + v.len()).sum();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for n in 0..args.saves {
        let case = &case_ids[n * 7919 % case_ids.len()];
        report(&mut authority, case, 1_000_000 + 2 * n);
        let started = Instant::now();
        let body = whole_state(&authority)?;
        whole.save(&body)?;
        before.push(started.elapsed());
        // The journal must not be handed the report the whole save wrote:
        // take those changes off, then time a report of its own.
        authority.take_changes().map_err(anyhow::Error::msg)?;
        report(&mut authority, case, 1_000_001 + 2 * n);
        let started = Instant::now();
        let changes = authority.take_changes().map_err(anyhow::Error::msg)?;
        journal.append(&changes).map_err(anyhow::Error::msg)?;
        // Its share of the folds, as before they left the commit.
        journal.fold_if_due().map_err(anyhow::Error::msg)?;
        after.push(started.elapsed());
    }
    let (before, after) = (stats::Latencies::new(before), stats::Latencies::new(after));
    println!(
        "| {cases} | {:.1} | {} | {} | {} | {} | {} | {:.0} |",
        state_bytes as f64 / 1e6,
        records.len(),
        before.quantile_us(0.5),
        before.quantile_us(0.9),
        after.quantile_us(0.5),
        after.quantile_us(0.9),
        before.quantile_us(0.5) as f64 / after.quantile_us(0.5).max(1) as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn generated(cities: usize) -> anyhow::Result<Arc<Scenario>> {
    let text = scenario_gen::generate(&GenOptions::new(cities, 31));
    let path = std::env::temp_dir().join(format!(
        "counterpart-saves-{}-{cities}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text)?;
    let scenario = scenario::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = std::fs::remove_file(&path);
    Ok(Arc::new(scenario))
}

fn now() -> Now {
    Now {
        scenario: ScenarioTime::from_days(1.0),
        unix_ms: 1_000_000,
    }
}

fn header(node: &str, n: usize) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: format!("{node}-{n}"),
        sender_id: node.into(),
        scenario_time_ms: 0,
    })
}

fn overwhelmed() -> Situation {
    Situation {
        confirmed_total: 20_000,
        active_cases: 18_000,
        severe: 3_000,
        critical: 900,
        beds: 100,
        local_doctors: 10,
        local_nurses: 20,
        ..Default::default()
    }
}

/// Every node registered, a case per city, and a few reports per case.
fn with_history(s: &Arc<Scenario>) -> (Authority, Vec<(String, String)>) {
    let mut a = Authority::new(
        s.clone(),
        86_400_000,
        None,
        counterpart_domain::clock::unix_now_ms(),
    );
    let nodes = s.provinces.iter().map(|p| (p.id.as_str(), Role::Province));
    for (id, role) in nodes.chain(s.cities.iter().map(|c| (c.id.as_str(), Role::City))) {
        let register = RegisterNode {
            header: header(id, 0),
            role: role as i32,
            endpoint: "http://127.0.0.1:9".into(),
            ..Default::default()
        };
        a.register(&register, now()).expect("registers");
    }
    let mut cases = Vec::new();
    for city in &s.cities {
        let request = AssistanceRequest {
            header: header(&city.id, 1),
            situation: Some(overwhelmed()),
            needs: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: 400,
            }],
        };
        let ack = a.request_assistance(&request, now()).expect("request");
        cases.push((city.id.clone(), ack.case_id));
    }
    for n in 0..REPORTS_PER_CASE {
        for case in &cases {
            report(&mut a, case, 10 + n);
        }
    }
    (a, cases)
}

fn report(a: &mut Authority, (city, case_id): &(String, String), n: usize) {
    let report = SupervisoryReport {
        header: header(city, n),
        case_id: case_id.clone(),
        situation: Some(overwhelmed()),
        ..Default::default()
    };
    a.submit_report(&report, now()).expect("report applies");
}

/// The machine as the previous design wrote it: every record, one document.
fn whole_state(a: &Authority) -> anyhow::Result<Vec<u8>> {
    let records = a.records().map_err(anyhow::Error::msg)?;
    let document: Vec<(&str, &str, &[u8])> = records
        .iter()
        .map(|(k, v)| (k.kind.as_str(), k.id.as_str(), v.as_slice()))
        .collect();
    Ok(serde_json::to_vec(&document)?)
}

/// The previous design's store: one row holding the whole state.
struct WholeStateRow(Connection);

impl WholeStateRow {
    fn open(dir: &std::path::Path, durability: Durability) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let connection = Connection::open(dir.join("state.sqlite3"))?;
        let synchronous = durability.pragma();
        connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
             CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1),
                 saved_at_unix_ms INTEGER NOT NULL, saves INTEGER NOT NULL, body BLOB NOT NULL);"
        ))?;
        Ok(WholeStateRow(connection))
    }

    fn save(&self, body: &[u8]) -> anyhow::Result<()> {
        self.0.execute(
            "INSERT INTO state (id, saved_at_unix_ms, saves, body) VALUES (1, ?1, 1, ?2)
             ON CONFLICT (id) DO UPDATE SET saved_at_unix_ms = excluded.saved_at_unix_ms,
                 saves = saves + 1, body = excluded.body",
            params![counterpart_domain::clock::unix_now_ms(), body],
        )?;
        Ok(())
    }
}
