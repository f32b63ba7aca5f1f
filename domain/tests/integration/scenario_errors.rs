//! Broken scenario files are refused with the line and field of the fault.
//! Each case breaks `small.toml` in one place.

use std::path::PathBuf;

use counterpart_domain::scenario::{parse, ScenarioError};

fn small() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/scenarios/small.toml");
    std::fs::read_to_string(path).expect("small.toml")
}

/// 1-based line of the `nth` (from 0) line holding `marker`, comments
/// aside (the file's header comment quotes the format).
fn line_of(text: &str, marker: &str, nth: usize) -> usize {
    let mut holding = (text.lines().enumerate())
        .filter(|(_, line)| !line.trim_start().starts_with('#') && line.contains(marker));
    let (index, _) = holding.nth(nth).unwrap_or_else(|| {
        panic!("{marker:?} is on fewer than {} lines", nth + 1);
    });
    index + 1
}

struct Break {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    field: &'static str,
    /// The error's line is that of this marker's `nth` occurrence in the
    /// broken text.
    line_at: (&'static str, usize),
    says: &'static str,
}

const WEST_CURVE: &str = r#"curve = [
  { date = "2020-01-21", confirmed = 0, estimate = true },
  { date = "2020-02-07", confirmed = 190, estimate = true },
  { date = "2020-02-20", confirmed = 200, estimate = true },
]"#;
const WEST_LAST: &str = r#"{ date = "2020-02-20", confirmed = 200, estimate = true }"#;
const CITY_ESTIMATES: &str = r#"estimated = ["population_millions", "beds", "local_doctors", "local_nurses", "curve", "lat", "lon"]"#;
const CITY_ESTIMATES_AND_COLOUR: &str = r#"estimated = ["population_millions", "beds", "local_doctors", "local_nurses", "curve", "lat", "lon", "colour"]"#;
const EVENTS_OUT_OF_ORDER: &str = r#"outbreak_level = 0
outbreak_events = [
  { date = "2020-03-01", level = 2 },
  { date = "2020-02-01", level = 3 },
]
"#;
/// The file's last line, then a province with no prefectures.
const LAST_LINE_THEN_EMPTY_PROVINCE: &str = "\"funds/cny\" = 3_000_000

[[provinces]]
id = \"gamma\"
name = \"Gamma\"
outbreak_level = 0
prefectures = []";

