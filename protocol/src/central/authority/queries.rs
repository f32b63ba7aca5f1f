//! Operator queries: cluster status, the pairing table, the ledger, and the
//! message counts the run report sums.

use std::collections::BTreeMap;

use pairing_proto::v1::{
    CaseSummary, ClusterStatus, Donor, Ledger as LedgerReply, NodeStatus, Pairing, PairingTable,
    Role,
};

use super::Authority;
use crate::central::case::CaseStage;

impl Authority {
    pub fn status(&self, now: super::Now) -> ClusterStatus {
        let t = now.scenario;
        let mut nodes: Vec<NodeStatus> = self
            .scenario
            .provinces
            .iter()
            .map(|p| (p.id.as_str(), Role::Province))
            .chain(
                self.scenario
                    .cities
                    .iter()
                    .map(|c| (c.id.as_str(), Role::City)),
            )
            .map(|(id, role)| NodeStatus {
                node_id: id.to_string(),
                role: role as i32,
                endpoint: self.endpoint_of(id),
                registered: self.nodes.contains_key(id),
                protocol_version: self
                    .nodes
                    .get(id)
                    .map_or(0, |n| super::launch::spoken_version(n.protocol_version)),
            })
            .collect();
        nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        ClusterStatus {
            scenario: self.scenario.name.clone(),
            clock: self.clock.map(|c| self.wire_clock(c)),
            scenario_now_ms: t.0,
            scenario_now: t.format(self.scenario.start_date),
            nodes,
            cases: self
                .cases
                .values()
                .map(|c| CaseSummary {
                    case_id: c.case_id.clone(),
                    city_id: c.city_id.clone(),
                    stage: c.stage.as_str().to_string(),
                    province_ids: c.active_donors().map(|a| a.province_id.clone()).collect(),
                })
                .collect(),
            finished: self.is_finished(t) && (!self.lockstep() || self.clock_stopped),
            clock_stalled: self.stalled.clone().unwrap_or_default(),
        }
    }

    /// The run is over at the scenario's end date, or once every case is
    /// closed or rejected and nothing has happened for a quiet period.
    pub fn is_finished(&self, now: counterpart_domain::clock::ScenarioTime) -> bool {
        if self.clock.is_none() {
            return false;
        }
        if now >= self.scenario.end_time() {
            return true;
        }
        let all_terminal =
            !self.cases.is_empty() && self.cases.values().all(|c| c.stage.is_terminal());
        let quiet = self.scenario.rules.quiet_days_to_demobilise as f64;
        all_terminal && now >= self.last_activity_at.plus_days(quiet)
    }

    /// Every case that was paired, with its donors (released ones included:
    /// the table records who served).
    pub fn pairings(&self) -> PairingTable {
        let mut by_city: BTreeMap<&str, Vec<Donor>> = BTreeMap::new();
        for case in self
            .cases
            .values()
            .filter(|c| c.stage != CaseStage::Rejected && c.decided_at.is_some())
        {
            let donors = by_city.entry(case.city_id.as_str()).or_default();
            donors.extend(case.assignments.iter().map(|a| self.donor_of(a)));
        }
        // Scenario order (the NHC table's order) reads better than sorted ids.
        let pairings = self
            .scenario
            .cities
            .iter()
            .filter_map(|c| {
                by_city
                    .remove(c.id.as_str())
                    .map(|donors| (c.id.clone(), donors))
            })
            .map(|(city_id, donors)| Pairing {
                city_id,
                donors,
                mode: self.mode.as_str().to_string(),
            })
            .collect();
        PairingTable {
            mode: self.mode.as_str().to_string(),
            pairings,
        }
    }

    pub fn ledger_reply(&self) -> LedgerReply {
        LedgerReply {
            lines: self.ledger.lines(),
            costs: self.ledger.costs(),
        }
    }

    /// Messages received per kind over the whole cluster: each node's last
    /// reported counters plus central's own.
    pub fn message_totals(&self, central_own: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut totals = central_own.clone();
        for counters in self.node_messages.values() {
            for (kind, n) in counters {
                *totals.entry(kind.clone()).or_insert(0) += n;
            }
        }
        totals
    }

    /// The role a node id has in the scenario.
    /// Each registered node's protocol version, as the run report names it:
    /// `"1"`, or `"1 (not stated)"` for a node from before versions.
    pub fn protocol_versions(&self) -> BTreeMap<String, String> {
        self.nodes
            .iter()
            .map(|(id, n)| {
                let spoken = super::launch::spoken_version(n.protocol_version);
                let text = match n.protocol_version {
                    0 => format!("{spoken} (not stated)"),
                    _ => spoken.to_string(),
                };
                (id.clone(), text)
            })
            .collect()
    }

    pub fn role_of(&self, id: &str) -> Option<Role> {
        self.nodes.get(id).map(|n| n.role)
    }

    pub fn is_rejected(&self, case_id: &str) -> bool {
        self.cases
            .get(case_id)
            .is_some_and(|c| c.stage == CaseStage::Rejected)
    }

    pub fn case_id_of_assignment(&self, assignment_id: &str) -> Option<String> {
        self.assignment_cases.get(assignment_id).cloned()
    }

    pub fn mode(&self) -> counterpart_domain::scenario::PairingMode {
        self.mode
    }

    pub fn day_ms(&self) -> i64 {
        self.day_ms
    }
}
