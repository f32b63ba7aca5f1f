//! The rows of the scale benchmark: what one size measured, printed as a
//! table, passed between processes as JSON, and compared across sizes.

use crate::machine;

/// What one size measured; times from the launch.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub nodes: usize,
    pub cities: usize,
    /// Every node listening.
    pub started_s: Option<f64>,
    /// Every node registered: central started the clock.
    pub clock_s: Option<f64>,
    /// Every city's case paired.
    pub paired_s: Option<f64>,
    /// Every case closed (when the run waited for it).
    pub closed_s: Option<f64>,
    /// Central's peak RSS (processes), or the whole process's RSS growth
    /// (in-process).
    pub central_rss_mib: f64,
    /// Per node other than central (median over processes, or the
    /// process's growth over the nodes in-process).
    pub node_rss_mib: f64,
    pub note: String,
}

impl Row {
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "nodes": self.nodes, "cities": self.cities, "started_s": self.started_s,
            "clock_s": self.clock_s, "paired_s": self.paired_s, "closed_s": self.closed_s,
            "central_rss_mib": self.central_rss_mib, "node_rss_mib": self.node_rss_mib,
            "note": self.note,
        })
        .to_string()
    }

    pub fn from_json(text: &str) -> anyhow::Result<Row> {
        let v: serde_json::Value = serde_json::from_str(text)?;
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        Ok(Row {
            nodes: f("nodes").unwrap_or(0.0) as usize,
            cities: f("cities").unwrap_or(0.0) as usize,
            started_s: f("started_s"),
            clock_s: f("clock_s"),
            paired_s: f("paired_s"),
            closed_s: f("closed_s"),
            central_rss_mib: f("central_rss_mib").unwrap_or(0.0),
            node_rss_mib: f("node_rss_mib").unwrap_or(0.0),
            note: v
                .get("note")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string(),
        })
    }
}

pub fn failed(nodes: usize, cities: usize, e: anyhow::Error) -> Row {
    Row {
        nodes,
        cities,
        started_s: None,
        clock_s: None,
        paired_s: None,
        closed_s: None,
        central_rss_mib: 0.0,
        node_rss_mib: 0.0,
        note: format!("FAILED: {e:#}"),
    }
}

fn header() {
    println!(
        "{:>6} | {:>6} | {:>10} | {:>10} | {:>10} | {:>10} | {:>15} | {:>13} | {:>14} | note",
        "nodes",
        "cities",
        "started s",
        "clock s",
        "paired s",
        "closed s",
        "central|all MiB",
        "per-node MiB",
        "load avg"
    );
}

pub fn print_row(r: &Row) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(header);
    let t = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    println!(
        "{:>6} | {:>6} | {:>10} | {:>10} | {:>10} | {:>10} | {:>15.1} | {:>13.2} | {:>14} | {}",
        r.nodes,
        r.cities,
        t(r.started_s),
        t(r.clock_s),
        t(r.paired_s),
        t(r.closed_s),
        r.central_rss_mib,
        r.node_rss_mib,
        machine::load_average(),
        r.note
    );
}

/// Each figure of the largest size over the smallest's, beside the growth
/// in nodes: 1.0 per node-fold is linear.
pub fn print_growth(rows: &[Row]) {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.paired_s.is_some()).collect();
    let (Some(small), Some(large)) = (ok.first(), ok.last()) else {
        return;
    };
    if small.nodes == large.nodes {
        return;
    }
    let nodes = large.nodes as f64 / small.nodes as f64;
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.2}", b / a),
        _ => "-".into(),
    };
    println!(
        "growth from {} to {} nodes (x{nodes:.2}): started x{}, clock x{}, paired x{}, central RSS x{}, per-node RSS x{}",
        small.nodes,
        large.nodes,
        ratio(small.started_s, large.started_s),
        ratio(small.clock_s, large.clock_s),
        ratio(small.paired_s, large.paired_s),
        ratio(Some(small.central_rss_mib), Some(large.central_rss_mib)),
        ratio(Some(small.node_rss_mib), Some(large.node_rss_mib)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_survives_the_trip_between_processes() {
        let row = Row {
            nodes: 500,
            cities: 465,
            started_s: Some(0.5),
            clock_s: None,
            paired_s: Some(2.5),
            closed_s: Some(40.25),
            central_rss_mib: 115.5,
            node_rss_mib: 0.25,
            note: "in-process".into(),
        };
        assert_eq!(Row::from_json(&row.to_json()).unwrap(), row);
    }
}
