//! The dashboard's picture of the operation: central's updates folded into
//! one model, and each update passed on as a JSON patch to every open page.
//! A page that connects gets the whole model once (`snapshot`), then the
//! patches; the page folds them the same way (assets/model.js).

use std::collections::BTreeMap;
use std::sync::Mutex;

use pairing_proto::v1::operation_update::Change;
use pairing_proto::v1::{CaseChange, OperationUpdate, Role};
use serde_json::{json, Map, Value};
use tokio::sync::broadcast;

/// Patches queued per page; a page that falls further behind gets a fresh
/// snapshot instead (see `mod.rs`).
pub const PAGE_QUEUE: usize = 1024;

#[derive(Debug)]
pub struct Board {
    model: Mutex<Value>,
    patches: broadcast::Sender<String>,
}

impl Board {
    /// An empty board; `jaeger_url` is where the case links point.
    pub fn new(central: &str, jaeger_url: &str) -> Board {
        let model = json!({
            "central": central,
            "jaeger_url": jaeger_url.trim_end_matches('/'),
            "link": "connecting",
            "outline": null,
            "pairings": [],
            "cases": {},
            "ledger": {},
            "costs": {},
            "messages": {},
            "scenario_ms": 0,
            "finished_at": null,
            "reconciliation": null,
        });
        let (patches, _) = broadcast::channel(PAGE_QUEUE);
        Board {
            model: Mutex::new(model),
            patches,
        }
    }

    /// The whole model, as JSON text, and a receiver of every later patch:
    /// taken together so that no patch falls between them.
    pub fn subscribe(&self) -> (String, broadcast::Receiver<String>) {
        let model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        (model.to_string(), self.patches.subscribe())
    }

