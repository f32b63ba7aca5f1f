//! Tests of the sweep's plots (split from plots.rs to keep it short).
use super::*;

/// A fresh directory under the system's temp dir, removed on drop so a
/// failed assertion leaves nothing behind either.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let unique = format!("{}-{}", std::process::id(), now.unwrap().as_nanos());
        TempDir(std::env::temp_dir().join(format!("pairctl-plots-{tag}-{unique}")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const POLICIES: [&str; 3] = ["baseline", "delay:3", "nearest"];

fn deaths(scale: f64) -> Vec<PolicyDeaths> {
    let seeds = [
        vec![120.0, 135.0, 128.0, 141.0],
        vec![210.0, 190.0, 205.0],
        vec![95.0],
    ];
    let policy = |(p, d): (&&str, Vec<f64>)| PolicyDeaths {
        policy: p.to_string(),
        deaths: d.iter().map(|x| x * scale).collect(),
    };
    POLICIES.iter().zip(seeds).map(policy).collect()
}

fn cost() -> Vec<PolicyCostDeaths> {
    let policy = |(i, p): (usize, &&str)| PolicyCostDeaths {
        policy: p.to_string(),
        cost_cny: (0..4).map(|s| 2.0e6 + 0.5e6 * (i + s) as f64).collect(),
        deaths: (0..4).map(|s| (100 + 40 * i - 3 * s) as f64).collect(),
    };
    POLICIES.iter().enumerate().map(policy).collect()
}

/// An epidemic that peaks on day 10 while capacity grows to day 12.
fn city(name: &str, peak: i64, days: Range<i64>) -> CityCurve {
    let days: Vec<i64> = days.collect();
    CityCurve {
        city: name.to_string(),
        active: days
            .iter()
            .map(|d| (peak - (d - 10).pow(2) * peak / 120).max(0))
            .collect(),
        capacity: days.iter().map(|d| 200 + 15 * d.clamp(&0, &12)).collect(),
        arrivals: vec![1.5, 4.25, 9.0],
        days,
    }
}

fn cities() -> Vec<(String, Vec<CityCurve>)> {
    let curves = || vec![city("Wuhan", 900, -3..25), city("Xiaogan", 400, -3..25)];
    POLICIES[..2]
        .iter()
        .map(|p| (p.to_string(), curves()))
        .collect()
}

#[test]
fn draws_every_promised_file_with_its_text() {
    let dir = TempDir::new("all");
    let written = draw_all(&dir.0, &deaths(1.0), &cost(), &cities()).unwrap();
    let stems = [
        "deaths_by_policy",
        "cost_vs_deaths",
        "cities_baseline",
        "cities_delay-3",
    ];
    let promised: Vec<PathBuf> = stems
        .iter()
        .flat_map(|s| ["png", "svg"].map(|ext| dir.0.join(format!("{s}.{ext}"))))
        .collect();
    assert_eq!(written, promised);
    for path in &promised {
        let (name, bytes) = (path.display(), std::fs::read(path).unwrap());
        assert!(!bytes.is_empty(), "{name} is empty");
        if path.extension().unwrap() == "png" {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is no PNG");
            continue;
        }
        let svg = String::from_utf8(bytes).unwrap();
        assert!(svg.contains("<svg"), "{name} is no SVG");
        assert!(
            POLICIES.iter().any(|p| svg.contains(p)),
            "{name} names no policy"
        );
        let cities = ["Wuhan", "Xiaogan"].iter().all(|c| svg.contains(c));
        assert!(
            cities || !name.to_string().contains("cities_"),
            "{name} names no city"
        );
    }
}

#[test]
fn the_deaths_plot_follows_the_data() {
    let (a, b) = (TempDir::new("a"), TempDir::new("b"));
    draw_all(&a.0, &deaths(1.0), &[], &[]).unwrap();
    draw_all(&b.0, &deaths(3.0), &[], &[]).unwrap();
    let png = |d: &TempDir| std::fs::read(d.0.join("deaths_by_policy.png")).unwrap();
    assert_ne!(png(&a), png(&b));
}

#[test]
fn empty_zero_and_single_seed_data_still_draw() {
    let dir = TempDir::new("edge");
    let zero = [PolicyDeaths {
        policy: "only".into(),
        deaths: vec![0.0],
    }];
    let none = [PolicyCostDeaths {
        policy: "none".into(),
        cost_cny: vec![],
        deaths: vec![],
    }];
    let flat = CityCurve {
        capacity: vec![0],
        arrivals: vec![],
        ..city("Flat", 0, 0..1)
    };
    let bare = CityCurve {
        arrivals: vec![],
        ..city("Bare", 0, 0..0)
    };
    let cities = [
        ("x:1".to_string(), vec![flat, bare]),
        ("X-1".to_string(), vec![]),
    ];
    let written = draw_all(&dir.0, &zero, &none, &cities).unwrap();
    assert_eq!(written.len(), 8);
    assert!(
        written.iter().any(|p| p.ends_with("cities_x-1_2.svg")),
        "{written:?}"
    );
    assert_eq!(draw_all(&dir.0, &[], &[], &[]).unwrap().len(), 4);
}

#[test]
fn policy_labels_become_file_names() {
    assert_eq!(sanitise("delay:3"), "delay-3");
    assert_eq!(sanitise("Nearest First"), "nearest-first");
    assert_eq!(sanitise(""), "unnamed");
}
