//! Loading a scenario file: TOML text in, a validated [`Scenario`] out, or
//! the first problem as file, line, field path and message.
//!
//! - this file: the entry points, the error, the header and rules checks.
//! - `raw`: the file as written, with byte spans; syntax, type, missing and
//!   unknown keys fail there, with the field path recovered from the span.
//! - `catalog`: the resource types the file declares, beside the ten
//!   defaults, installed in this process as they are checked.
//! - `nodes`: ids, cities (curves, historical donors) and provinces.
//!
//! Nothing in a file can make the loader panic: every problem is an error.

mod catalog;
mod nodes;
mod raw;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use pairing_proto::resource::ResourceType;
use toml::Spanned;

use super::{PairingMode, Rules, Scenario};
use catalog::Catalog;
pub use catalog::MAX_DECLARED_TYPES;
use raw::{key_segment, RawAmounts, RawHeader, RawPairingMode, RawRules, RawScenario};

/// Why a scenario file was refused, shown as `file:line: field: message`.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// Path of the offending value, e.g. `cities[3].historical_donors[0]`.
    pub field: String,
    pub message: String,
}

/// Reads and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        field: "(file)".into(),
        message: e.to_string(),
    })?;
    parse(&text, &path.display().to_string())
}

/// Validates scenario `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let mut source = Source {
        text,
        file,
        catalog: Catalog::defaults(),
    };
    let raw = raw::read(text).map_err(|f| source.error(f.offset, &f.field, f.message))?;
    // First, so that the tables below can name the declared types.
    source.catalog = source.declarations(&raw.resource_types)?;
    source.scenario(&raw)
}

/// Names allowed in each node's `estimated` list: the node's own fields.
#[rustfmt::skip]
const SCENARIO_FIELDS: &[&str] = &[
    "name", "description", "start_date", "end_date", "needs_per_active_case", "unit_cost_cny",
];
#[rustfmt::skip]
const RULE_FIELDS: &[&str] = &[
    "pairing_mode", "decision_window_days", "report_interval_days", "evaluation_interval_days",
    "quiet_days_to_demobilise", "max_outbreak_level", "intensity_cap", "recovery_days",
    "severe_fraction", "critical_fraction", "request_threshold", "transit_days",
    "transit_loss_rate", "mobilisation_days", "shipment_interval_days",
];

/// The file being checked; turns byte offsets into line numbers.
struct Source<'a> {
    text: &'a str,
    file: &'a str,
    /// The resource types the file may name: the defaults and its own.
    catalog: Catalog,
}

