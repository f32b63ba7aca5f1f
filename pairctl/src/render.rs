//! What central's operator queries look like on a terminal: the status, the
//! pairing table, the ledger, and the one-line progress of `up`.

use std::collections::BTreeMap;

use pairing_proto::v1::{ClusterStatus, Ledger, PairingTable, Role};

use crate::table::{thousands, Align, Table};

/// City id -> Chinese name, from the scenario when pairctl has it.
pub type CityNames = BTreeMap<String, String>;

fn role_name(role: i32) -> &'static str {
    match Role::try_from(role) {
        Ok(Role::Central) => "central",
        Ok(Role::Province) => "province",
        Ok(Role::City) => "city",
        _ => "?",
    }
}

/// Cases per stage, in first-seen order of the stages.
fn cases_by_stage(status: &ClusterStatus) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for case in &status.cases {
        match counts.iter_mut().find(|(stage, _)| *stage == case.stage) {
            Some((_, n)) => *n += 1,
            None => counts.push((case.stage.clone(), 1)),
        }
    }
    counts
}

/// Provinces and cities registered (central, if listed, does not register).
fn registered(status: &ClusterStatus) -> usize {
    status
        .nodes
        .iter()
        .filter(|n| n.registered && n.role != Role::Central as i32)
        .count()
}

/// One line of progress: scenario time, nodes registered, cases by stage.
/// `nodes_expected` counts provinces and cities (central does not register).
pub fn progress_line(status: &ClusterStatus, nodes_expected: usize) -> String {
    let nodes = format!("nodes {}/{}", registered(status), nodes_expected);
    if status.clock.is_none() {
        return format!("waiting for every node to register: {nodes}");
    }
    let stages = cases_by_stage(status);
    let cases = if stages.is_empty() {
        "no cases yet".to_string()
    } else {
        let parts: Vec<String> = stages.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!("cases: {}", parts.join(", "))
    };
    format!("{}  {nodes}  {cases}", status.scenario_now)
}

/// The full status: clock, nodes, cases.
pub fn status(status: &ClusterStatus) -> String {
    let clock = match &status.clock {
        Some(clock) => format!(
            "scenario time {} ({} ms a day, started {})",
            status.scenario_now, clock.day_ms, clock.start_date
        ),
        None => "clock not started".to_string(),
    };
    let mut out = format!(
        "Scenario {}: {clock}; {}\n",
        status.scenario,
        if status.finished {
            "finished"
        } else {
            "running"
        }
    );
    let registering = status
        .nodes
        .iter()
        .filter(|n| n.role != Role::Central as i32)
        .count();
    out.push_str(&format!(
        "Nodes: {}/{registering} registered\n\n",
        registered(status),
    ));
    let mut nodes = Table::new(&[
        ("node", Align::Left),
        ("role", Align::Left),
        ("endpoint", Align::Left),
        ("registered", Align::Left),
    ]);
    for n in &status.nodes {
        nodes.row([
            n.node_id.clone(),
            role_name(n.role).to_string(),
            n.endpoint.clone(),
            if n.registered { "yes" } else { "no" }.to_string(),
        ]);
    }
    out.push_str(&nodes.render());
    out.push('\n');
    if status.cases.is_empty() {
        out.push_str("No cases yet.\n");
        return out;
    }
    let mut cases = Table::new(&[
        ("case", Align::Left),
        ("city", Align::Left),
        ("stage", Align::Left),
        ("provinces", Align::Left),
    ]);
    for c in &status.cases {
        cases.row([
            c.case_id.clone(),
            c.city_id.clone(),
            c.stage.clone(),
            c.province_ids.join(", "),
        ]);
    }
    out.push_str(&cases.render());
    out
}

/// The pairing table: city -> provinces. The Chinese name column appears
/// when `names` knows the cities.
pub fn pairings(table: &PairingTable, names: &CityNames) -> String {
    let mut columns = vec![("city", Align::Left)];
    if !names.is_empty() {
        columns.push(("name", Align::Left));
    }
    columns.extend([("provinces", Align::Left), ("mode", Align::Left)]);
    let mut out = Table::new(&columns);
    for p in &table.pairings {
        let donors: Vec<&str> = p.donors.iter().map(|d| d.province_id.as_str()).collect();
        let mut row = vec![p.city_id.clone()];
        if !names.is_empty() {
            row.push(names.get(&p.city_id).cloned().unwrap_or_default());
        }
        row.extend([donors.join(", "), p.mode.clone()]);
        out.row(row);
    }
    if out.is_empty() {
        return format!("No pairings yet (mode {}).\n", table.mode);
    }
    format!("Pairings ({}):\n{}", table.mode, out.render())
}

