//! The scenario file as written: serde structs that mirror the TOML one to
//! one (unknown keys are errors), keeping the byte span of every value the
//! loader checks; and the mapping of a TOML error's span back to the field
//! path it concerns (`cities[3].curve[2].confirmed`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Resource type (as written) to a quantity, e.g. `"personnel/doctor" = 20`.
pub type RawAmounts<T> = Spanned<BTreeMap<Spanned<String>, Spanned<T>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub scenario: RawHeader,
    pub rules: RawRules,
    /// Types beyond the default catalog; none when absent.
    #[serde(default)]
    pub resource_types: Vec<RawResourceType>,
    pub needs_per_active_case: RawAmounts<f64>,
    pub unit_cost_cny: RawAmounts<i64>,
    pub cities: Spanned<Vec<RawCity>>,
    pub provinces: Spanned<Vec<RawProvince>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: Spanned<String>,
    pub description: String,
    pub start_date: Spanned<RawDate>,
    pub end_date: Spanned<RawDate>,
    #[serde(default)]
    pub estimated: Vec<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RawPairingMode {
    Historical,
    Optimized,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    pub pairing_mode: RawPairingMode,
    pub decision_window_days: Spanned<f64>,
    pub report_interval_days: Spanned<f64>,
    pub evaluation_interval_days: Spanned<f64>,
    pub quiet_days_to_demobilise: Spanned<u32>,
    pub max_outbreak_level: Spanned<i32>,
    pub intensity_cap: Spanned<f64>,
    pub recovery_days: Spanned<f64>,
    pub severe_fraction: Spanned<f64>,
    pub critical_fraction: Spanned<f64>,
    pub request_threshold: Spanned<f64>,
    pub transit_days: Spanned<f64>,
    pub transit_loss_rate: Spanned<f64>,
    pub mobilisation_days: Spanned<f64>,
    pub shipment_interval_days: Spanned<f64>,
    #[serde(default)]
    pub estimated: Vec<Spanned<String>>,
}