    /// The model as it is (for tests and the JSON endpoint).
    pub fn model(&self) -> Value {
        self.model.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Folds one of central's updates in and passes it on.
    pub fn apply(&self, update: &OperationUpdate) {
        if let Some(patch) = patch_of(update) {
            self.patch(patch);
        }
    }

    /// The state of the link to central: "connected", or why not.
    pub fn set_link(&self, link: &str) {
        self.patch(json!({"type": "link", "link": link}));
    }

    /// What `pairctl up` found comparing central's ledger with the nodes'
    /// books at the end of the run.
    pub fn set_reconciliation(&self, lines: usize, problems: &[String]) {
        self.patch(json!({"type": "reconciliation", "lines": lines, "problems": problems}));
    }

    fn patch(&self, patch: Value) {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        fold(&mut model, &patch);
        // No page listening is fine: the model keeps it for the next one.
        let _ = self.patches.send(patch.to_string());
    }
}

/// One update as the page's patch; `None` for nothing to show.
pub fn patch_of(update: &OperationUpdate) -> Option<Value> {
    let at = update.scenario_ms;
    let patch = match update.change.as_ref()? {
        Change::Outline(o) => json!({
            "type": "outline",
            "scenario": o.scenario, "mode": o.mode, "day_ms": o.day_ms,
            "start_date": o.start_date,
            "places": o.places.iter().map(|p| json!({
                "id": p.id, "name": p.name,
                "role": if p.role == Role::City as i32 { "city" } else { "province" },
                "located": p.located, "lat": p.lat, "lon": p.lon,
                "estimated": p.location_estimated,
            })).collect::<Vec<_>>(),
        }),
        Change::Pairings(t) => json!({
            "type": "pairings",
            "pairings": t.pairings.iter().map(|p| json!({
                "city": p.city_id,
                "donors": p.donors.iter().map(|d| d.province_id.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        Change::CaseChange(c) => case_patch(c),
        Change::LedgerLine(l) => json!({
            "type": "ledger",
            "key": format!("{}|{}|{}", l.case_id, l.province_id, l.resource_type),
            "line": {
                "case_id": l.case_id, "city": l.city_id, "province": l.province_id,
                "resource_type": l.resource_type, "target": l.target, "shipped": l.shipped,
                "received": l.received, "discrepancy": l.discrepancy, "in_transit": l.in_transit,
            },
        }),
        Change::Cost(c) => {
            json!({"type": "cost", "province": c.province_id, "cost_cny": c.cost_cny})
        }
        Change::Messages(m) => {
            let by_kind: BTreeMap<_, _> = m.by_kind.iter().collect();
            json!({"type": "messages", "by_kind": by_kind})
        }
        Change::Heartbeat(_) => json!({"type": "clock"}),
        Change::Finished(f) => json!({"type": "finished", "finished_at": f.finished_at}),
    };
    let mut patch = patch;
    patch["scenario_ms"] = json!(at);
    Some(patch)
}

fn case_patch(c: &CaseChange) -> Value {
    json!({
        "type": "case",
        "case": {
            "case_id": c.case_id, "city": c.city_id, "provinces": c.province_ids,
            "status": c.status, "severity": c.severity, "reason": c.reason,
            "trace_id": c.trace_id,
        },
        "new_steps": c.new_steps.iter().map(|s| json!({
            "at_ms": s.at_ms, "at": s.at, "step": s.step,
            "province": s.province_id, "detail": s.detail,
        })).collect::<Vec<_>>(),
        "new_evaluations": c.new_evaluations.iter().map(|e| json!({
            "province": e.province_id, "kind": e.kind,
            "delivered_fraction": e.delivered_fraction, "reason": e.reason, "at": e.at,
        })).collect::<Vec<_>>(),
    })
}

/// Folds `patch` into `model`: the same rules as assets/model.js.
pub fn fold(model: &mut Value, patch: &Value) {
    if let Some(ms) = patch["scenario_ms"].as_i64().filter(|&ms| ms > 0) {
        model["scenario_ms"] = json!(ms);
    }
    match patch["type"].as_str().unwrap_or("") {
        "outline" => {
            // A new stream starts with the outline and repeats everything.
            for (key, empty) in [
                ("cases", json!({})),
                ("ledger", json!({})),
                ("costs", json!({})),
            ] {
                model[key] = empty;
            }
            model["finished_at"] = Value::Null;
            model["outline"] = patch.clone();
        }
        "pairings" => model["pairings"] = patch["pairings"].clone(),
        "case" => {
            let id = patch["case"]["case_id"].as_str().unwrap_or("").to_string();
            let cases = model["cases"].as_object_mut().expect("cases is an object");
            let case = cases
                .entry(id)
                .or_insert_with(|| json!({"steps": [], "evaluations": []}));
            let steps = append(case, "steps", &patch["new_steps"]);
            let evaluations = append(case, "evaluations", &patch["new_evaluations"]);
            let mut fresh: Map<String, Value> =
                patch["case"].as_object().cloned().unwrap_or_default();
            fresh.insert("steps".into(), steps);
            fresh.insert("evaluations".into(), evaluations);
            *case = Value::Object(fresh);
        }
        "ledger" => {
            let key = patch["key"].as_str().unwrap_or("").to_string();
            model["ledger"][key] = patch["line"].clone();
        }
        "cost" => {
            let province = patch["province"].as_str().unwrap_or("").to_string();
            model["costs"][province] = patch["cost_cny"].clone();
        }
        "messages" => model["messages"] = patch["by_kind"].clone(),
        "finished" => model["finished_at"] = patch["finished_at"].clone(),
        "link" => model["link"] = patch["link"].clone(),
        "reconciliation" => {
            model["reconciliation"] =
                json!({"lines": patch["lines"], "problems": patch["problems"]})
        }
        _ => {}
    }
}

/// `case[key]` with `more` appended.
fn append(case: &Value, key: &str, more: &Value) -> Value {
    let mut all = case[key].as_array().cloned().unwrap_or_default();
    all.extend(more.as_array().cloned().unwrap_or_default());
    Value::Array(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pairing_proto::v1::{CaseStep, LedgerLine};

    fn case_update(status: &str, step: &str) -> OperationUpdate {
        OperationUpdate {
            scenario_ms: 1000,
            change: Some(Change::CaseChange(CaseChange {
                case_id: "case-north-1".into(),
                city_id: "north".into(),
                status: status.into(),
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                new_steps: vec![CaseStep {
                    step: step.into(),
                    ..Default::default()
                }],
                ..Default::default()
            })),
        }
    }

    #[test]
    fn a_case_keeps_every_step_and_takes_its_latest_status() {
        let board = Board::new("http://central", "http://jaeger:16686/");
        board.apply(&case_update("decided", "requested"));
        board.apply(&case_update("closed", "closed"));
        let model = board.model();
        let case = &model["cases"]["case-north-1"];
        assert_eq!(case["status"], "closed");
        let steps: Vec<&str> = (case["steps"].as_array().unwrap().iter())
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["requested", "closed"]);
        assert_eq!(model["jaeger_url"], "http://jaeger:16686");
        assert_eq!(model["scenario_ms"], 1000);
    }

    #[test]
    fn a_page_gets_the_model_then_every_later_patch() {
        let board = Board::new("c", "j");
        board.apply(&case_update("decided", "requested"));
        let (snapshot, mut patches) = board.subscribe();
        assert!(snapshot.contains("case-north-1"));
        board.apply(&OperationUpdate {
            scenario_ms: 2000,
            change: Some(Change::LedgerLine(LedgerLine {
                case_id: "case-north-1".into(),
                province_id: "alpha".into(),
                resource_type: "personnel/doctor".into(),
                shipped: 7,
                ..Default::default()
            })),
        });
        let patch: Value = serde_json::from_str(&patches.try_recv().unwrap()).unwrap();
        assert_eq!(patch["type"], "ledger");
        let model = board.model();
        assert_eq!(
            model["ledger"]["case-north-1|alpha|personnel/doctor"]["shipped"],
            7
        );
    }
}
