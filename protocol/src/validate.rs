//! Validation of incoming fields. Each check returns the [`Refusal`] a
//! handler sends back (as a gRPC status, at the node's edge), with a message that names the offending field, so a
//! bad message changes no state and its sender learns exactly what is wrong.
//!
//! A field's name is anything `Display`: a path with indices is passed as
//! `format_args!` and written out only into a refusal, never for a field
//! that passes (a report's receipts made thirty strings a message).

use std::fmt::Display;

use chrono::NaiveDate;
use counterpart_domain::clock::{checked_day_ms, Clock, ScenarioTime, DAY_MS};
use counterpart_domain::quantities::Quantities;
use pairing_proto::resource::{Category, ResourceType};
use pairing_proto::v1::{MessageHeader, ResourceQuantity, ScenarioClock, Situation};

use crate::refusal::Refusal;

/// Longest list of resource lines a message may carry. The default catalog
/// has 10 resource types, a scenario may declare 32 more, and each may
/// appear once, so 64 holds any catalog while refusing a list meant to
/// exhaust memory. Also
/// bounds the other per-message lists (objectives, donors, contributions).
pub const MAX_LINES: usize = 64;
/// Longest id or free-text field, in bytes. Ids are at most ~60 bytes
/// (`asg-case-<city>-<n>-<province>`); reasons and notes are one sentence.
pub const MAX_TEXT_LEN: usize = 512;
/// Longest resource type name accepted (the catalog's longest,
/// "material/protective_suit", has 24 bytes).
pub const MAX_RESOURCE_TYPE_LEN: usize = 64;
/// Largest quantity of personnel in one line. China sent about 42,000
/// medical staff to Hubei in all; no line carries more than twice that.
pub const MAX_PERSONNEL: i64 = 100_000;
/// Largest quantity of material units in one line (a billion masks is
/// beyond any one shipment).
pub const MAX_MATERIAL: i64 = 1_000_000_000;
/// Largest amount of funds in one line (CNY): a trillion, beyond any
/// province's budget, and far enough from `i64::MAX` that sums of a few
/// thousand lines cannot overflow.
pub const MAX_FUNDS_CNY: i64 = 1_000_000_000_000;
/// Scenario times are within 10 years of the start (a run lasts months).
pub const MAX_SCENARIO_MS: i64 = 3_650 * DAY_MS;

/// The header is present and well formed; returns it.
pub fn header(header: Option<&MessageHeader>) -> Result<&MessageHeader, Refusal> {
    let h = header.ok_or_else(|| Refusal::invalid_argument("header: missing"))?;
    text("header.message_id", &h.message_id)?;
    text("header.sender_id", &h.sender_id)?;
    scenario_time("header.scenario_time_ms", h.scenario_time_ms)?;
    Ok(h)
}

/// A required, bounded text field.
pub fn text(field: impl Display, value: &str) -> Result<(), Refusal> {
    if value.is_empty() {
        return Err(Refusal::invalid_argument(format!(
            "{field}: must not be empty"
        )));
    }
    bounded_text(field, value)
}

/// An optional, bounded text field.
pub fn bounded_text(field: impl Display, value: &str) -> Result<(), Refusal> {
    if value.len() > MAX_TEXT_LEN {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {} bytes, more than the limit of {MAX_TEXT_LEN}",
            value.len()
        )));
    }
    Ok(())
}

/// A scenario time within the plausible range.
pub fn scenario_time(field: impl Display, ms: i64) -> Result<ScenarioTime, Refusal> {
    if !(0..=MAX_SCENARIO_MS).contains(&ms) {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {ms} is outside scenario time 0..={MAX_SCENARIO_MS} ms"
        )));
    }
    Ok(ScenarioTime(ms))
}

/// A list length within `limit`.
pub fn list_len(field: impl Display, len: usize, limit: usize) -> Result<(), Refusal> {
    if len > limit {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {len} entries, more than the limit of {limit}"
        )));
    }
    Ok(())
}

