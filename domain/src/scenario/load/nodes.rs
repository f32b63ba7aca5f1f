//! Checking the scenario's nodes: ids, cities with their curves and
//! historical donors, provinces with their outbreak events and prefectures.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::raw::{PrefectureEstimate, RawCity, RawCurvePoint, RawProvince, RawScenario};
use super::{count, level, quantity, ScenarioError, Source};
use crate::scenario::{
    City, CurvePoint, Location, OutbreakEvent, PairingMode, Prefecture, Province,
};

/// Names allowed in each node's `estimated` list: the node's own fields.
#[rustfmt::skip]
const CITY_FIELDS: &[&str] = &[
    "name", "name_zh", "population_millions", "beds", "local_doctors", "local_nurses",
    "historical_donors", "curve", "lat", "lon", "final_deaths",
];
const PROVINCE_FIELDS: &[&str] = &[
    "name",
    "outbreak_level",
    "outbreak_events",
    "prefectures",
    "lat",
    "lon",
];
const PREFECTURE_FIELDS: &[&str] = &["name", "pool"];

impl Source<'_> {
    /// The cities and provinces, once their ids are known to be unique and
    /// every historical donor can be looked up.
    pub(super) fn nodes(
        &self,
        raw: &RawScenario,
        mode: PairingMode,
    ) -> Result<(Vec<City>, Vec<Province>), ScenarioError> {
        let (cities, provinces) = (&raw.cities, &raw.provinces);
        self.ensure(!cities.get_ref().is_empty(), cities, "cities", || {
            "a scenario needs at least one city".into()
        })?;
        self.ensure(
            !provinces.get_ref().is_empty(),
            provinces,
            "provinces",
            || "a scenario needs at least one province".into(),
        )?;
        self.unique_ids(raw)?;
        let province_ids: BTreeSet<&str> = provinces
            .get_ref()
            .iter()
            .map(|p| p.id.get_ref().as_str())
            .collect();
        let cities = (cities.get_ref().iter().enumerate())
            .map(|(i, c)| self.city(i, c, &province_ids, mode))
            .collect::<Result<_, _>>()?;
        let provinces = (provinces.get_ref().iter().enumerate())
            .map(|(i, p)| self.province(i, p))
            .collect::<Result<_, _>>()?;
        Ok((cities, provinces))
    }

    /// Every city and province id is well formed and used once; the
    /// second use (in file order) is the error.
    fn unique_ids(&self, raw: &RawScenario) -> Result<(), ScenarioError> {
        let cities = (raw.cities.get_ref().iter().enumerate())
            .map(|(i, c)| (&c.id, format!("cities[{i}].id")));
        let provinces = (raw.provinces.get_ref().iter().enumerate())
            .map(|(i, p)| (&p.id, format!("provinces[{i}].id")));
        let mut ids: Vec<_> = cities.chain(provinces).collect();
        ids.sort_by_key(|(id, _)| id.span().start);
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, field) in &ids {
            let text = id.get_ref().as_str();
            let well_formed = text.starts_with(|c: char| c.is_ascii_lowercase())
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            self.ensure(well_formed, id, field, || {
                format!("{text:?} is not an id: [a-z][a-z0-9-]*")
            })?;
            self.ensure(text != "central", id, field, || {
                "\"central\" is the central authority's node id".into()
            })?;
            if let Some(first) = seen.insert(text, field) {
                let message = format!("id {text:?} is already used by {first}");
                return Err(self.error(id.span().start, field, message));
            }
        }
        Ok(())
    }

    fn city(
        &self,
        i: usize,
        c: &RawCity,
        province_ids: &BTreeSet<&str>,
        mode: PairingMode,
    ) -> Result<City, ScenarioError> {
        let field = |name: &str| format!("cities[{i}].{name}");
        let name = self.text(&c.name, &field("name"))?;
        let name_zh = self.text(&c.name_zh, &field("name_zh"))?;
        let population_millions = self.checked(
            &c.population_millions,
            &field("population_millions"),
            quantity,
        )?;
        let beds = self.checked(&c.beds, &field("beds"), count)?;
        let local_doctors = self.checked(&c.local_doctors, &field("local_doctors"), count)?;
        let local_nurses = self.checked(&c.local_nurses, &field("local_nurses"), count)?;
        let final_deaths = (c.final_deaths.as_ref())
            .map(|d| self.checked(d, &field("final_deaths"), count))
            .transpose()?;
        let mut historical_donors: Vec<String> = Vec::new();
        for (j, donor) in c.historical_donors.iter().enumerate() {
            let at = field(&format!("historical_donors[{j}]"));
            let id = donor.get_ref();
            self.ensure(province_ids.contains(id.as_str()), donor, &at, || {
                format!("no province has id {id:?}")
            })?;
            self.ensure(!historical_donors.contains(id), donor, &at, || {
                format!("{id:?} is listed twice")
            })?;
            historical_donors.push(id.clone());
        }
        let paired = mode != PairingMode::Historical || !historical_donors.is_empty();
        self.ensure(paired, &c.id, &field("historical_donors"), || {
            "pairing_mode is \"historical\", so every city needs at least one historical donor"
                .into()
        })?;
        let (curve, estimated_points) = self.curve(i, &c.curve)?;
        let mut estimated =
            self.estimated(&c.estimated, &field("estimated"), CITY_FIELDS, "a city")?;
        estimated.extend(estimated_points);
        let location = self.location(&c.id, &c.lat, &c.lon, &field)?;
        Ok(City {
            id: c.id.get_ref().clone(),
            name,
            name_zh,
            population_millions,
            beds,
            local_doctors,
            local_nurses,
            final_deaths,
            historical_donors,
            curve,
            location,
            estimated,
        })
    }

    /// The curve, and `curve[j]` for each point marked an estimate.
    fn curve(
        &self,
        i: usize,
        points: &Spanned<Vec<RawCurvePoint>>,
    ) -> Result<(Vec<CurvePoint>, Vec<String>), ScenarioError> {
        self.ensure(
            !points.get_ref().is_empty(),
            points,
            &format!("cities[{i}].curve"),
            || "needs at least one point".into(),
        )?;
        let mut curve: Vec<CurvePoint> = Vec::with_capacity(points.get_ref().len());
        let mut estimates = Vec::new();
        for (j, p) in points.get_ref().iter().enumerate() {
            let field = |name: &str| format!("cities[{i}].curve[{j}]{name}");
            let date = p.date.get_ref().0;
            let confirmed = self.checked(&p.confirmed, &field(".confirmed"), count)?;
            if let Some(previous) = curve.last() {
                self.ensure(date > previous.date, &p.date, &field(".date"), || {
                    format!("{date} is not after the previous point's {}", previous.date)
                })?;
                let (before, now) = (previous.confirmed, confirmed);
                self.ensure(now >= before, &p.confirmed, &field(".confirmed"), || {
                    format!("{now} is below the previous point's {before}: the count is cumulative")
                })?;
            }
            let source = (p.source.as_ref())
                .map(|s| self.text(s, &field(".source")))
                .transpose()?;
            self.ensure(source.is_some() || p.estimate, &p.date, &field(""), || {
                "give the figure's `source`, or mark it `estimate = true`".into()
            })?;
            if p.estimate {
                estimates.push(format!("curve[{j}]"));
            }
            curve.push(CurvePoint {
                date,
                confirmed,
                source,
            });
        }
        Ok((curve, estimates))
    }

    fn province(&self, i: usize, p: &RawProvince) -> Result<Province, ScenarioError> {
        let field = |name: &str| format!("provinces[{i}].{name}");
        let name = self.text(&p.name, &field("name"))?;
        let outbreak_level = self.checked(&p.outbreak_level, &field("outbreak_level"), level)?;
        let mut outbreak_events: Vec<OutbreakEvent> = Vec::with_capacity(p.outbreak_events.len());
        for (j, event) in p.outbreak_events.iter().enumerate() {
            let at = |name: &str| field(&format!("outbreak_events[{j}].{name}"));
            let date = event.date.get_ref().0;
            if let Some(previous) = outbreak_events.last() {
                self.ensure(date > previous.date, &event.date, &at("date"), || {
                    format!("{date} is not after the previous event's {}", previous.date)
                })?;
            }
            let level = self.checked(&event.level, &at("level"), level)?;
            outbreak_events.push(OutbreakEvent { date, level });
        }
        let prefectures = p.prefectures.get_ref();
        self.ensure(
            !prefectures.is_empty(),
            &p.prefectures,
            &field("prefectures"),
            || "a province needs at least one prefecture-level city to draw its pool from".into(),
        )?;
        let mut estimated = self.estimated(
            &p.estimated,
            &field("estimated"),
            PROVINCE_FIELDS,
            "a province",
        )?;
        let mut checked: Vec<Prefecture> = Vec::with_capacity(prefectures.len());
        for (k, prefecture) in prefectures.iter().enumerate() {
            let at = |name: &str| field(&format!("prefectures[{k}].{name}"));
            let name = self.text(&prefecture.name, &at("name"))?;
            let unique = checked.iter().all(|other| other.name != name);
            self.ensure(unique, &prefecture.name, &at("name"), || {
                format!("{name:?} is listed twice")
            })?;
            let pool = self.amounts(&prefecture.pool, &at("pool"), count)?;
            let flag = prefecture.estimated.as_ref();
            estimated.extend(self.prefecture_estimates(k, flag, &at("estimated"))?);
            checked.push(Prefecture {
                name,
                pool: pool.into(),
            });
        }
        let location = self.location(&p.id, &p.lat, &p.lon, &field)?;
        Ok(Province {
            id: p.id.get_ref().clone(),
            name,
            outbreak_level,
            outbreak_events,
            prefectures: checked,
            location,
            estimated,
        })
    }

    /// A node's `lat` and `lon`: both or neither, in degrees.
    fn location(
        &self,
        id: &Spanned<String>,
        lat: &Option<Spanned<f64>>,
        lon: &Option<Spanned<f64>>,
        field: &dyn Fn(&str) -> String,
    ) -> Result<Option<Location>, ScenarioError> {
        match (lat, lon) {
            (None, None) => Ok(None),
            (Some(lat), Some(lon)) => Ok(Some(Location {
                lat: self.checked(lat, &field("lat"), |d| degrees(d, 90.0))?,
                lon: self.checked(lon, &field("lon"), |d| degrees(d, 180.0))?,
            })),
            (Some(_), None) => Err(self.error(id.span().start, &field("lon"), "lat without lon")),
            (None, Some(_)) => Err(self.error(id.span().start, &field("lat"), "lon without lat")),
        }
    }

    /// A prefecture's `estimated` flag, as entries of its province's list
    /// (the model's `Prefecture` has no list of its own).
    fn prefecture_estimates(
        &self,
        k: usize,
        flag: Option<&Spanned<PrefectureEstimate>>,
        field: &str,
    ) -> Result<Vec<String>, ScenarioError> {
        let Some(flag) = flag else {
            return Ok(Vec::new());
        };
        let fields = match flag.get_ref() {
            PrefectureEstimate::All(false) => Vec::new(),
            PrefectureEstimate::All(true) => vec!["pool".to_string()],
            PrefectureEstimate::Fields(fields) => fields.clone(),
        };
        let mut entries = Vec::with_capacity(fields.len());
        for name in fields {
            self.ensure(
                PREFECTURE_FIELDS.contains(&name.as_str()),
                flag,
                field,
                || {
                    let known = PREFECTURE_FIELDS.join(", ");
                    format!("{name:?} is not a field of a prefecture (fields: {known})")
                },
            )?;
            entries.push(format!("prefectures[{k}].{name}"));
        }
        Ok(entries)
    }
}

/// A latitude (`limit` 90) or longitude (`limit` 180) in degrees.
fn degrees(d: f64, limit: f64) -> Option<String> {
    let ok = d.is_finite() && (-limit..=limit).contains(&d);
    (!ok).then(|| format!("must be degrees within -{limit}..={limit}, got {d}"))
}
