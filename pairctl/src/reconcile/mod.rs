//! Reconciliation (`pairctl ledger --reconcile`, the end of `pairctl up`,
//! and the suites' conservation check): every unit a donor shipped is
//! accounted for exactly once.
//!
//! Checked on three independent records: central's ledger (built from both
//! sides' reports), each province's own books (what it shipped, what the
//! city confirmed) and each city's own books (what arrived). Per case, pair
//! and resource type, the rules (each a [`Difference`]):
//! - a city never accounts for more than the province shipped
//!   ([`Difference::DoubleCounted`]);
//! - at quiescence nothing is in transit ([`Difference::Lost`]);
//! - at quiescence the city counted as many shipments as the province sent
//!   ([`Difference::ShipmentCount`]), and the province holds receipts for
//!   what the city received ([`Difference::ReceiptsDisagree`]);
//! - every line of the books is in central's ledger
//!   ([`Difference::NotInLedger`]) and, at quiescence, says what the books
//!   say ([`Difference::CentralDisagrees`]);
//! - central's ledger shows no goods that no node's books show
//!   ([`Difference::GoodsNoBooksShow`]).
//!
//! Before quiescence (a run still going) goods may be in transit and
//! central may not have heard of a receipt yet: only the rules that hold at
//! every moment apply.

mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use pairing_proto::v1::{BookLine, Books, Ledger};
use serde::Serialize;

pub use render::render;

/// (case, city, province, resource type)
type Key = (String, String, String, String);

fn book_key(line: &BookLine) -> Key {
    (
        line.case_id.clone(),
        line.city_id.clone(),
        line.province_id.clone(),
        line.resource_type.clone(),
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

/// One broken rule on one line (see the module's list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Difference {
    /// The city accounts for more than the province shipped.
    DoubleCounted { accounted: i64, shipped: i64 },
    /// Shipped, never received nor reported short, at quiescence.
    Lost { units: i64 },
    /// The city counted another number of shipments than the province sent.
    ShipmentCount { sent: u32, counted: u32 },
    /// The receipts the province holds are not what the city received.
    ReceiptsDisagree {
        province_received: i64,
        province_short: i64,
        city_received: i64,
        city_short: i64,
    },
    /// The books show goods on a line central's ledger does not have.
    NotInLedger,
    /// Central's (shipped, received, short) is not the books'.
    CentralDisagrees { books: [i64; 3], central: [i64; 3] },
    /// Central's ledger shows goods on a line no node's books have.
    GoodsNoBooksShow { shipped: i64, received: i64 },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::DoubleCounted { accounted, shipped } => write!(
                f,
                "city accounts for {accounted}, province shipped only {shipped}"
            ),
            Difference::Lost { units } => write!(f, "{units} shipped, never received"),
            Difference::ShipmentCount { sent, counted } => write!(
                f,
                "province sent {sent} shipments, city counted {counted}"
            ),
            Difference::ReceiptsDisagree {
                province_received,
                province_short,
                city_received,
                city_short,
            } => write!(
                f,
                "province holds receipts for {province_received} (+{province_short} short), city received {city_received} (+{city_short} short)"
            ),
            Difference::NotInLedger => write!(f, "not in central's ledger"),
            Difference::CentralDisagrees { books, central } => write!(
                f,
                "books say shipped/received/short {books:?}, central's ledger {central:?}"
            ),
            Difference::GoodsNoBooksShow { shipped, received } => write!(
                f,
                "central's ledger has goods no node's books show (shipped {shipped}, received {received})"
            ),
        }
    }
}

/// One line of the reconciliation: central's ledger beside the nodes'
/// books for one case, pair and resource type, and what disagrees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub case_id: String,
    pub city_id: String,
    pub province_id: String,
    pub resource_type: String,
    /// Central's target for the pair (what the donor committed to).
    pub committed: i64,
    /// From the province's books: what it shipped, in how many shipments,
    /// and the receipts the city sent it.
    pub shipped: i64,
    pub shipments_sent: u32,
    pub province_received: i64,
    pub province_short: i64,
    /// From the city's books.
    pub received: i64,
    pub discrepancy: i64,
    pub shipments_counted: u32,
    /// Shipped, neither received nor reported short.
    pub in_transit: i64,
    /// Central's ledger, if it has the line.
    pub in_ledger: bool,
    pub central_shipped: i64,
    pub central_received: i64,
    pub central_discrepancy: i64,
    pub differences: Vec<Difference>,
}

impl Row {
    /// Whether the records disagree on this line.
    pub fn differs(&self) -> bool {
        !self.differences.is_empty()
    }

    /// `case: province -> city type`, how a difference names its line.
    pub fn name(&self) -> String {
        format!(
            "{}: {} -> {} {}",
            self.case_id, self.province_id, self.city_id, self.resource_type
        )
    }

    fn blank(k: &Key) -> Row {
        Row {
            case_id: k.0.clone(),
            city_id: k.1.clone(),
            province_id: k.2.clone(),
            resource_type: k.3.clone(),
            committed: 0,
            shipped: 0,
            shipments_sent: 0,
            province_received: 0,
            province_short: 0,
            received: 0,
            discrepancy: 0,
            shipments_counted: 0,
            in_transit: 0,
            in_ledger: false,
            central_shipped: 0,
            central_received: 0,
            central_discrepancy: 0,
            differences: Vec::new(),
        }
    }

