//! The run report: central's JSON plus what only the launcher knows (the
//! processes it started, the wall time), and the summary printed at the end
//! of a run. Plain functions over `serde_json::Value`, no I/O.
//!
//! Central owns the report's schema (README, "Report"); pairctl reads only
//! the keys its summary needs and passes everything else through untouched.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{json, Map, Value};

use crate::table::{thousands, Align, Table};

/// A node process the launcher started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedNode {
    pub id: String,
    /// "central", "province" or "city".
    pub role: String,
    pub pid: u32,
    pub addr: SocketAddr,
}

#[cfg(test)]
impl LaunchedNode {
    /// A test's node: `pid`, listening on 127.0.0.1:`port`.
    pub(crate) fn on_loopback(id: &str, role: &str, pid: u32, port: u16) -> Self {
        LaunchedNode {
            id: id.into(),
            role: role.into(),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

/// Parses central's `RunReport.json`, which must be a JSON object.
pub fn parse_report(json: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("central's report is not JSON: {e}"))?;
    if !value.is_object() {
        return Err("central's report is not a JSON object".into());
    }
    Ok(value)
}

/// Adds `nodes` ([{id, role, pid, addr}]) and `wall_time_ms` to central's
/// report. Keys central set itself are replaced: the launcher is the one
/// that knows these facts.
pub fn merge_launch_facts(
    report: Value,
    nodes: &[LaunchedNode],
    wall_time_ms: u64,
) -> Result<Value, String> {
    let Value::Object(mut object) = report else {
        return Err("central's report is not a JSON object".into());
    };
    let nodes: Vec<Value> = nodes
        .iter()
        .map(|n| json!({"id": n.id, "role": n.role, "pid": n.pid, "addr": n.addr.to_string()}))
        .collect();
    object.insert("nodes".into(), Value::Array(nodes));
    object.insert("wall_time_ms".into(), json!(wall_time_ms));
    Ok(Value::Object(object))
}

/// The lines that name the run's story, printed at the end of a run:
/// `digest sha256:…` (when the report has its digest), then the seed and
/// the clock when the report has them: `seed 42 · clock lockstep
/// (60-minute steps)`. Empty when the report has none of the three.
pub fn render_identity(report: &Value) -> String {
    let mut out = String::new();
    if let Some(digest) = report.get("digest").and_then(Value::as_str) {
        out.push_str(&format!("digest {digest}\n"));
    }
    let seed = report
        .get("seed")
        .filter(|s| !s.is_null())
        .map(|s| match s {
            Value::String(s) => format!("seed {s}"),
            s => format!("seed {s}"),
        });
    let clock = report.get("clock").and_then(describe_clock);
    let parts: Vec<String> = seed.into_iter().chain(clock).collect();
    if !parts.is_empty() {
        out.push_str(&parts.join(" · "));
        out.push('\n');
    }
    out
}

/// `clock lockstep (60-minute steps)`, `clock wall (50 ms a day)`, or
/// `clock MODE` for a clock without those figures; `None` without a mode.
fn describe_clock(clock: &Value) -> Option<String> {
    let mode = clock.get("mode")?.as_str()?;
    let figure = |key: &str| clock.get(key).and_then(Value::as_u64).filter(|n| *n > 0);
    let detail = match mode {
        "lockstep" => figure("step_minutes").map(|m| format!("{m}-minute steps")),
        "wall" => figure("day_ms").map(|ms| format!("{ms} ms a day")),
        _ => None,
    };
    Some(match detail {
        Some(detail) => format!("clock {mode} ({detail})"),
        None => format!("clock {mode}"),
    })
}

/// What a run achieved, read from the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub cases_closed: usize,
    pub cases_rejected: usize,
    /// Cases neither closed nor rejected (any other status counts here).
    pub cases_open: usize,
    /// Earliest and latest `closed_at`, scenario time "YYYY-MM-DD HH:MM".
    pub first_closure: Option<String>,
    pub last_closure: Option<String>,
    /// Totals over every case, per resource type.
    pub shipped_by_type: BTreeMap<String, i64>,
    pub received_by_type: BTreeMap<String, i64>,
    pub messages_by_kind: BTreeMap<String, u64>,
    pub wall_time_ms: Option<u64>,
}

impl RunSummary {
    /// Reads the summary off a report; fails only when `cases` is not a list
    /// of objects, since then nothing can be said about the run.
    pub fn from_report(report: &Value) -> Result<Self, String> {
        let cases = report
            .get("cases")
            .and_then(Value::as_array)
            .ok_or("the report has no `cases` list")?;
        let mut summary = RunSummary {
            wall_time_ms: report.get("wall_time_ms").and_then(Value::as_u64),
            messages_by_kind: counts(report.get("messages")),
            ..RunSummary::default()
        };
        for (i, case) in cases.iter().enumerate() {
            let case = case
                .as_object()
                .ok_or_else(|| format!("cases[{i}] is not an object"))?;
            summary.add_case(case);
        }
        Ok(summary)
    }

