//! A reconciliation as terminal text: the table, then every difference on
//! its own line naming its case, pair and type.

use super::Reconciliation;
use crate::table::{thousands, Align, Table};

/// The lines as a table (a differing line marked `!`), every difference
/// and every node left out, and a verdict line.
pub fn render(reconciliation: &Reconciliation) -> String {
    let rows = &reconciliation.lines;
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
    let mut out = if table.is_empty() {
        "Nothing has been shipped yet.\n".to_string()
    } else {
        table.render()
    };
    let problems = reconciliation.problems();
    if !problems.is_empty() {
        out.push('\n');
        for problem in &problems {
            out.push_str(&format!("! {problem}\n"));
        }
    }
    let differing = rows.iter().filter(|r| r.differs()).count();
    out.push_str(&format!(
        "\n{} lines; {differing} where the nodes' books and central's ledger differ (!)",
        rows.len()
    ));
    if !reconciliation.unreachable.is_empty() {
        out.push_str(&format!(
            "; {} nodes' books unread",
            reconciliation.unreachable.len()
        ));
    }
    if !reconciliation.quiescent {
        out.push_str("; the run is still going, so goods may be in transit");
    }
    out.push('\n');
    out
}