    /// Applies every rule to the line. `quiescent`: the run is over.
    fn judge(&mut self, quiescent: bool) {
        let accounted = self.received + self.discrepancy;
        self.in_transit = self.shipped - accounted;
        let in_books = self.shipments_sent > 0 || self.shipments_counted > 0;
        let mut found = Vec::new();
        if self.in_transit < 0 {
            found.push(Difference::DoubleCounted {
                accounted,
                shipped: self.shipped,
            });
        }
        if quiescent && self.in_transit > 0 {
            found.push(Difference::Lost {
                units: self.in_transit,
            });
        }
        if quiescent && self.shipments_sent != self.shipments_counted {
            found.push(Difference::ShipmentCount {
                sent: self.shipments_sent,
                counted: self.shipments_counted,
            });
        }
        let province = (self.province_received, self.province_short);
        if quiescent && province != (self.received, self.discrepancy) {
            found.push(Difference::ReceiptsDisagree {
                province_received: province.0,
                province_short: province.1,
                city_received: self.received,
                city_short: self.discrepancy,
            });
        }
        let central = [
            self.central_shipped,
            self.central_received,
            self.central_discrepancy,
        ];
        if in_books && !self.in_ledger {
            found.push(Difference::NotInLedger);
        } else if !in_books && (central[0] != 0 || central[1] != 0) {
            found.push(Difference::GoodsNoBooksShow {
                shipped: central[0],
                received: central[1],
            });
        } else if in_books && quiescent {
            let books = [self.shipped, self.received, self.discrepancy];
            if books != central {
                found.push(Difference::CentralDisagrees { books, central });
            }
        }
        self.differences = found;
    }
}

/// Per case, pair and type: central's ledger beside the nodes' books, each
/// line judged. `quiescent`: the run is over, nothing may be in transit.
pub fn rows(
    ledger: &Ledger,
    province_books: &[Books],
    city_books: &[Books],
    quiescent: bool,
) -> Vec<Row> {
    let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
    for l in &ledger.lines {
        let k = (
            l.case_id.clone(),
            l.city_id.clone(),
            l.province_id.clone(),
            l.resource_type.clone(),
        );
        let row = rows.entry(k.clone()).or_insert_with(|| Row::blank(&k));
        row.in_ledger = true;
        row.committed += l.target;
        row.central_shipped += l.shipped;
        row.central_received += l.received;
        row.central_discrepancy += l.discrepancy;
    }
    for (k, flow) in flows(province_books) {
        let row = rows.entry(k.clone()).or_insert_with(|| Row::blank(&k));
        row.shipped = flow.shipped;
        row.shipments_sent = flow.shipments;
        row.province_received = flow.received;
        row.province_short = flow.discrepancy;
    }
    for (k, flow) in flows(city_books) {
        let row = rows.entry(k.clone()).or_insert_with(|| Row::blank(&k));
        row.received = flow.received;
        row.discrepancy = flow.discrepancy;
        row.shipments_counted = flow.shipments;
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    for row in &mut rows {
        row.judge(quiescent);
    }
    rows
}

/// Totals of a conservation check, for a suite's report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// The totals over `rows`.
pub fn totals(rows: &[Row]) -> Totals {
    let mut t = Totals::default();
    for r in rows {
        t.shipped += r.shipped;
        t.received += r.received;
        t.discrepancy += r.discrepancy;
        t.in_transit += r.in_transit.max(0);
        t.duplicated += (-r.in_transit).max(0);
        if r.differences
            .iter()
            .any(|d| matches!(d, Difference::Lost { .. }))
        {
            t.lost += r.in_transit;
        }
    }
    t
}

/// Every difference of `rows`, each naming its case, pair and type.
pub fn differences(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .flat_map(|r| {
            r.differences
                .iter()
                .map(move |d| format!("{}: {d}", r.name()))
        })
        .collect()
}

/// Every violation of conservation, and the totals. `quiescent`: the run
/// is over, so nothing may be in transit.
pub fn check(
    ledger: &Ledger,
    province_books: &[Books],
    city_books: &[Books],
    quiescent: bool,
) -> (Vec<String>, Totals) {
    let rows = rows(ledger, province_books, city_books, quiescent);
    (differences(&rows), totals(&rows))
}

/// A whole cluster reconciled: every line, and the nodes whose books could
/// not be read (a reconciliation that misses a node proves nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Whether the run was over, so that the quiescent rules applied.
    pub quiescent: bool,
    pub lines: Vec<Row>,
    /// `node: why` for each node whose books could not be read.
    pub unreachable: Vec<String>,
    pub totals: Totals,
}

impl Reconciliation {
    pub fn new(
        ledger: &Ledger,
        province_books: &[Books],
        city_books: &[Books],
        quiescent: bool,
    ) -> Reconciliation {
        let lines = rows(ledger, province_books, city_books, quiescent);
        Reconciliation {
            quiescent,
            totals: totals(&lines),
            lines,
            unreachable: Vec::new(),
        }
    }

    /// Every difference and every node left out, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = differences(&self.lines);
        problems.extend(
            self.unreachable
                .iter()
                .map(|n| format!("no books from {n}")),
        );
        problems
    }

    pub fn is_clean(&self) -> bool {
        self.problems().is_empty()
    }
}