    fn add_case(&mut self, case: &Map<String, Value>) {
        match case.get("status").and_then(Value::as_str) {
            Some("closed") => self.cases_closed += 1,
            Some("rejected") => self.cases_rejected += 1,
            _ => self.cases_open += 1,
        }
        if let Some(at) = case.get("closed_at").and_then(Value::as_str) {
            // "YYYY-MM-DD HH:MM" sorts as text in time order.
            if self.first_closure.as_deref().is_none_or(|first| at < first) {
                self.first_closure = Some(at.to_string());
            }
            if self.last_closure.as_deref().is_none_or(|last| at > last) {
                self.last_closure = Some(at.to_string());
            }
        }
        add_quantities(&mut self.shipped_by_type, case.get("shipped"));
        add_quantities(&mut self.received_by_type, case.get("received"));
    }

    pub fn cases_total(&self) -> usize {
        self.cases_closed + self.cases_rejected + self.cases_open
    }

    /// The run succeeded: every case was closed or rejected.
    pub fn all_cases_settled(&self) -> bool {
        self.cases_open == 0
    }

    pub fn messages_total(&self) -> u64 {
        self.messages_by_kind.values().sum()
    }

    /// The summary as the operator reads it.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Cases: {} closed, {} rejected, {} open ({} in all)\n",
            self.cases_closed,
            self.cases_rejected,
            self.cases_open,
            self.cases_total()
        );
        match (&self.first_closure, &self.last_closure) {
            (Some(first), Some(last)) => {
                out.push_str(&format!("Closures: first {first}, last {last}\n"))
            }
            _ => out.push_str("Closures: none\n"),
        }
        out.push('\n');
        out.push_str(&self.resources_table().render());
        out.push('\n');
        out.push_str(&self.messages_table().render());
        if let Some(ms) = self.wall_time_ms {
            out.push_str(&format!("\nWall time: {:.1} s\n", ms as f64 / 1000.0));
        }
        out
    }

    fn resources_table(&self) -> Table {
        let mut table = Table::new(&[
            ("resource", Align::Left),
            ("shipped", Align::Right),
            ("received", Align::Right),
        ]);
        let types: std::collections::BTreeSet<&String> = self
            .shipped_by_type
            .keys()
            .chain(self.received_by_type.keys())
            .collect();
        for t in types {
            let of = |m: &BTreeMap<String, i64>| thousands(m.get(t).copied().unwrap_or(0));
            table.row([
                t.clone(),
                of(&self.shipped_by_type),
                of(&self.received_by_type),
            ]);
        }
        table
    }

    fn messages_table(&self) -> Table {
        let mut table = Table::new(&[("message", Align::Left), ("count", Align::Right)]);
        for (kind, n) in &self.messages_by_kind {
            table.row([kind.clone(), thousands(*n as i64)]);
        }
        table.row(["total".to_string(), thousands(self.messages_total() as i64)]);
        table
    }
}

/// Adds a map of resource type -> quantity to `total`; a missing or null
/// map (a rejected case shipped nothing) adds nothing.
fn add_quantities(total: &mut BTreeMap<String, i64>, map: Option<&Value>) {
    let Some(map) = map.and_then(Value::as_object) else {
        return;
    };
    for (t, q) in map {
        if let Some(q) = q.as_i64() {
            *total.entry(t.clone()).or_insert(0) += q;
        }
    }
}