impl Source<'_> {
    fn error(&self, offset: usize, field: &str, message: impl Into<String>) -> ScenarioError {
        let before = &self.text.as_bytes()[..offset.min(self.text.len())];
        ScenarioError {
            file: self.file.to_string(),
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// An error at `at`'s line unless `ok`.
    fn ensure<T>(
        &self,
        ok: bool,
        at: &Spanned<T>,
        field: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), ScenarioError> {
        if ok {
            Ok(())
        } else {
            Err(self.error(at.span().start, field, message()))
        }
    }

    /// The value, unless `problem` finds something wrong with it.
    fn checked<T: Copy>(
        &self,
        value: &Spanned<T>,
        field: &str,
        problem: impl FnOnce(T) -> Option<String>,
    ) -> Result<T, ScenarioError> {
        match problem(*value.get_ref()) {
            Some(message) => Err(self.error(value.span().start, field, message)),
            None => Ok(*value.get_ref()),
        }
    }

    /// A name or label: anything but blank.
    fn text(&self, value: &Spanned<String>, field: &str) -> Result<String, ScenarioError> {
        let blank = value.get_ref().trim().is_empty();
        self.ensure(!blank, value, field, || "must not be empty".into())?;
        Ok(value.get_ref().clone())
    }

    fn scenario(&self, raw: &RawScenario) -> Result<Scenario, ScenarioError> {
        let (name, start_date, end_date) = self.header(&raw.scenario)?;
        let rules = self.rules(&raw.rules)?;
        let needs_per_active_case = self.amounts(
            &raw.needs_per_active_case,
            "needs_per_active_case",
            quantity,
        )?;
        let unit_cost_cny = self.amounts(&raw.unit_cost_cny, "unit_cost_cny", count)?;
        let (cities, provinces) = self.nodes(raw, rules.pairing_mode)?;
        Ok(Scenario {
            name,
            description: raw.scenario.description.clone(),
            start_date,
            end_date,
            rules,
            needs_per_active_case,
            unit_cost_cny,
            cities,
            provinces,
        })
    }

    /// The `[scenario]` table: its name and its dates, in order.
    fn header(&self, header: &RawHeader) -> Result<(String, NaiveDate, NaiveDate), ScenarioError> {
        let name = self.text(&header.name, "scenario.name")?;
        let (start, end) = (header.start_date.get_ref().0, header.end_date.get_ref().0);
        self.ensure(start < end, &header.end_date, "scenario.end_date", || {
            format!("{end} is not after start_date {start}")
        })?;
        let estimated = &header.estimated;
        self.estimated(
            estimated,
            "scenario.estimated",
            SCENARIO_FIELDS,
            "[scenario]",
        )?;
        Ok((name, start, end))
    }

    fn rules(&self, r: &RawRules) -> Result<Rules, ScenarioError> {
        let field = |name: &str| format!("rules.{name}");
        let days =
            |value: &Spanned<f64>, name: &str| self.checked(value, &field(name), positive_days);
        let share = |value: &Spanned<f64>, name: &str| self.checked(value, &field(name), fraction);
        let rules = Rules {
            pairing_mode: match r.pairing_mode {
                RawPairingMode::Historical => PairingMode::Historical,
                RawPairingMode::Optimized => PairingMode::Optimized,
            },
            decision_window_days: days(&r.decision_window_days, "decision_window_days")?,
            report_interval_days: days(&r.report_interval_days, "report_interval_days")?,
            evaluation_interval_days: days(
                &r.evaluation_interval_days,
                "evaluation_interval_days",
            )?,
            quiet_days_to_demobilise: self.checked(
                &r.quiet_days_to_demobilise,
                &field("quiet_days_to_demobilise"),
                |d| (d == 0).then(|| "must be at least 1 day".to_string()),
            )?,
            max_outbreak_level: self.checked(
                &r.max_outbreak_level,
                &field("max_outbreak_level"),
                level,
            )?,
            intensity_cap: self.checked(&r.intensity_cap, &field("intensity_cap"), |cap| {
                let ok = cap.is_finite() && cap >= 1.0;
                (!ok).then(|| format!("must be a multiple >= 1 of the need, got {cap}"))
            })?,
            supervision: true,
            recovery_days: days(&r.recovery_days, "recovery_days")?,
            severe_fraction: share(&r.severe_fraction, "severe_fraction")?,
            critical_fraction: share(&r.critical_fraction, "critical_fraction")?,
            request_threshold: self.checked(
                &r.request_threshold,
                &field("request_threshold"),
                |t| (!(t > 0.0 && t <= 2.0)).then(|| format!("must be in (0, 2], got {t}")),
            )?,
            transit_days: days(&r.transit_days, "transit_days")?,
            transit_loss_rate: share(&r.transit_loss_rate, "transit_loss_rate")?,
            mobilisation_days: days(&r.mobilisation_days, "mobilisation_days")?,
            shipment_interval_days: days(&r.shipment_interval_days, "shipment_interval_days")?,
        };
        let ill = rules.severe_fraction + rules.critical_fraction;
        self.ensure(
            ill <= 1.0,
            &r.critical_fraction,
            &field("critical_fraction"),
            || format!("severe_fraction + critical_fraction is {ill}, more than every active case"),
        )?;
        self.estimated(&r.estimated, &field("estimated"), RULE_FIELDS, "[rules]")?;
        Ok(rules)
    }

    /// A resource-type table, checked in file order so that the error is
    /// the first one in the file.
    fn amounts<T: Copy>(
        &self,
        table: &RawAmounts<T>,
        path: &str,
        problem: impl Fn(T) -> Option<String>,
    ) -> Result<BTreeMap<ResourceType, T>, ScenarioError> {
        let mut entries: Vec<_> = table.get_ref().iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut amounts = BTreeMap::new();
        for (key, value) in entries {
            let field = format!("{path}.{}", key_segment(key.get_ref()));
            let resource: ResourceType = self.catalog.resolve(key.get_ref()).map_err(|e| {
                let hint = "a scenario adds a type under [[resource_types]]";
                self.error(key.span().start, &field, format!("{e}; {hint}"))
            })?;
            amounts.insert(resource, self.checked(value, &field, &problem)?);
        }
        Ok(amounts)
    }

    /// Checks that an `estimated` list names fields of its node.
    fn estimated(
        &self,
        names: &[Spanned<String>],
        field: &str,
        allowed: &[&str],
        node: &str,
    ) -> Result<Vec<String>, ScenarioError> {
        let mut checked = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let known = allowed.contains(&name.get_ref().as_str());
            self.ensure(known, name, &format!("{field}[{i}]"), || {
                let fields = allowed.join(", ");
                format!(
                    "{:?} is not a field of {node} (fields: {fields})",
                    name.get_ref()
                )
            })?;
            checked.push(name.get_ref().clone());
        }
        Ok(checked)
    }
}

fn positive_days(days: f64) -> Option<String> {
    let ok = days.is_finite() && days > 0.0;
    (!ok).then(|| format!("must be a duration > 0 days, got {days}"))
}

fn fraction(f: f64) -> Option<String> {
    (!(0.0..=1.0).contains(&f)).then(|| format!("must be a fraction in [0, 1], got {f}"))
}

fn quantity(q: f64) -> Option<String> {
    let ok = q.is_finite() && q >= 0.0;
    (!ok).then(|| format!("must be a finite number >= 0, got {q}"))
}

fn count(n: i64) -> Option<String> {
    (n < 0).then(|| format!("must be >= 0, got {n}"))
}

/// Outbreak levels run from 0 (none) to 4.
fn level(l: i32) -> Option<String> {
    (!(0..=4).contains(&l)).then(|| format!("outbreak levels run 0..=4, got {l}"))
}
