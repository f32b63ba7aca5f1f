//! Reconciliation (`pairctl ledger --reconcile`, and the fault suites'
//! conservation check): every unit a donor shipped is accounted for exactly
//! once.
//!
//! Checked on three independent records: central's ledger (built from both
//! sides' reports), each province's own books (what it shipped, what the
//! city confirmed) and each city's own books (what arrived). Per case, pair
//! and resource type:
//! - shipped (province) = received + discrepancy (city) + in transit;
//! - at quiescence nothing is in transit;
//! - central's ledger says what the nodes' books say, line for line;
//! - the city counted as many shipments as the province sent (none twice).

use std::collections::BTreeMap;

use pairing_proto::v1::{BookLine, Books, Ledger};

/// (case, city, province, resource type)
type Key = (String, String, String, String);

fn key(case_id: &str, city_id: &str, province_id: &str, resource_type: &str) -> Key {
    (
        case_id.to_string(),
        city_id.to_string(),
        province_id.to_string(),
        resource_type.to_string(),
    )
}

fn book_key(line: &BookLine) -> Key {
    key(
        &line.case_id,
        &line.city_id,
        &line.province_id,
        &line.resource_type,
    )
}

/// The totals the check compares, per key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub shipped: i64,
    pub received: i64,
    pub discrepancy: i64,
    pub shipments: u32,
}

/// Sums the books of every province (`shipped`) or every city (`received`).
pub fn flows<'a>(books: impl IntoIterator<Item = &'a Books>) -> BTreeMap<Key, Flow> {
    let mut flows: BTreeMap<Key, Flow> = BTreeMap::new();
    for line in books.into_iter().flat_map(|b| &b.lines) {
        let flow = flows.entry(book_key(line)).or_default();
        flow.shipped += line.shipped;
        flow.received += line.received;
        flow.discrepancy += line.discrepancy;
        flow.shipments += line.shipments;
    }
    flows
}

/// Totals of a conservation check, for a suite's report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub shipped: i64,
    pub received: i64,
    pub discrepancy: i64,
    pub in_transit: i64,
    /// Units a city counted beyond what was shipped to it.
    pub duplicated: i64,
    /// Units shipped that no city counted and none is in transit.
    pub lost: i64,
}