/// A known resource type. An overlong value is refused by its length,
/// never echoed: a status message travels in an HTTP/2 header, and one of
/// megabytes makes the peer close the whole connection.
pub fn resource_type(field: impl Display, value: &str) -> Result<ResourceType, Refusal> {
    if value.len() > MAX_RESOURCE_TYPE_LEN {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {} bytes, longer than any resource type (at most {MAX_RESOURCE_TYPE_LEN})",
            value.len()
        )));
    }
    value
        .parse()
        .map_err(|e| Refusal::invalid_argument(format!("{field}: {e}")))
}

/// A quantity of `t` that is neither negative nor absurd.
pub fn quantity(field: impl Display, t: ResourceType, q: i64) -> Result<i64, Refusal> {
    let max = match t.category() {
        Category::Personnel => MAX_PERSONNEL,
        Category::Material => MAX_MATERIAL,
        Category::Funds => MAX_FUNDS_CNY,
    };
    if !(0..=max).contains(&q) {
        return Err(Refusal::invalid_argument(format!(
            "{field}: {q} is outside 0..={max} for {t}"
        )));
    }
    Ok(q)
}

/// A list of resource quantities: bounded, known types, sane quantities,
/// each type at most once. The one way from wire lines to [`Quantities`].
pub fn quantities(
    field: impl Display + Copy,
    lines: &[ResourceQuantity],
) -> Result<Quantities, Refusal> {
    list_len(field, lines.len(), MAX_LINES)?;
    let mut map = Quantities::new();
    for (i, line) in lines.iter().enumerate() {
        let t = resource_type(
            format_args!("{field}[{i}].resource_type"),
            &line.resource_type,
        )?;
        let q = quantity(format_args!("{field}[{i}].quantity"), t, line.quantity)?;
        if map.insert(t, q).is_some() {
            return Err(Refusal::invalid_argument(format!(
                "{field}[{i}].resource_type: {t} appears more than once"
            )));
        }
    }
    Ok(map)
}

/// Latest clock epoch accepted (the year 3000): far beyond any run, and far
/// enough from `i64::MAX` that time arithmetic on it cannot overflow.
pub const MAX_EPOCH_UNIX_MS: i64 = 32_503_680_000_000;

/// The one way from a wire clock (`ClockStart.clock`, `Registration.clock`)
/// to a [`Clock`]: present, an epoch that is a wall time, a speed in
/// `DAY_MS_RANGE`, and the scenario's own start date.
pub fn clock(
    field: &str,
    wire: Option<&ScenarioClock>,
    scenario_start: NaiveDate,
) -> Result<Clock, Refusal> {
    let c = wire.ok_or_else(|| Refusal::invalid_argument(format!("{field}: missing")))?;
    if !(1..=MAX_EPOCH_UNIX_MS).contains(&c.epoch_unix_ms) {
        return Err(Refusal::invalid_argument(format!(
            "{field}.epoch_unix_ms: {} is not a wall time in 1..={MAX_EPOCH_UNIX_MS}",
            c.epoch_unix_ms
        )));
    }
    checked_day_ms(&format!("{field}.day_ms"), c.day_ms).map_err(Refusal::invalid_argument)?;
    text(format_args!("{field}.start_date"), &c.start_date)?;
    let start = NaiveDate::parse_from_str(&c.start_date, "%Y-%m-%d").map_err(|e| {
        Refusal::invalid_argument(format!(
            "{field}.start_date: {:?} is not a date: {e}",
            c.start_date
        ))
    })?;
    if start != scenario_start {
        return Err(Refusal::invalid_argument(format!(
            "{field}.start_date: {start} differs from the scenario's {scenario_start}"
        )));
    }
    // The run's seed comes with either clock: every seeded draw of a node
    // (transit loss, the city's tally) must be the draw central reckons with.
    let clock = Clock {
        seed: c.seed,
        ..Clock::new(c.epoch_unix_ms, c.day_ms, start)
    };
    if !c.lockstep {
        return Ok(clock);
    }
    let granted = scenario_time(format_args!("{field}.granted_ms"), c.granted_ms)?;
    let mut clock = clock.lockstep(c.seed);
    clock.grant(granted);
    Ok(clock)
}

