//! The centre as decision-maker (PROTOCOL.md step 5): is the city's local
//! capacity really exceeded, how severe is it, what must the donors deliver,
//! and towards which objectives. Pure: a situation in, an outcome out.
//!
//! Central does not take the city's word for its needs: it recomputes them from
//! the reported situation with the scenario's rates (`counterpart_domain::needs`,
//! the same arithmetic the city uses), and never targets more than
//! `intensity_cap` times that assessed need (the "Dutch disease" of over-aid).
//!
//! At pairing, days after the request, central sizes the targets afresh to
//! the need it projects for the day the first team arrives
//! ([`arrival_projection`]): the request's figures are old by then, and a
//! team is sized for the city it will find.

use std::collections::BTreeMap;

use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::needs::{self, TreatmentResources};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{City, Rules, Scenario};
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{Objective, Severity, Situation};

/// The centre's assessment of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentOutcome {
    pub accepted: bool,
    /// `Severity::Unspecified` when rejected.
    pub severity: Severity,
    /// Why accepted or rejected, with the numbers.
    pub reason: String,
    /// Local treatment capacity, in active cases.
    pub capacity_cases: i64,
    /// Central's own computation of the need, per type.
    pub assessed_need: Quantities,
    /// What the donors together must deliver; empty when rejected.
    pub targets: Quantities,
    /// Empty when rejected.
    pub objectives: Vec<Objective>,
}

/// Assesses a request: `requested` is what the city asked for, `rates` the
/// scenario's `needs_per_active_case`. Accepted iff active cases exceed the
/// local capacity; severity from active / capacity (above 1 moderate, above 2
/// severe, above 4 critical; no capacity at all is critical). Targets per
/// type are min(requested, floor(intensity_cap x assessed need)), for types
/// where both are positive.
pub fn assess(
    situation: &Situation,
    requested: &Quantities,
    rules: &Rules,
    rates: &BTreeMap<ResourceType, f64>,
) -> AssessmentOutcome {
    let active = situation.active_cases;
    let (capacity, need) = capacity_and_need(situation, rates);
    let assessed_need: Quantities = need.collect();
    if active <= capacity {
        return AssessmentOutcome {
            accepted: false,
            severity: Severity::Unspecified,
            reason: format!(
                "within local capacity: {active} active cases do not exceed the local treatment capacity of {capacity} cases"
            ),
            capacity_cases: capacity,
            assessed_need,
            targets: Quantities::new(),
            objectives: Vec::new(),
        };
    }
    let severity = severity_of(active, capacity);
    let targets = capped_targets(requested, &assessed_need, rules.intensity_cap);
    let ratio = if capacity > 0 {
        format!("{:.2}x", active as f64 / capacity as f64)
    } else {
        "no".to_string()
    };
    AssessmentOutcome {
        accepted: true,
        severity,
        reason: format!(
            "local capacity exceeded: {active} active cases against a local treatment capacity of {capacity} cases ({ratio} capacity), {}",
            severity_word(severity)
        ),
        capacity_cases: capacity,
        assessed_need,
        targets,
        objectives: objectives(situation, rules),
    }
}

/// The most central would target for `situation`, whatever was asked:
/// `intensity_cap` times the assessed need, per type; nothing within the
/// local capacity. It is what [`assess`] gives as `targets` for a request
/// of every type without limit, without the outcome's reason and
/// objectives, type by type: every city report is held against it
/// (`Authority::retarget_if_outgrown`), under the lock every handler needs,
/// so it builds no map (a profile of the receipt path found the maps a
/// fifth of the handler's time).
pub fn ceiling<'a>(
    situation: &'a Situation,
    rules: &'a Rules,
    rates: &'a BTreeMap<ResourceType, f64>,
) -> impl Iterator<Item = (ResourceType, i64)> + 'a {
    let (capacity, need) = capacity_and_need(situation, rates);
    let over = situation.active_cases > capacity;
    let intensity_cap = rules.intensity_cap;
    need.filter(move |_| over)
        .filter_map(move |(t, need)| capped(i64::MAX, need, intensity_cap).map(|q| (t, q)))
}