/// Every violation of conservation, and the totals. `quiescent`: the run
/// is over, so nothing may be in transit.
pub fn check(
    ledger: &Ledger,
    province_books: &[Books],
    city_books: &[Books],
    quiescent: bool,
) -> (Vec<String>, Totals) {
    let shipped = flows(province_books);
    let received = flows(city_books);
    let central: BTreeMap<Key, _> = ledger
        .lines
        .iter()
        .map(|l| {
            (
                key(&l.case_id, &l.city_id, &l.province_id, &l.resource_type),
                l,
            )
        })
        .collect();
    let mut keys: Vec<&Key> = shipped.keys().chain(received.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut violations = Vec::new();
    let mut totals = Totals::default();
    for k in keys {
        let out = shipped.get(k).copied().unwrap_or_default();
        let arrived = received.get(k).copied().unwrap_or_default();
        let accounted = arrived.received + arrived.discrepancy;
        let in_transit = out.shipped - accounted;
        let what = format!("{}: {} -> {} {}", k.0, k.2, k.1, k.3);
        totals.shipped += out.shipped;
        totals.received += arrived.received;
        totals.discrepancy += arrived.discrepancy;
        if in_transit < 0 {
            totals.duplicated += -in_transit;
            violations.push(format!(
                "{what}: city accounts for {accounted}, province shipped only {}",
                out.shipped
            ));
        } else if in_transit > 0 {
            totals.in_transit += in_transit;
            if quiescent {
                totals.lost += in_transit;
                violations.push(format!("{what}: {in_transit} shipped, never received"));
            }
        }
        if quiescent && arrived.shipments != out.shipments {
            violations.push(format!(
                "{what}: province sent {} shipments, city counted {}",
                out.shipments, arrived.shipments
            ));
        }
        if quiescent && (out.received, out.discrepancy) != (arrived.received, arrived.discrepancy) {
            violations.push(format!(
                "{what}: province holds receipts for {} (+{} short), city received {} (+{} short)",
                out.received, out.discrepancy, arrived.received, arrived.discrepancy
            ));
        }
        match central.get(k) {
            None => violations.push(format!("{what}: not in central's ledger")),
            Some(line) if quiescent => {
                let books = (out.shipped, arrived.received, arrived.discrepancy);
                let ledger = (line.shipped, line.received, line.discrepancy);
                if books != ledger {
                    violations.push(format!(
                        "{what}: books say shipped/received/short {books:?}, central's ledger {ledger:?}"
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for (k, line) in &central {
        let moved = shipped.contains_key(k) || received.contains_key(k);
        if !moved && (line.shipped != 0 || line.received != 0) {
            violations.push(format!(
                "{}: {} -> {} {}: central's ledger has goods no node's books show",
                k.0, k.2, k.1, k.3
            ));
        }
    }
    (violations, totals)
}

/// One row of the reconciliation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub case_id: String,
    pub city_id: String,
    pub province_id: String,
    pub resource_type: String,
    /// Central's target for the pair (what the donor committed to).
    pub committed: i64,
    /// From the province's books.
    pub shipped: i64,
    /// From the city's books.
    pub received: i64,
    pub discrepancy: i64,
    pub in_transit: i64,
    /// What central's ledger says was shipped and received.
    pub central_shipped: i64,
    pub central_received: i64,
}

impl Row {
    /// Whether the three records disagree.
    pub fn differs(&self) -> bool {
        self.in_transit < 0
            || self.central_shipped != self.shipped
            || self.central_received != self.received
    }
}

/// Per case, pair and type: central's ledger beside the nodes' books.
pub fn rows(ledger: &Ledger, province_books: &[Books], city_books: &[Books]) -> Vec<Row> {
    let shipped = flows(province_books);
    let received = flows(city_books);
    let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
    let blank = |k: &Key| Row {
        case_id: k.0.clone(),
        city_id: k.1.clone(),
        province_id: k.2.clone(),
        resource_type: k.3.clone(),
        committed: 0,
        shipped: 0,
        received: 0,
        discrepancy: 0,
        in_transit: 0,
        central_shipped: 0,
        central_received: 0,
    };
    for l in &ledger.lines {
        let k = key(&l.case_id, &l.city_id, &l.province_id, &l.resource_type);
        let row = rows.entry(k.clone()).or_insert_with(|| blank(&k));
        row.committed = l.target;
        row.central_shipped = l.shipped;
        row.central_received = l.received;
    }
    for (k, flow) in &shipped {
        rows.entry(k.clone()).or_insert_with(|| blank(k)).shipped = flow.shipped;
    }
    for (k, flow) in &received {
        let row = rows.entry(k.clone()).or_insert_with(|| blank(k));
        row.received = flow.received;
        row.discrepancy = flow.discrepancy;
    }
    for row in rows.values_mut() {
        row.in_transit = row.shipped - row.received - row.discrepancy;
    }
    rows.into_values().collect()
}

/// The rows as a terminal table; differing rows are marked `!`.
pub fn render(rows: &[Row]) -> String {
    use crate::table::{thousands, Align, Table};
    let mut table = Table::new(&[
        ("case", Align::Left),
        ("city", Align::Left),
        ("province", Align::Left),
        ("resource", Align::Left),
        ("committed", Align::Right),
        ("shipped", Align::Right),
        ("received", Align::Right),
        ("short", Align::Right),
        ("in transit", Align::Right),
        ("central shipped", Align::Right),
        ("central received", Align::Right),
        ("", Align::Left),
    ]);
    for r in rows {
        table.row([
            r.case_id.clone(),
            r.city_id.clone(),
            r.province_id.clone(),
            r.resource_type.clone(),
            thousands(r.committed),
            thousands(r.shipped),
            thousands(r.received),
            thousands(r.discrepancy),
            thousands(r.in_transit),
            thousands(r.central_shipped),
            thousands(r.central_received),
            if r.differs() { "!" } else { "" }.to_string(),
        ]);
    }
    let differing = rows.iter().filter(|r| r.differs()).count();
    let mut out = if table.is_empty() {
        "Nothing has been shipped yet.\n".to_string()
    } else {
        table.render()
    };
    out.push_str(&format!(
        "\n{} lines; {differing} where the nodes' books and central's ledger differ (!)\n",
        rows.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::LedgerLine;

    fn line(shipped: i64, received: i64, discrepancy: i64) -> BookLine {
        BookLine {
            case_id: "c".into(),
            city_id: "huangshi".into(),
            province_id: "jiangsu".into(),
            resource_type: "personnel/doctor".into(),
            shipped,
            received,
            discrepancy,
            shipments: 1,
        }
    }

    fn books(l: BookLine) -> Vec<Books> {
        vec![Books {
            node_id: "n".into(),
            lines: vec![l],
        }]
    }

    fn ledger(shipped: i64, received: i64) -> Ledger {
        Ledger {
            lines: vec![LedgerLine {
                case_id: "c".into(),
                city_id: "huangshi".into(),
                province_id: "jiangsu".into(),
                resource_type: "personnel/doctor".into(),
                shipped,
                received,
                ..Default::default()
            }],
            costs: vec![],
        }
    }

    #[test]
    fn balanced_books_pass() {
        let (v, t) = check(
            &ledger(10, 10),
            &books(line(10, 10, 0)),
            &books(line(0, 10, 0)),
            true,
        );
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(
            (t.shipped, t.received, t.lost, t.duplicated),
            (10, 10, 0, 0)
        );
    }

    #[test]
    fn a_unit_counted_twice_or_never_is_a_violation() {
        let (v, t) = check(
            &ledger(10, 12),
            &books(line(10, 10, 0)),
            &books(line(0, 12, 0)),
            true,
        );
        assert_eq!(t.duplicated, 2);
        assert!(v.iter().any(|m| m.contains("shipped only 10")), "{v:?}");
        let (v, t) = check(
            &ledger(10, 7),
            &books(line(10, 7, 0)),
            &books(line(0, 7, 0)),
            true,
        );
        assert_eq!(t.lost, 3);
        assert!(v.iter().any(|m| m.contains("never received")), "{v:?}");
    }

    #[test]
    fn in_transit_is_allowed_until_quiescence() {
        let (v, t) = check(
            &ledger(10, 4),
            &books(line(10, 4, 0)),
            &books(line(0, 4, 0)),
            false,
        );
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(t.in_transit, 6);
    }

    #[test]
    fn the_table_marks_a_line_where_central_and_the_books_differ() {
        let rows = rows(
            &ledger(9, 10),
            &books(line(10, 10, 0)),
            &books(line(0, 10, 0)),
        );
        assert_eq!(rows.len(), 1);
        assert!(rows[0].differs());
        assert_eq!(
            (rows[0].shipped, rows[0].central_shipped, rows[0].in_transit),
            (10, 9, 0)
        );
        let text = render(&rows);
        assert!(
            text.contains("1 where the nodes' books and central's ledger differ"),
            "{text}"
        );
    }

    #[test]
    fn central_disagreeing_with_the_books_is_a_violation() {
        let (v, _) = check(
            &ledger(9, 10),
            &books(line(10, 10, 0)),
            &books(line(0, 10, 0)),
            true,
        );
        assert!(v.iter().any(|m| m.contains("central's ledger")), "{v:?}");
    }
}