/// One `[[resource_types]]` entry: a type the scenario adds to the ten.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResourceType {
    pub id: Spanned<String>,
    pub category: Spanned<RawCategory>,
    pub unit: Spanned<String>,
    pub travels_with_team: Spanned<bool>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RawCategory {
    Personnel,
    Material,
    Funds,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCity {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub name_zh: Spanned<String>,
    pub population_millions: Spanned<f64>,
    pub beds: Spanned<i64>,
    pub local_doctors: Spanned<i64>,
    pub local_nurses: Spanned<i64>,
    pub final_deaths: Option<Spanned<i64>>,
    #[serde(default)]
    pub historical_donors: Vec<Spanned<String>>,
    #[serde(default)]
    pub estimated: Vec<Spanned<String>>,
    pub curve: Spanned<Vec<RawCurvePoint>>,
    pub lat: Option<Spanned<f64>>,
    pub lon: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCurvePoint {
    pub date: Spanned<RawDate>,
    pub confirmed: Spanned<i64>,
    pub source: Option<Spanned<String>>,
    #[serde(default)]
    pub estimate: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvince {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub outbreak_level: Spanned<i32>,
    #[serde(default)]
    pub outbreak_events: Vec<RawOutbreakEvent>,
    #[serde(default)]
    pub estimated: Vec<Spanned<String>>,
    pub prefectures: Spanned<Vec<RawPrefecture>>,
    pub lat: Option<Spanned<f64>>,
    pub lon: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbreakEvent {
    pub date: Spanned<RawDate>,
    pub level: Spanned<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrefecture {
    pub name: Spanned<String>,
    pub pool: RawAmounts<i64>,
    pub estimated: Option<Spanned<PrefectureEstimate>>,
}

/// A calendar date written as the string "YYYY-MM-DD".
#[derive(Clone, Copy)]
pub struct RawDate(pub NaiveDate);

impl<'de> Deserialize<'de> for RawDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl<'de> Visitor<'de> for DateVisitor {
            type Value = RawDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date as a string \"YYYY-MM-DD\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDate, E> {
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d");
                date.map(RawDate)
                    .map_err(|e| E::custom(format!("{text:?} is not a date \"YYYY-MM-DD\": {e}")))
            }
            // A bare TOML date arrives as a map: say what to write instead
            // of serde's "invalid type: map".
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<RawDate, A::Error> {
                let message = "write the date as a quoted string, e.g. \"2020-02-07\"";
                Err(de::Error::custom(message))
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

/// A prefecture's `estimated`: `true` (its pool figures are estimates) or
/// the list of its fields that are, e.g. `["name", "pool"]` when even its
/// taking part is unconfirmed.
pub enum PrefectureEstimate {
    All(bool),
    Fields(Vec<String>),
}

impl<'de> Deserialize<'de> for PrefectureEstimate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EstimateVisitor;
        impl<'de> Visitor<'de> for EstimateVisitor {
            type Value = PrefectureEstimate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, or a list of field names like [\"name\", \"pool\"]")
            }
            fn visit_bool<E: de::Error>(self, all: bool) -> Result<PrefectureEstimate, E> {
                Ok(PrefectureEstimate::All(all))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = seq.next_element::<String>()? {
                    fields.push(field);
                }
                Ok(PrefectureEstimate::Fields(fields))
            }
        }
        deserializer.deserialize_any(EstimateVisitor)
    }
}

/// What a TOML error says: where (byte offset), which field, and what.
pub struct TomlFault {
    pub offset: usize,
    pub field: String,
    pub message: String,
}

/// Parses and deserializes the file, or says where and why it cannot.
pub fn read(text: &str) -> Result<RawScenario, TomlFault> {
    // The syntax tree, even a partial one, names the field at a span.
    let (tree, syntax_errors) = DeTable::parse_recoverable(text);
    if let Some(error) = syntax_errors.first() {
        let span = error.span().unwrap_or(0..0);
        let column = column(text, span.start);
        return Err(TomlFault {
            offset: span.start,
            field: field_at(&tree, &span).unwrap_or_else(|| "(document)".into()),
            message: format!("TOML syntax, column {column}: {}", error.message()),
        });
    }
    toml::from_str(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let mut field = field_at(&tree, &span).unwrap_or_default();
        // serde names a missing key only in its message; the span is the
        // table that lacks it.
        let message = error.message();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'));
        if let Some(missing) = missing {
            field = join(&field, &key_segment(missing));
        }
        if field.is_empty() {
            field = "(document)".into();
        }
        TomlFault {
            offset: span.start,
            field,
            message: message.to_string(),
        }
    })
}

/// 1-based column (in characters) of byte `offset`; never panics, even off
/// a character boundary.
fn column(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1
}

/// The path of the smallest key or value whose span holds `span`; on a tie
/// the deeper one (an `[[array]]` and its first table share a span).
fn field_at(tree: &Spanned<DeTable>, span: &Range<usize>) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    let mut consider = |node: &Range<usize>, path: &str| {
        let holds = node.start <= span.start && span.end <= node.end;
        if holds && best.as_ref().is_none_or(|(len, _)| node.len() <= *len) {
            best = Some((node.len(), path.to_string()));
        }
    };
    walk_table(tree.get_ref(), "", &mut consider);
    best.map(|(_, path)| path).filter(|path| !path.is_empty())
}

fn walk_table(table: &DeTable, path: &str, visit: &mut impl FnMut(&Range<usize>, &str)) {
    for (key, value) in table.iter() {
        let here = join(path, &key_segment(key.get_ref()));
        visit(&key.span(), &here);
        walk_value(value, &here, visit);
    }
}

fn walk_value(value: &Spanned<DeValue>, path: &str, visit: &mut impl FnMut(&Range<usize>, &str)) {
    visit(&value.span(), path);
    match value.get_ref() {
        DeValue::Table(table) => walk_table(table, path, visit),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(item, &format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

/// A key as it appears in a field path: bare when TOML allows it, else
/// quoted, e.g. `needs_per_active_case."personnel/doctor"`.
pub fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else {
        format!("{path}.{segment}")
    }
}