#[rustfmt::skip]
const BREAKS: &[Break] = &[
    Break { what: "unknown resource type in a rate",
        from: r#""personnel/doctor" = 0.25"#, to: r#""personnel/docter" = 0.25"#,
        field: r#"needs_per_active_case."personnel/docter""#, line_at: ("personnel/docter", 0),
        says: "unknown resource type" },
    Break { what: "unknown resource type in a pool",
        from: r#""material/goggles" = 4500"#, to: r#""material/gogles" = 4500"#,
        field: r#"provinces[0].prefectures[0].pool."material/gogles""#, line_at: ("material/gogles", 0),
        says: "unknown resource type" },
    Break { what: "unknown historical donor",
        from: r#"historical_donors = ["alpha"]"#, to: r#"historical_donors = ["alpha", "gamma"]"#,
        field: "cities[1].historical_donors[1]", line_at: (r#""gamma""#, 0),
        says: r#"no province has id "gamma""# },
    Break { what: "donor listed twice",
        from: r#"["alpha", "beta"]"#, to: r#"["alpha", "alpha"]"#,
        field: "cities[0].historical_donors[1]", line_at: (r#"["alpha", "alpha"]"#, 0),
        says: "listed twice" },
    Break { what: "duplicate city id",
        from: r#"id = "west""#, to: r#"id = "north""#,
        field: "cities[2].id", line_at: (r#"id = "north""#, 1),
        says: "already used by cities[0].id" },
    Break { what: "city and province share an id",
        from: r#"id = "west""#, to: r#"id = "alpha""#,
        field: "provinces[0].id", line_at: (r#"id = "alpha""#, 1),
        says: "already used by cities[2].id" },
    Break { what: "id of central",
        from: r#"id = "beta""#, to: r#"id = "central""#,
        field: "provinces[1].id", line_at: (r#"id = "central""#, 0), says: "central authority" },
    Break { what: "malformed id",
        from: r#"id = "west""#, to: r#"id = "West""#,
        field: "cities[2].id", line_at: (r#"id = "West""#, 0), says: "not an id" },
    Break { what: "decreasing curve",
        from: WEST_LAST, to: r#"{ date = "2020-02-20", confirmed = 180, estimate = true }"#,
        field: "cities[2].curve[2].confirmed", line_at: ("confirmed = 180,", 0),
        says: "cumulative" },
    Break { what: "curve dates out of order",
        from: r#""2020-02-12", confirmed = 360"#, to: r#""2020-02-07", confirmed = 360"#,
        field: "cities[1].curve[2].date", line_at: (r#""2020-02-07", confirmed = 360"#, 0),
        says: "not after" },
    Break { what: "curve point neither sourced nor estimated",
        from: WEST_LAST, to: r#"{ date = "2020-02-20", confirmed = 200 }"#,
        field: "cities[2].curve[2]", line_at: ("confirmed = 200 }", 0), says: "source" },
    Break { what: "empty curve",
        from: WEST_CURVE, to: "curve = []",
        field: "cities[2].curve", line_at: ("curve = []", 0), says: "at least one point" },
    Break { what: "missing field of a city",
        from: "local_nurses = 100\n", to: "",
        field: "cities[2].local_nurses", line_at: ("[[cities]]", 2),
        says: "missing field `local_nurses`" },
    Break { what: "missing rule",
        from: "intensity_cap = 1.2\n", to: "",
        field: "rules.intensity_cap", line_at: ("[rules]", 0), says: "missing field" },
    Break { what: "missing scenario name",
        from: "name = \"small\"\n", to: "",
        field: "scenario.name", line_at: ("[scenario]", 0), says: "missing field" },
    Break { what: "unknown field",
        from: r#"name = "West City""#, to: "name = \"West City\"\ncolour = \"red\"",
        field: "cities[2].colour", line_at: ("colour", 0), says: "unknown field `colour`" },
    Break { what: "TOML syntax error",
        from: "beds = 500\n", to: "beds = 500 500\n",
        field: "cities[2].beds", line_at: ("beds = 500 500", 0), says: "TOML syntax" },
    Break { what: "wrong type",
        from: "beds = 600", to: "beds = \"600\"",
        field: "cities[1].beds", line_at: ("beds = \"600\"", 0), says: "invalid type" },
    Break { what: "negative count",
        from: "local_doctors = 40", to: "local_doctors = -40",
        field: "cities[1].local_doctors", line_at: ("local_doctors = -40", 0), says: ">= 0" },
    Break { what: "negative pool quantity",
        from: r#""personnel/nurse" = 80"#, to: r#""personnel/nurse" = -80"#,
        field: r#"provinces[1].prefectures[1].pool."personnel/nurse""#, line_at: ("= -80", 0),
        says: ">= 0" },
    Break { what: "rate that is not a number",
        from: r#""material/goggles" = 6.0"#, to: r#""material/goggles" = nan"#,
        field: r#"needs_per_active_case."material/goggles""#, line_at: ("= nan", 0),
        says: "finite" },
    Break { what: "impossible date",
        from: r#"start_date = "2020-02-07""#, to: r#"start_date = "2020-02-30""#,
        field: "scenario.start_date", line_at: ("start_date", 0), says: "not a date" },
    Break { what: "bare TOML date",
        from: r#"start_date = "2020-02-07""#, to: "start_date = 2020-02-07",
        field: "scenario.start_date", line_at: ("start_date", 0), says: "quoted string" },
    Break { what: "end before start",
        from: r#"end_date = "2020-04-15""#, to: r#"end_date = "2020-01-01""#,
        field: "scenario.end_date", line_at: ("end_date", 0), says: "not after start_date" },
    Break { what: "fraction above 1",
        from: "severe_fraction = 0.063", to: "severe_fraction = 1.5",
        field: "rules.severe_fraction", line_at: ("severe_fraction = 1.5", 0), says: "[0, 1]" },
    Break { what: "severe and critical above all cases",
        from: "severe_fraction = 0.063", to: "severe_fraction = 0.99",
        field: "rules.critical_fraction", line_at: ("critical_fraction =", 0),
        says: "more than every active case" },
    Break { what: "request threshold 0",
        from: "request_threshold = 0.9", to: "request_threshold = 0.0",
        field: "rules.request_threshold", line_at: ("request_threshold = 0.0", 0), says: "(0, 2]" },
    Break { what: "intensity cap below 1",
        from: "intensity_cap = 1.2", to: "intensity_cap = 0.5",
        field: "rules.intensity_cap", line_at: ("intensity_cap = 0.5", 0), says: ">= 1" },
    Break { what: "zero duration",
        from: "transit_days = 0.3", to: "transit_days = 0.0",
        field: "rules.transit_days", line_at: ("transit_days = 0.0", 0), says: "> 0 days" },
    Break { what: "zero quiet days",
        from: "quiet_days_to_demobilise = 7", to: "quiet_days_to_demobilise = 0",
        field: "rules.quiet_days_to_demobilise", line_at: ("quiet_days_to_demobilise = 0", 0),
        says: "at least 1" },
    Break { what: "unknown pairing mode",
        from: r#"pairing_mode = "historical""#, to: r#"pairing_mode = "random""#,
        field: "rules.pairing_mode", line_at: ("pairing_mode", 0),
        says: "unknown variant `random`" },
    Break { what: "outbreak level above 4",
        from: "outbreak_level = 0", to: "outbreak_level = 5",
        field: "provinces[0].outbreak_level", line_at: ("outbreak_level = 5", 0), says: "0..=4" },
    Break { what: "outbreak events out of order",
        from: "outbreak_level = 0\n",
        to: EVENTS_OUT_OF_ORDER,
        field: "provinces[0].outbreak_events[1].date", line_at: ("2020-02-01", 0),
        says: "not after" },
    Break { what: "estimated names no field of a city",
        from: CITY_ESTIMATES, to: CITY_ESTIMATES_AND_COLOUR,
        field: "cities[0].estimated[7]", line_at: ("\"colour\"", 0),
        says: "not a field of a city" },
    Break { what: "latitude beyond the pole",
        from: "lat = 32.00", to: "lat = 132.00",
        field: "cities[0].lat", line_at: ("lat = 132.00", 0),
        says: "within -90..=90" },
    Break { what: "latitude without longitude",
        from: "lon = 112.00\n", to: "",
        field: "cities[0].lon", line_at: ("id = \"north\"", 0),
        says: "lat without lon" },
    Break { what: "estimated names no rule",
        from: r#""shipment_interval_days","#, to: r#""shipment_interval_days", "speed","#,
        field: "rules.estimated[14]", line_at: ("\"speed\"", 0), says: "not a field of [rules]" },
    Break { what: "estimated names no field of a prefecture",
        from: "name = \"Alpha Bay\"\nestimated = true", to: "name = \"Alpha Bay\"\nestimated = [\"name\", \"size\"]",
        field: "provinces[0].prefectures[1].estimated", line_at: ("\"size\"", 0),
        says: "not a field of a prefecture" },
    Break { what: "historical mode, city without donors",
        from: "historical_donors = [\"beta\"]\n", to: "",
        field: "cities[2].historical_donors", line_at: ("id = \"west\"", 0),
        says: "at least one historical donor" },
    Break { what: "province without prefectures",
        from: r#""funds/cny" = 3_000_000"#, to: LAST_LINE_THEN_EMPTY_PROVINCE,
        field: "provinces[2].prefectures", line_at: ("prefectures = []", 0),
        says: "at least one prefecture" },
    Break { what: "prefecture listed twice",
        from: r#"name = "Beta Falls""#, to: r#"name = "Betaburg""#,
        field: "provinces[1].prefectures[1].name", line_at: (r#"name = "Betaburg""#, 1),
        says: "listed twice" },
];

#[test]
fn each_break_is_reported_at_its_line_and_field() {
    let base = small();
    parse(&base, "small.toml").expect("the unbroken file loads");
    let mut wrong = Vec::new();
    for b in BREAKS {
        assert!(
            base.contains(b.from),
            "{}: small.toml no longer has {:?}",
            b.what,
            b.from
        );
        let broken = base.replacen(b.from, b.to, 1);
        let Err(error) = parse(&broken, "small.toml") else {
            wrong.push(format!("{}: loaded", b.what));
            continue;
        };
        let line = line_of(&broken, b.line_at.0, b.line_at.1);
        let ScenarioError { field, message, .. } = &error;
        if (error.line, field.as_str()) != (line, b.field) || !message.contains(b.says) {
            wrong.push(format!(
                "{}: got {error}; want line {line}, {}, {:?}",
                b.what, b.field, b.says
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} breaks misreported:\n{}",
        wrong.len(),
        BREAKS.len(),
        wrong.join("\n")
    );
}

#[test]
fn error_reads_file_line_field_message() {
    let broken = small().replacen("beds = 600", "beds = -600", 1);
    let error = parse(&broken, "deploy/scenarios/small.toml").expect_err("negative beds");
    let line = line_of(&broken, "beds = -600", 0);
    let expected =
        format!("deploy/scenarios/small.toml:{line}: cities[1].beds: must be >= 0, got -600");
    assert_eq!(error.to_string(), expected);
}

#[test]
fn a_file_that_cannot_be_read_names_the_path() {
    let missing = std::path::Path::new("/nonexistent/scenario.toml");
    let error = counterpart_domain::scenario::load(missing).expect_err("no such file");
    assert_eq!(
        (error.file.as_str(), error.line),
        ("/nonexistent/scenario.toml", 0)
    );
}

/// Every truncation and every one-line deletion of a valid file is refused
/// (or loads) without a panic, with a line inside the file.
#[test]
fn mangled_files_never_panic() {
    let base = small();
    let lines = base.lines().count();
    let cut_points = (0..base.len())
        .step_by(7)
        .filter(|&i| base.is_char_boundary(i));
    let truncated = cut_points.map(|i| base[..i].to_string());
    let deleted = (0..lines).map(|n| {
        let kept: Vec<_> = (base.lines().enumerate())
            .filter(|(i, _)| *i != n)
            .map(|(_, l)| l)
            .collect();
        kept.join("\n")
    });
    for text in truncated.chain(deleted) {
        if let Err(e) = parse(&text, "mangled.toml") {
            assert!(e.line >= 1 && e.line <= lines + 1, "{e}");
            assert!(!e.field.is_empty() && !e.message.is_empty(), "{e}");
        }
    }
}
