//! The shipped scenario files load and say what they should; broken files
//! are refused with the right line and field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::needs::{capacity_cases, needs, TreatmentResources};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{load, City, PairingMode, Scenario};
use pairing_proto::resource::ResourceType;

fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/scenarios")
        .join(name)
}

fn shipped(name: &str) -> Scenario {
    load(&scenario_path(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("test date")
}

/// Active cases the way the city computes them (PROTOCOL.md step 4).
fn active_at(s: &Scenario, city: &City, t: ScenarioTime) -> i64 {
    let earlier = t.plus_days(-s.rules.recovery_days);
    city.confirmed_at(s.start_date, t) - city.confirmed_at(s.start_date, earlier)
}

fn local_capacity(s: &Scenario, city: &City) -> i64 {
    let local = TreatmentResources {
        beds: city.beds,
        doctors: city.local_doctors,
        nurses: city.local_nurses,
    };
    capacity_cases(local, &s.needs_per_active_case)
}

#[test]
fn every_shipped_scenario_loads() {
    for (file, name, mode) in [
        ("hubei-2020.toml", "hubei-2020", PairingMode::Historical),
        ("small.toml", "small", PairingMode::Historical),
        ("outbreak.toml", "outbreak", PairingMode::Optimized),
        ("long-stay.toml", "long-stay", PairingMode::Historical),
        ("earthquake.toml", "earthquake", PairingMode::Historical),
    ] {
        let s = shipped(file);
        assert_eq!(
            (s.name.as_str(), s.rules.pairing_mode),
            (name, mode),
            "{file}"
        );
        assert_eq!(s.start_date, date("2020-02-07"), "{file}");
    }
}

#[test]
fn hubei_pairs_exactly_as_the_10_february_table() {
    let s = shipped("hubei-2020.toml");
    let table: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("huangshi", vec!["jiangsu"]),
        ("shiyan", vec!["guangxi"]),
        ("yichang", vec!["fujian"]),
        ("xiangyang", vec!["liaoning", "ningxia"]),
        ("ezhou", vec!["guizhou"]),
        ("jingmen", vec!["inner-mongolia", "zhejiang"]),
        ("xiaogan", vec!["chongqing", "heilongjiang"]),
        ("jingzhou", vec!["guangdong", "hainan"]),
        ("huanggang", vec!["shandong", "hunan"]),
        ("xianning", vec!["yunnan"]),
        ("suizhou", vec!["jiangxi"]),
        ("enshi", vec!["tianjin"]),
        ("xiantao", vec!["shanxi"]),
        ("qianjiang", vec!["shanxi"]),
        ("tianmen", vec!["shanxi"]),
        ("shennongjia", vec!["hebei"]),
    ]);
    let pairs: BTreeMap<&str, Vec<&str>> = (s.cities.iter())
        .map(|c| {
            (
                c.id.as_str(),
                c.historical_donors.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(pairs, table);
    assert_eq!(s.provinces.len(), 19);
    for p in &s.provinces {
        assert!(
            pairs.values().flatten().any(|d| *d == p.id),
            "{} pairs with no city",
            p.id
        );
        assert_eq!(p.outbreak_level, 1, "{}", p.id);
        assert!(p.outbreak_events.is_empty(), "{}", p.id);
    }
}

#[test]
fn hubei_curves_pass_through_the_sourced_counts() {
    let s = shipped("hubei-2020.toml");
    let huangshi = s.city("huangshi").expect("huangshi");
    let at = |d: &str| huangshi.confirmed_at(s.start_date, s.time_of(date(d)));
    assert_eq!(
        (at("2020-02-10"), at("2020-02-11"), at("2020-04-30")),
        (805, 835, 1015)
    );
    // Huangshi reported zero local cases on 27 Mar: its last case is
    // quiet_days_to_demobilise before that.
    let last = huangshi.curve.last().expect("curve");
    let quiet = i64::from(s.rules.quiet_days_to_demobilise);
    assert_eq!(
        (last.date + chrono::Duration::days(quiet)),
        date("2020-03-27")
    );
    for city in &s.cities {
        let sourced: Vec<_> = city.curve.iter().filter(|p| p.source.is_some()).collect();
        let dates: Vec<_> = sourced.iter().map(|p| p.date).collect();
        assert_eq!(
            dates[..2],
            [date("2020-02-10"), date("2020-02-11")],
            "{}",
            city.id
        );
        let last = city.curve.last().expect("curve");
        assert!(
            last.source.is_some() && last.date <= date("2020-03-15"),
            "{}",
            city.id
        );
        assert!(city
            .estimated
            .contains(&format!("curve[{}]", city.curve.len() - 1)));
    }
}

#[test]
fn hubei_every_city_is_over_its_capacity_from_7_to_10_february() {
    let s = shipped("hubei-2020.toml");
    for city in &s.cities {
        let capacity = local_capacity(&s, city);
        for day in 0..=3 {
            let active = active_at(&s, city, ScenarioTime::from_days(f64::from(day)));
            // Over the threshold, so the city asks; over capacity itself,
            // so central accepts.
            let threshold = s.rules.request_threshold * capacity as f64;
            assert!(
                active as f64 > threshold,
                "{} day {day}: {active} active",
                city.id
            );
            assert!(
                active > capacity,
                "{} day {day}: {active} of {capacity}",
                city.id
            );
        }
    }
}

#[test]
fn hubei_huangshi_at_835_active_needs_jiangsus_team() {
    let s = shipped("hubei-2020.toml");
    let huangshi = s.city("huangshi").expect("huangshi");
    let on_hand = Quantities::from([
        (ResourceType::Doctor, huangshi.local_doctors),
        (ResourceType::Nurse, huangshi.local_nurses),
    ]);
    let need = needs(835, &on_hand, &s.needs_per_active_case);
    let team = [
        (ResourceType::Doctor, 103),
        (ResourceType::Nurse, 200),
        (ResourceType::PublicHealth, 4),
        (ResourceType::Official, 3),
    ];
    for (t, expected) in team {
        assert_eq!(need.get(&t), Some(&expected), "{t}");
    }
    let masks = need[&ResourceType::MaskN95];
    assert!((masks - 215_000).abs() < 2_150, "{masks} masks");
}

#[test]
fn hubei_sourced_pools_add_up() {
    let s = shipped("hubei-2020.toml");
    let pool = |id: &str, t: ResourceType| {
        let province = s.province(id).expect("province");
        province.total_pool().get(&t).copied().unwrap_or(0)
    };
    let staff = |id: &str| {
        use ResourceType::*;
        [Doctor, Nurse, PublicHealth, Official]
            .into_iter()
            .map(|t| pool(id, t))
            .sum::<i64>()
    };
    use ResourceType::*;
    let jiangsu = [
        Doctor,
        Nurse,
        PublicHealth,
        Official,
        MaskN95,
        ProtectiveSuit,
        Goggles,
    ];
    let jiangsu: Vec<_> = jiangsu.into_iter().map(|t| pool("jiangsu", t)).collect();
    assert_eq!(jiangsu, [103, 200, 4, 3, 215_000, 30_000, 5_000]);
    let jiangxi = [
        Doctor,
        Nurse,
        MaskN95,
        ProtectiveSuit,
        Ventilator,
        Ambulance,
    ];
    let jiangxi: Vec<_> = jiangxi.into_iter().map(|t| pool("jiangxi", t)).collect();
    assert_eq!(jiangxi, [42, 92, 12_000, 7_000, 5, 10]);
    assert_eq!((staff("hunan"), staff("chongqing")), (619, 669));
    let jiangsu = s.province("jiangsu").expect("jiangsu");
    assert_eq!(
        jiangsu.prefectures.len(),
        10,
        "the team came from 10 cities"
    );
    for p in &s.provinces {
        assert!((2..=10).contains(&p.prefectures.len()), "{}", p.id);
        assert!(
            (134..=700).contains(&staff(&p.id)),
            "{}: {} staff",
            p.id,
            staff(&p.id)
        );
        // Every prefecture's split is an estimate, even where the total is sourced.
        for k in 0..p.prefectures.len() {
            assert!(
                p.estimated.contains(&format!("prefectures[{k}].pool")),
                "{}",
                p.id
            );
        }
    }
}

#[test]
fn small_west_asks_but_never_exceeds_its_capacity() {
    let s = shipped("small.toml");
    let west = s.city("west").expect("west");
    let capacity = local_capacity(&s, west);
    let threshold = s.rules.request_threshold * capacity as f64;
    assert!(active_at(&s, west, ScenarioTime(0)) as f64 > threshold);
    let last_day = s.end_time().day_index();
    for tick in 0..=last_day * 4 {
        let t = ScenarioTime::from_days(tick as f64 / 4.0);
        assert!(
            active_at(&s, west, t) <= capacity,
            "west over capacity at {t:?}"
        );
    }
    for id in ["north", "south"] {
        let city = s.city(id).expect("city");
        assert!(
            active_at(&s, city, ScenarioTime(0)) > local_capacity(&s, city),
            "{id}"
        );
    }
    let north = s.city("north").expect("north");
    assert_eq!(north.historical_donors, ["alpha", "beta"]);
    assert!(north.curve.last().expect("curve").date <= date("2020-02-25"));
}

/// The figures long-stay.toml gives in its comments: each city's 14th
/// quiet day, with its active cases then, and the day they fall to 0.9 of
/// its own capacity (a day index may fall within the day).
#[test]
fn long_stay_cities_are_quiet_long_before_their_cases_fit_their_capacity() {
    let s = shipped("long-stay.toml");
    assert!(s.rules.recovery_days > f64::from(s.rules.quiet_days_to_demobilise));
    for (id, capacity, quiet_on, active_then, fit_on) in [
        ("north", 400, "2020-03-02", 1024, "2020-03-12"),
        ("south", 160, "2020-02-28", 372, "2020-03-08"),
    ] {
        let city = s.city(id).expect("city");
        assert_eq!(local_capacity(&s, city), capacity, "{id}");
        let last_case = city.curve.last().expect("curve").date;
        let quiet = s.time_of(last_case).plus_days(14.0);
        assert_eq!(quiet, s.time_of(date(quiet_on)), "{id}");
        assert_eq!(active_at(&s, city, quiet), active_then, "{id}");
        let limit = s.rules.request_threshold * capacity as f64;
        let fit = (0..)
            .map(|h| ScenarioTime::from_days(h as f64 / 24.0))
            .find(|&t| active_at(&s, city, t) as f64 <= limit && t > quiet)
            .expect("it fits");
        assert_eq!(fit.day_index(), s.time_of(date(fit_on)).day_index(), "{id}");
    }
}

#[test]
fn outbreak_beta_goes_over_the_limit_on_16_february() {
    let s = shipped("outbreak.toml");
    let beta = s.province("beta").expect("beta");
    let level_on = |d: &str| beta.outbreak_level_at(s.start_date, s.time_of(date(d)));
    assert!(level_on("2020-02-15") <= s.rules.max_outbreak_level);
    assert!(level_on("2020-02-16") > s.rules.max_outbreak_level);
    let south = s.city("south").expect("south");
    let on_16th = active_at(&s, south, s.time_of(date("2020-02-16")));
    assert!(
        on_16th > local_capacity(&s, south),
        "south still needs help: {on_16th}"
    );
    let doctors = |id: &str| s.province(id).expect("province").total_pool()[&ResourceType::Doctor];
    assert!(doctors("alpha") > doctors("beta") && doctors("beta") > doctors("gamma"));
}

#[test]
fn hubei_says_which_figures_are_estimates() {
    let s = shipped("hubei-2020.toml");
    let has = |list: &[String], entry: &str| list.iter().any(|e| e == entry);
    let huanggang = s.city("huanggang").expect("huanggang");
    assert!(
        !has(&huanggang.estimated, "beds"),
        "Huanggang's 4,200 beds are sourced"
    );
    assert!(has(&huanggang.estimated, "local_doctors"));
    let huangshi = s.city("huangshi").expect("huangshi");
    let feb_10 = huangshi
        .curve
        .iter()
        .find(|p| p.date == date("2020-02-10"))
        .expect("point");
    assert!(feb_10
        .source
        .as_deref()
        .is_some_and(|s| s.contains("Data/2020-02-10.csv")));
    let jiangsu = s.province("jiangsu").expect("jiangsu");
    let at = |name: &str| {
        jiangsu
            .prefectures
            .iter()
            .position(|p| p.name == name)
            .expect(name)
    };
    let (nanjing, wuxi) = (at("Nanjing"), at("Wuxi"));
    assert!(
        has(&jiangsu.estimated, &format!("prefectures[{nanjing}].pool")),
        "split estimated"
    );
    assert!(
        !has(&jiangsu.estimated, &format!("prefectures[{nanjing}].name")),
        "Nanjing is named"
    );
    assert!(
        has(&jiangsu.estimated, &format!("prefectures[{wuxi}].name")),
        "Wuxi is a guess"
    );
}

#[test]
fn outbreak_beta_alone_covers_souths_need_so_it_is_paired_first() {
    let s = shipped("outbreak.toml");
    let south = s.city("south").expect("south");
    let on_hand = Quantities::from([
        (ResourceType::Doctor, south.local_doctors),
        (ResourceType::Nurse, south.local_nurses),
    ]);
    let need = needs(
        active_at(&s, south, ScenarioTime(0)),
        &on_hand,
        &s.needs_per_active_case,
    );
    let short_of = |id: &str| -> Vec<ResourceType> {
        let pool = s.province(id).expect("province").total_pool();
        let short = need
            .iter()
            .filter(|(t, &q)| pool.get(t).copied().unwrap_or(0) < q);
        short.map(|(&t, _)| t).collect()
    };
    assert_eq!(short_of("beta"), []);
    assert_eq!(short_of("gamma"), [ResourceType::Ventilator]);
}