/// A city's situation: present, every count non-negative and below 100
/// million, active cases within the confirmed total.
pub fn situation(field: impl Display, s: Option<&Situation>) -> Result<&Situation, Refusal> {
    let s = s.ok_or_else(|| Refusal::invalid_argument(format!("{field}: missing")))?;
    let counts = [
        ("confirmed_total", s.confirmed_total),
        ("active_cases", s.active_cases),
        ("severe", s.severe),
        ("critical", s.critical),
        ("beds", s.beds),
        ("local_doctors", s.local_doctors),
        ("local_nurses", s.local_nurses),
        ("new_cases_today", s.new_cases_today),
        ("days_without_new_cases", s.days_without_new_cases),
    ];
    for (name, value) in counts {
        if !(0..100_000_000).contains(&value) {
            return Err(Refusal::invalid_argument(format!(
                "{field}.{name}: {value} is outside 0..100000000"
            )));
        }
    }
    if s.active_cases > s.confirmed_total {
        return Err(Refusal::invalid_argument(format!(
            "{field}.active_cases: {} exceeds confirmed_total {}",
            s.active_cases, s.confirmed_total
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refusal::RefusalCode as Code;

    fn line(t: &str, q: i64) -> ResourceQuantity {
        ResourceQuantity {
            resource_type: t.into(),
            quantity: q,
        }
    }

    #[test]
    fn negative_quantity_names_the_field() {
        let err = quantities("needs", &[line("personnel/doctor", -1)]).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(
            err.message().starts_with("needs[0].quantity"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn unknown_type_names_the_field() {
        let err = quantities("needs", &[line("x", 1), line("y", 1)]).unwrap_err();
        assert!(err.message().starts_with("needs[0].resource_type"));
    }

    #[test]
    fn an_overlong_type_is_refused_without_echoing_it() {
        let long = "x".repeat(100_000);
        let err = quantities("needs", &[line(&long, 1)]).unwrap_err();
        assert!(err
            .message()
            .starts_with("needs[0].resource_type: 100000 bytes"));
        assert!(err.message().len() < 200, "{}", err.message());
    }

    #[test]
    fn absurd_personnel_is_refused() {
        let err = quantities("t", &[line("personnel/nurse", 5_000_000)]).unwrap_err();
        assert!(err.message().contains("personnel/nurse"));
    }

    #[test]
    fn duplicate_type_is_refused() {
        let lines = [line("funds/cny", 1), line("funds/cny", 2)];
        assert!(quantities("t", &lines).is_err());
    }

    #[test]
    fn missing_header_is_refused() {
        assert_eq!(header(None).unwrap_err().message(), "header: missing");
    }

    #[test]
    fn quantities_round_trip_through_wire_lines() {
        let map = quantities("t", &[line("funds/cny", 10), line("personnel/doctor", 3)]).unwrap();
        assert_eq!(quantities("t", &map.to_wire()).unwrap(), map);
    }

    /// One check of a wire clock for both nodes: each bad field is named.
    #[test]
    fn a_wire_clock_is_checked_field_by_field() {
        let start = NaiveDate::from_ymd_opt(2020, 2, 7).unwrap();
        let good = ScenarioClock {
            epoch_unix_ms: 1_700_000_000_000,
            day_ms: 500,
            start_date: "2020-02-07".into(),
            ..Default::default()
        };
        assert_eq!(clock("clock", Some(&good), start).unwrap().day_ms, 500);
        let refused = |c: ScenarioClock| clock("clock", Some(&c), start).unwrap_err();
        let too_slow = refused(ScenarioClock {
            day_ms: DAY_MS + 1,
            ..good.clone()
        });
        assert!(too_slow
            .message()
            .starts_with("clock.day_ms: 86400001 is outside"));
        let no_epoch = refused(ScenarioClock {
            epoch_unix_ms: 0,
            ..good.clone()
        });
        assert!(no_epoch.message().starts_with("clock.epoch_unix_ms: 0"));
        let other_start = refused(ScenarioClock {
            start_date: "2020-01-23".into(),
            ..good
        });
        assert!(other_start
            .message()
            .contains("differs from the scenario's 2020-02-07"));
        assert_eq!(
            clock("clock", None, start).unwrap_err().message(),
            "clock: missing"
        );
    }
}