/// The city's local treatment capacity, in active cases, and central's own
/// computation of its need, type by type.
fn capacity_and_need<'a>(
    situation: &'a Situation,
    rates: &'a BTreeMap<ResourceType, f64>,
) -> (i64, impl Iterator<Item = (ResourceType, i64)> + 'a) {
    (
        needs::capacity_cases(local(situation), rates),
        needs::needs_by(situation.active_cases, |t| on_hand(situation, t), rates),
    )
}

/// The beds and staff the city treats with, as it reported them.
fn local(situation: &Situation) -> TreatmentResources {
    TreatmentResources {
        beds: situation.beds,
        doctors: situation.local_doctors,
        nurses: situation.local_nurses,
    }
}

/// What the city has of type `t` on hand: its own staff; nothing else
/// counts against the need.
fn on_hand(situation: &Situation, t: ResourceType) -> i64 {
    match t {
        ResourceType::Doctor => situation.local_doctors,
        ResourceType::Nurse => situation.local_nurses,
        _ => 0,
    }
}

/// What central projects, at pairing, for the day a case's first team
/// arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalProjection {
    /// 00:00 of the day the first team is expected: `mobilisation_days`
    /// and `transit_days` after the pairing.
    pub arrival_day: ScenarioTime,
    /// The city's situation on that day, as its daily figure gives it.
    pub situation: Situation,
    /// The need beyond the city's own staff (step 4's arithmetic), per
    /// type: the targets the case is paired with.
    pub need: Quantities,
}

/// The need of `city` on the day its first team would arrive if paired at
/// `paired_at`: the team leaves `mobilisation_days` after the pairing (the
/// donor acknowledges at once) and travels `transit_days`.
///
/// The projection reads the scenario's curve, the model's epidemic, so it
/// is a perfect forecast (an estimate of what the centre's own projections
/// gave it). It takes the city's daily figure, the count as of 24:00 of the
/// day before (00:00 of the arrival day), because that is the resolution of
/// the sourced counts (the curve only interpolates between them) and what a
/// team is sized to: the figure the city publishes on the morning of its
/// arrival. It does not depend on the hour of arrival, so a reaction an
/// hour later leaves the targets as they are.
pub fn arrival_projection(
    scenario: &Scenario,
    city: &City,
    paired_at: ScenarioTime,
) -> ArrivalProjection {
    let rules = &scenario.rules;
    let arrival = paired_at.plus_days(rules.mobilisation_days + rules.transit_days);
    let arrival_day = ScenarioTime(arrival.day_index() * DAY_MS);
    let situation = crate::recipient::epidemic::situation(scenario, city, arrival_day);
    let on_hand = Quantities::from([
        (ResourceType::Doctor, city.local_doctors),
        (ResourceType::Nurse, city.local_nurses),
    ]);
    let need = needs::needs(
        situation.active_cases,
        &on_hand,
        &scenario.needs_per_active_case,
    );
    ArrivalProjection {
        arrival_day,
        situation,
        need,
    }
}

/// How much an uncovered target of a case counts when pairing: moderate 1,
/// severe 2, critical 3 (unspecified counts as moderate).
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Unspecified | Severity::Moderate => 1.0,
        Severity::Severe => 2.0,
        Severity::Critical => 3.0,
    }
}

/// Only called when `active > capacity`.
fn severity_of(active: i64, capacity: i64) -> Severity {
    if capacity <= 0 {
        return Severity::Critical;
    }
    let ratio = active as f64 / capacity as f64;
    if ratio > 4.0 {
        Severity::Critical
    } else if ratio > 2.0 {
        Severity::Severe
    } else {
        Severity::Moderate
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Unspecified => "unspecified",
        Severity::Moderate => "moderate",
        Severity::Severe => "severe",
        Severity::Critical => "critical",
    }
}

/// min(requested, floor(cap x need)) for types where both are positive.
fn capped_targets(
    requested: &Quantities,
    assessed_need: &Quantities,
    intensity_cap: f64,
) -> Quantities {
    requested
        .iter()
        .filter_map(|(&t, &asked)| {
            let need = assessed_need.get(&t).copied().unwrap_or(0);
            capped(asked, need, intensity_cap).map(|target| (t, target))
        })
        .collect()
}