/// The ledger: per pair and type, then each donor's cost.
pub fn ledger(ledger: &Ledger) -> String {
    let mut lines = Table::new(&[
        ("case", Align::Left),
        ("city", Align::Left),
        ("province", Align::Left),
        ("resource", Align::Left),
        ("target", Align::Right),
        ("shipped", Align::Right),
        ("received", Align::Right),
        ("discrepancy", Align::Right),
        ("in transit", Align::Right),
    ]);
    for l in &ledger.lines {
        lines.row([
            l.case_id.clone(),
            l.city_id.clone(),
            l.province_id.clone(),
            l.resource_type.clone(),
            thousands(l.target),
            thousands(l.shipped),
            thousands(l.received),
            thousands(l.discrepancy),
            thousands(l.in_transit),
        ]);
    }
    let mut out = if lines.is_empty() {
        "The ledger is empty.\n".to_string()
    } else {
        lines.render()
    };
    out.push('\n');
    out.push_str(&donor_costs(ledger));
    out
}

/// Each donor's cost so far (the paper's sustainability concern).
pub fn donor_costs(ledger: &Ledger) -> String {
    let mut costs = Table::new(&[("province", Align::Left), ("cost (CNY)", Align::Right)]);
    for c in &ledger.costs {
        costs.row([c.province_id.clone(), thousands(c.cost_cny)]);
    }
    if costs.is_empty() {
        return "No donor costs yet.\n".to_string();
    }
    costs.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::Donor;
    use pairing_proto::v1::{
        CaseSummary, DonorCost, LedgerLine, NodeStatus, Pairing, ScenarioClock,
    };

    fn cluster(clock: bool) -> ClusterStatus {
        let node = |id: &str, role: Role, registered: bool| NodeStatus {
            node_id: id.into(),
            role: role as i32,
            endpoint: format!("http://127.0.0.1:1/{id}"),
            registered,
            ..Default::default()
        };
        let case = |id: &str, city: &str, stage: &str| CaseSummary {
            case_id: id.into(),
            city_id: city.into(),
            stage: stage.into(),
            province_ids: vec!["jiangsu".into(), "hebei".into()],
        };
        ClusterStatus {
            scenario: "small".into(),
            clock: clock.then(|| ScenarioClock {
                epoch_unix_ms: 1,
                day_ms: 50,
                start_date: "2020-02-07".into(),
                ..Default::default()
            }),
            scenario_now_ms: 0,
            scenario_now: "2020-02-11 06:00".into(),
            nodes: vec![
                node("central", Role::Central, true),
                node("jiangsu", Role::Province, true),
                node("huangshi", Role::City, false),
            ],
            clock_stalled: String::new(),
            cases: vec![
                case("case-a-1", "a", "implementing"),
                case("case-b-1", "b", "closed"),
                case("case-c-1", "c", "implementing"),
            ],
            finished: false,
        }
    }

    #[test]
    fn progress_before_the_clock_counts_registrations() {
        let line = progress_line(&cluster(false), 5);
        assert_eq!(line, "waiting for every node to register: nodes 1/5");
    }

    #[test]
    fn progress_counts_cases_by_stage() {
        let line = progress_line(&cluster(true), 2);
        assert_eq!(
            line,
            "2020-02-11 06:00  nodes 1/2  cases: 2 implementing, 1 closed"
        );
    }

    #[test]
    fn status_lists_nodes_and_cases() {
        let text = status(&cluster(true));
        assert!(
            text.starts_with("Scenario small: scenario time 2020-02-11 06:00"),
            "{text}"
        );
        assert!(text.contains("Nodes: 1/2 registered"));
        assert!(text
            .lines()
            .any(|l| l.starts_with("huangshi  city") && l.ends_with("no")));
        assert!(text.contains("jiangsu, hebei"));
    }

    #[test]
    fn pairings_show_chinese_names_when_known() {
        let table = PairingTable {
            mode: "historical".into(),
            pairings: vec![Pairing {
                city_id: "huangshi".into(),
                donors: vec![Donor {
                    province_id: "jiangsu".into(),
                    ..Donor::default()
                }],
                mode: "historical".into(),
            }],
        };
        let names = CityNames::from([("huangshi".to_string(), "黄石".to_string())]);
        let text = pairings(&table, &names);
        assert!(text.contains("huangshi  黄石  jiangsu"), "{text}");
        let without = pairings(&table, &CityNames::new());
        assert!(without.contains("huangshi  jiangsu"), "{without}");
        let empty = pairings(&PairingTable::default(), &names);
        assert!(empty.starts_with("No pairings yet"));
    }

    #[test]
    fn ledger_lists_lines_and_costs() {
        let ledger_msg = Ledger {
            lines: vec![LedgerLine {
                case_id: "case-huangshi-1".into(),
                city_id: "huangshi".into(),
                province_id: "jiangsu".into(),
                resource_type: "material/mask_n95".into(),
                target: 20_000,
                shipped: 10_000,
                received: 9_900,
                discrepancy: 100,
                in_transit: 0,
            }],
            costs: vec![DonorCost {
                province_id: "jiangsu".into(),
                cost_cny: 1_500_000,
            }],
        };
        let text = ledger(&ledger_msg);
        assert!(text.contains("20,000") && text.contains("9,900"), "{text}");
        assert!(text
            .lines()
            .any(|l| l.starts_with("jiangsu") && l.ends_with("1,500,000")));
        assert!(ledger(&Ledger::default()).starts_with("The ledger is empty."));
    }
}
