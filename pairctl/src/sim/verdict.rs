//! The checkers run after every seed, on what the observer read at the end:
//! central's report and every node's own books reconciled against central's
//! ledger. They are the fault suite's checkers (`crate::checks`), so a
//! simulated run is held to what a run on real sockets is held to.
//!
//! - Conservation: on every ledger line shipped = received + short + in
//!   transit, nothing in transit once a case is closed, and the provinces'
//!   and cities' books say what central's ledger says (nothing lost,
//!   nothing counted twice).
//! - Liveness: the run ended (the observer saw central finished within the
//!   bound after the last fault healed), the clock did not stall, and every
//!   accepted case is closed.
//! - Outcomes: every city's own daily tally tells the course central
//!   computes from its ledger (`checks::tallies_agree`).
//! - Order: every case's events in the protocol's order (the trace
//!   checker's rules on the case events).

use serde_json::{json, Value};

use super::schedule::Schedule;
use super::world::Simulated;
use crate::checks;

/// What one seed showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every rule broken, one line each; empty when the seed passed.
    pub reasons: Vec<String>,
    pub units_lost: i64,
    pub units_double_counted: i64,
    pub cases_accepted: u64,
    pub cases_closed: u64,
    /// The digest of the run's story: the report (without wall times and
    /// process facts, `crate::digest`), when the run ended, and the faults
    /// that fired. Two runs of one seed give the same digest.
    pub digest: String,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Judges one seed's run.
pub fn judge(simulated: &Simulated, schedule: &Schedule) -> Verdict {
    let mut verdict = Verdict::default();
    if let Some(error) = &simulated.error {
        verdict.reasons.push(error.clone());
    }
    let Some(report) = &simulated.report else {
        if simulated.error.is_none() {
            verdict.reasons.push("no report was read".into());
        }
        verdict.digest = story_digest(&Value::Null, simulated, schedule);
        return verdict;
    };
    let mut rule = |name: &str, violations: Vec<String>| {
        verdict
            .reasons
            .extend(violations.into_iter().map(|v| format!("{name}: {v}")));
    };
    rule("conservation", checks::receipts_match(report));
    rule(
        "conservation (nodes' books)",
        checks::books_reconcile(report),
    );
    rule("liveness", checks::all_closed(report, true));
    rule("outcomes (cities' tallies)", checks::tallies_agree(report));
    rule(
        "outcomes (cities' tallies)",
        checks::tallies_reported(report),
    );
    rule("order", checks::legal_order(report));
    let totals = &report["reconcile"]["totals"];
    verdict.units_lost = totals["lost"].as_i64().unwrap_or(0);
    verdict.units_double_counted = totals["duplicated"].as_i64().unwrap_or(0);
    for case in report["cases"].as_array().into_iter().flatten() {
        match case["status"].as_str() {
            Some("rejected") => {}
            Some("closed") => {
                verdict.cases_accepted += 1;
                verdict.cases_closed += 1;
            }
            _ => verdict.cases_accepted += 1,
        }
    }
    verdict.digest = story_digest(report, simulated, schedule);
    verdict
}

fn story_digest(report: &Value, simulated: &Simulated, schedule: &Schedule) -> String {
    let f = simulated.message_faults;
    crate::digest::digest(&json!({
        "report": report,
        "finished_at_ms": simulated.finished_at_ms,
        "ended_at_ms": simulated.elapsed_ms,
        "error": simulated.error,
        "schedule": schedule.to_string(),
        "restarts": simulated.restarts,
        "message_faults": [f.partitioned, f.dropped_requests, f.dropped_replies, f.delayed, f.duplicated],
    }))
}