/// One type's target: what was asked, at most `intensity_cap` times the
/// need; none unless both are positive.
fn capped(asked: i64, need: i64, intensity_cap: f64) -> Option<i64> {
    // `as` saturates, so an absurd cap cannot overflow.
    let cap = (intensity_cap * need as f64).floor() as i64;
    let target = asked.min(cap);
    (asked > 0 && need > 0 && target > 0).then_some(target)
}

fn objectives(situation: &Situation, rules: &Rules) -> Vec<Objective> {
    let quiet_days = rules.quiet_days_to_demobilise;
    vec![
        Objective {
            code: "treat_all_active".into(),
            description: format!("treat all {} active cases", situation.active_cases),
            target: situation.active_cases,
        },
        Objective {
            code: "critical_care".into(),
            description: format!(
                "give intensive care to all {} critical cases",
                situation.critical
            ),
            target: situation.critical,
        },
        Objective {
            code: "zero_new_cases".into(),
            description: format!("reach {quiet_days} consecutive days without a new case"),
            target: i64::from(quiet_days),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::pairing::fixtures::rules;
    use ResourceType::{Doctor, MaskN95, Nurse, Ventilator};

    fn rates() -> BTreeMap<ResourceType, f64> {
        BTreeMap::from([(Doctor, 0.25), (Nurse, 0.5), (MaskN95, 10.0)])
    }

    /// Huangshi-like: beds for 1000, but staff for only 200 cases.
    fn situation(active: i64) -> Situation {
        Situation {
            active_cases: active,
            confirmed_total: active,
            critical: active / 20,
            severe: active / 7,
            beds: 1000,
            local_doctors: 50,
            local_nurses: 100,
            ..Default::default()
        }
    }

    fn asked(doctors: i64, nurses: i64, masks: i64) -> Quantities {
        Quantities::from([(Doctor, doctors), (Nurse, nurses), (MaskN95, masks)])
    }

    #[test]
    fn within_capacity_is_rejected_with_the_numbers() {
        let outcome = assess(&situation(200), &asked(10, 10, 10), &rules(), &rates());
        assert!(!outcome.accepted);
        assert_eq!(outcome.severity, Severity::Unspecified);
        assert_eq!(outcome.capacity_cases, 200);
        assert!(
            outcome.reason.starts_with("within local capacity"),
            "{}",
            outcome.reason
        );
        assert!(
            outcome.reason.contains("200 active") && outcome.reason.contains("200 cases"),
            "{}",
            outcome.reason
        );
        assert!(outcome.targets.is_empty() && outcome.objectives.is_empty());
    }

    #[test]
    fn severity_follows_the_ratio_to_capacity() {
        let severity =
            |active| assess(&situation(active), &Quantities::new(), &rules(), &rates()).severity;
        assert_eq!(severity(201), Severity::Moderate);
        assert_eq!(severity(400), Severity::Moderate);
        assert_eq!(severity(401), Severity::Severe);
        assert_eq!(severity(800), Severity::Severe);
        assert_eq!(severity(801), Severity::Critical);
    }

    #[test]
    fn no_capacity_at_all_is_critical() {
        let mut s = situation(10);
        s.beds = 0;
        let outcome = assess(&s, &Quantities::new(), &rules(), &rates());
        assert!(outcome.accepted);
        assert_eq!(outcome.severity, Severity::Critical);
        s.active_cases = 0;
        assert!(!assess(&s, &Quantities::new(), &rules(), &rates()).accepted);
    }

    #[test]
    fn targets_are_capped_at_the_intensity_cap_of_the_assessed_need() {
        // 835 active: doctors ceil(208.75) - 50 = 159, nurses 418 - 100 = 318,
        // masks 8350. Cap 1.5: 238, 477, 12525.
        let outcome = assess(
            &situation(835),
            &asked(1000, 300, 20_000),
            &rules(),
            &rates(),
        );
        assert!(outcome.accepted);
        assert_eq!(outcome.severity, Severity::Critical);
        assert_eq!(outcome.assessed_need, asked(159, 318, 8350));
        assert_eq!(outcome.targets, asked(238, 300, 12_525));
        assert!(
            outcome.reason.contains("835 active") && outcome.reason.contains("critical"),
            "{}",
            outcome.reason
        );
    }

    #[test]
    fn types_not_requested_or_not_needed_get_no_target() {
        let requested = Quantities::from([
            (Doctor, 0),
            (Nurse, 50),
            (Ventilator, 5),
            (MaskN95, i64::MAX),
        ]);
        let outcome = assess(&situation(300), &requested, &rules(), &rates());
        // Doctors: not requested. Ventilators: no rate, so no assessed need.
        assert_eq!(
            outcome.targets,
            Quantities::from([(Nurse, 50), (MaskN95, 4500)])
        );
    }

    #[test]
    fn objectives_are_explicit() {
        let outcome = assess(&situation(835), &Quantities::new(), &rules(), &rates());
        let codes: Vec<(&str, i64)> = outcome
            .objectives
            .iter()
            .map(|o| (o.code.as_str(), o.target))
            .collect();
        assert_eq!(
            codes,
            [
                ("treat_all_active", 835),
                ("critical_care", 41),
                ("zero_new_cases", 14)
            ]
        );
        assert!(outcome.objectives.iter().all(|o| !o.description.is_empty()));
    }

    /// hubei-2020: paired at 00:00 on 10 Feb, Huangshi's first team is due
    /// 1.8 days later, on 11 Feb, when its figure (as of 10 Feb 24:00) is
    /// 835 active: the need beyond its own staff is Jiangsu's team. An
    /// hour or four later the projection is the same.
    #[test]
    fn huangshi_paired_on_10_feb_is_sized_to_its_figure_of_11_feb() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/scenarios/hubei-2020.toml"
        );
        let s = counterpart_domain::scenario::load(std::path::Path::new(path)).unwrap();
        let huangshi = s.city("huangshi").unwrap();
        let feb10 = s.time_of(chrono::NaiveDate::from_ymd_opt(2020, 2, 10).unwrap());
        let team = Quantities::from([
            (Doctor, 103),
            (Nurse, 200),
            (ResourceType::PublicHealth, 4),
            (ResourceType::Official, 3),
        ]);
        for late_hours in 0..=4 {
            let paired = feb10.plus_days(late_hours as f64 / 24.0);
            let p = arrival_projection(&s, huangshi, paired);
            assert_eq!(p.arrival_day.format(s.start_date), "2020-02-11 00:00");
            assert_eq!(p.situation.active_cases, 835);
            let personnel: Quantities = (p.need.iter())
                .filter(|(t, _)| t.travels_with_team())
                .map(|(t, q)| (*t, *q))
                .collect();
            assert_eq!(personnel, team, "paired {late_hours} h late");
            assert_eq!(p.need[&MaskN95], 214_595); // ceil(257 x 835)
        }
    }

    /// The ceiling a city's every report is held against is what a request
    /// of every type without limit would be given, at and around the local
    /// capacity, with staff short and with none at all.
    #[test]
    fn the_ceiling_is_the_assessment_of_an_unlimited_request() {
        let unlimited: Quantities = rates().keys().map(|t| (*t, i64::MAX)).collect();
        let mut some_targets = 0;
        for active in [
            0,
            1,
            199,
            200,
            201,
            399,
            400,
            401,
            835,
            10_000,
            i64::MAX / 4,
        ] {
            for (doctors, nurses, beds) in [(50, 100, 1000), (0, 0, 0), (1_000, 5, 10)] {
                let s = Situation {
                    local_doctors: doctors,
                    local_nurses: nurses,
                    beds,
                    ..situation(active)
                };
                let assessed = assess(&s, &unlimited, &rules(), &rates()).targets;
                let ceiling: Quantities = ceiling(&s, &rules(), &rates()).collect();
                assert_eq!(ceiling, assessed, "{s:?}");
                some_targets += usize::from(!assessed.is_empty());
            }
        }
        assert!(
            some_targets > 10,
            "the cases compared hardly ever target anything"
        );
    }

    #[test]
    fn severity_weights_grow_with_severity() {
        assert_eq!(severity_weight(Severity::Moderate), 1.0);
        assert_eq!(severity_weight(Severity::Severe), 2.0);
        assert_eq!(severity_weight(Severity::Critical), 3.0);
    }
}
