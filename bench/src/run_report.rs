//! Figures read off the JSON run report `pairctl up --report FILE` writes
//! (central's report plus `nodes` and `wall_time_ms`).

use serde_json::Value;

/// What the end-to-end and scale benchmarks take from a report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub day_ms: i64,
    pub cases: usize,
    pub cases_open: usize,
    /// Scenario ms of the first request and of the last acknowledgement.
    pub first_request_ms: Option<i64>,
    pub last_ack_ms: Option<i64>,
    /// Messages received, all nodes and kinds together.
    pub messages: u64,
    pub wall_time_ms: Option<u64>,
}

impl RunFigures {
    pub fn from_report(report: &Value) -> Result<RunFigures, String> {
        let cases = report
            .get("cases")
            .and_then(Value::as_array)
            .ok_or("the report has no `cases` list")?;
        let day_ms = report
            .get("day_ms")
            .and_then(Value::as_i64)
            .ok_or("the report has no `day_ms`")?;
        let mut first_request_ms: Option<i64> = None;
        let mut last_ack_ms: Option<i64> = None;
        let mut cases_open = 0;
        for case in cases {
            let status = case.get("status").and_then(Value::as_str).unwrap_or("");
            if status != "closed" && status != "rejected" {
                cases_open += 1;
            }
            let events = case.get("events").and_then(Value::as_array);
            for event in events.into_iter().flatten() {
                let at = event.get("at_ms").and_then(Value::as_i64);
                match (event.get("step").and_then(Value::as_str), at) {
                    (Some("requested"), Some(at)) => {
                        first_request_ms = Some(first_request_ms.map_or(at, |f| f.min(at)));
                    }
                    (Some("acknowledged"), Some(at)) => {
                        last_ack_ms = Some(last_ack_ms.map_or(at, |l| l.max(at)));
                    }
                    _ => {}
                }
            }
        }
        let messages = report
            .get("messages")
            .and_then(Value::as_object)
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        Ok(RunFigures {
            day_ms,
            cases: cases.len(),
            cases_open,
            first_request_ms,
            last_ack_ms,
            messages,
            wall_time_ms: report.get("wall_time_ms").and_then(Value::as_u64),
        })
    }

    /// Wall milliseconds from the first request to the last acknowledgement:
    /// scenario time runs `day_ms` wall ms per 86,400,000 scenario ms.
    pub fn request_to_last_ack_wall_ms(&self) -> Option<f64> {
        let (first, last) = (self.first_request_ms?, self.last_ack_ms?);
        Some((last - first) as f64 * self.day_ms as f64 / 86_400_000.0)
    }

    /// The same span in scenario days (2020: about 3 days).
    pub fn request_to_last_ack_days(&self) -> Option<f64> {
        let (first, last) = (self.first_request_ms?, self.last_ack_ms?);
        Some((last - first) as f64 / 86_400_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spans_from_first_request_to_last_acknowledgement() {
        let report = json!({
            "day_ms": 1000,
            "wall_time_ms": 5000,
            "messages": {"AssistanceRequest": 2, "Assignment": 3},
            "cases": [
                {"status": "closed", "events": [
                    {"step": "requested", "at_ms": 86_400_000},
                    {"step": "acknowledged", "at_ms": 4 * 86_400_000}]},
                {"status": "implementing", "events": [
                    {"step": "requested", "at_ms": 2 * 86_400_000},
                    {"step": "acknowledged", "at_ms": 3 * 86_400_000}]},
            ]
        });
        let f = RunFigures::from_report(&report).unwrap();
        assert_eq!(f.messages, 5);
        assert_eq!(f.cases_open, 1);
        assert_eq!(f.request_to_last_ack_days(), Some(3.0));
        assert_eq!(f.request_to_last_ack_wall_ms(), Some(3000.0));
    }
}