fn counts(map: Option<&Value>) -> BTreeMap<String, u64> {
    map.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "scenario": "small",
            "mode": "historical",
            "day_ms": 50,
            "start_date": "2020-02-07",
            "finished_at": "2020-03-20 00:00",
            "pairings": [{"city": "huangshi", "provinces": ["jiangsu"], "mode": "historical"}],
            "cases": [
                {"case_id": "case-huangshi-1", "city": "huangshi", "status": "closed",
                 "closed_at": "2020-03-10 06:00",
                 "shipped": {"personnel/doctor": 100, "material/mask_n95": 1000},
                 "received": {"personnel/doctor": 100, "material/mask_n95": 990}},
                {"case_id": "case-ezhou-1", "city": "ezhou", "status": "closed",
                 "closed_at": "2020-02-28 18:00",
                 "shipped": {"personnel/doctor": 20}, "received": {"personnel/doctor": 20}},
                {"case_id": "case-xiaogan-1", "city": "xiaogan", "status": "rejected",
                 "closed_at": null, "shipped": null, "received": {}},
                {"case_id": "case-xiaogan-2", "city": "xiaogan", "status": "open",
                 "closed_at": null, "shipped": {"funds/cny": 5}, "received": {}}
            ],
            "ledger": [],
            "costs": {},
            "messages": {"Shipment": 7, "Receipt": 6, "AssistanceRequest": 4}
        })
    }

    fn node(id: &str, role: &str, pid: u32, port: u16) -> LaunchedNode {
        LaunchedNode::on_loopback(id, role, pid, port)
    }

    #[test]
    fn merge_adds_nodes_and_wall_time_and_keeps_the_rest() {
        let nodes = [
            node("central", "central", 10, 5000),
            node("jiangsu", "province", 11, 5001),
        ];
        let merged = merge_launch_facts(sample(), &nodes, 1234).unwrap();
        assert_eq!(merged["wall_time_ms"], 1234);
        assert_eq!(merged["nodes"][1]["id"], "jiangsu");
        assert_eq!(merged["nodes"][1]["role"], "province");
        assert_eq!(merged["nodes"][1]["pid"], 11);
        assert_eq!(merged["nodes"][1]["addr"], "127.0.0.1:5001");
        assert_eq!(merged["cases"], sample()["cases"]);
        assert_eq!(merged["scenario"], "small");
    }

    #[test]
    fn merge_replaces_launch_facts_central_may_have_set() {
        let mut report = sample();
        report["wall_time_ms"] = json!(1);
        report["nodes"] = json!("stale");
        let merged = merge_launch_facts(report, &[], 99).unwrap();
        assert_eq!(merged["wall_time_ms"], 99);
        assert_eq!(merged["nodes"], json!([]));
    }

    #[test]
    fn merge_refuses_a_report_that_is_not_an_object() {
        assert!(merge_launch_facts(json!([1, 2]), &[], 0).is_err());
        assert!(parse_report("[1]").is_err());
        assert!(parse_report("{not json").is_err());
        assert!(parse_report(&sample().to_string()).is_ok());
    }

    #[test]
    fn summary_counts_cases_by_status() {
        let s = RunSummary::from_report(&sample()).unwrap();
        assert_eq!((s.cases_closed, s.cases_rejected, s.cases_open), (2, 1, 1));
        assert_eq!(s.cases_total(), 4);
        assert!(!s.all_cases_settled());
    }

    #[test]
    fn summary_finds_first_and_last_closure() {
        let s = RunSummary::from_report(&sample()).unwrap();
        assert_eq!(s.first_closure.as_deref(), Some("2020-02-28 18:00"));
        assert_eq!(s.last_closure.as_deref(), Some("2020-03-10 06:00"));
    }

    #[test]
    fn summary_totals_shipped_and_received_per_type() {
        let s = RunSummary::from_report(&sample()).unwrap();
        assert_eq!(s.shipped_by_type["personnel/doctor"], 120);
        assert_eq!(s.shipped_by_type["material/mask_n95"], 1000);
        assert_eq!(s.received_by_type["material/mask_n95"], 990);
        assert_eq!(s.shipped_by_type["funds/cny"], 5);
        assert!(!s.received_by_type.contains_key("funds/cny"));
    }

    #[test]
    fn summary_counts_messages() {
        let s = RunSummary::from_report(&sample()).unwrap();
        assert_eq!(s.messages_by_kind["Shipment"], 7);
        assert_eq!(s.messages_total(), 17);
    }

    #[test]
    fn a_run_with_every_case_closed_or_rejected_is_settled() {
        let mut report = sample();
        report["cases"].as_array_mut().unwrap().pop();
        let s = RunSummary::from_report(&report).unwrap();
        assert!(s.all_cases_settled());
    }

    #[test]
    fn a_report_without_cases_is_refused() {
        assert!(RunSummary::from_report(&json!({"messages": {}})).is_err());
        assert!(RunSummary::from_report(&json!({"cases": [3]})).is_err());
    }

    #[test]
    fn identity_names_digest_seed_and_clock() {
        let mut report = sample();
        assert_eq!(render_identity(&report), "");
        report["digest"] = json!("sha256:abc");
        assert_eq!(render_identity(&report), "digest sha256:abc\n");
        report["seed"] = json!(42);
        report["clock"] = json!({"mode": "lockstep", "step_minutes": 60, "day_ms": 0});
        assert_eq!(
            render_identity(&report),
            "digest sha256:abc\nseed 42 · clock lockstep (60-minute steps)\n"
        );
        report["clock"] = json!({"mode": "wall", "day_ms": 50});
        assert!(render_identity(&report).ends_with("seed 42 · clock wall (50 ms a day)\n"));
        report["seed"] = Value::Null;
        report["clock"] = json!({"mode": "lockstep"});
        assert!(render_identity(&report).ends_with("\nclock lockstep\n"));
    }

    #[test]
    fn render_shows_every_figure() {
        let merged = merge_launch_facts(sample(), &[], 45_250).unwrap();
        let text = RunSummary::from_report(&merged).unwrap().render();
        assert!(
            text.contains("Cases: 2 closed, 1 rejected, 1 open (4 in all)"),
            "{text}"
        );
        assert!(
            text.contains("first 2020-02-28 18:00, last 2020-03-10 06:00"),
            "{text}"
        );
        assert!(
            text.contains("material/mask_n95    1,000       990"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("total") && l.ends_with("17")),
            "{text}"
        );
        assert!(text.contains("Wall time: 45.2 s"), "{text}");
    }
}
