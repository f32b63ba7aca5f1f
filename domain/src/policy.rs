//! A policy: how the centre acts, not what the code does. It changes
//! central's copy of the scenario's rules, and nothing else: cities and
//! donors run as they always do, and a donor's effort answers to what
//! central does (or does not do) to it.
//!
//! Written as parts joined by `+`, e.g. `optimized+delay:3`:
//! - `historical`, `optimized`: the pairing, as the scenario's
//!   `pairing_mode`;
//! - `none`: no pairing; central turns every request down and each city
//!   copes alone;
//! - `delay:N`: central decides the pairing N days later than the
//!   scenario's decision window (2020: 3 days);
//! - `no-supervision`: central sends no evaluations;
//! - `cap:X`: the aid intensity cap, X times the assessed need.

use std::fmt;
use std::str::FromStr;

use crate::scenario::{PairingMode, Rules, Scenario};

/// The longest `delay:N`: beyond a scenario's span it means nothing.
pub const MAX_DELAY_DAYS: f64 = 365.0;
/// The range of `cap:X`, as a scenario's `intensity_cap`: targets never
/// fall below the need.
pub const CAP_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10.0;

/// A policy's parts; the default changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `Some`: the pairing this policy imposes (`None` in it: none at all).
    pub pairing: Option<PairingMode>,
    pub delay_days: f64,
    pub supervision: bool,
    pub intensity_cap: Option<f64>,
    /// As written, for reports and file names.
    label: String,
}

impl Policy {
    /// The scenario's own rules, unchanged.
    pub fn scenario_default() -> Self {
        Policy {
            pairing: None,
            delay_days: 0.0,
            supervision: true,
            intensity_cap: None,
            label: "scenario".to_string(),
        }
    }

    /// The scenario's rules with the pairing `mode` when given (the
    /// `--pairing-mode` flag of central and pairctl).
    pub fn with_pairing(mode: Option<PairingMode>) -> Self {
        let mut policy = Policy::scenario_default();
        if let Some(mode) = mode {
            policy.pairing = Some(mode);
            policy.label = mode.as_str().to_string();
        }
        policy
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `rules` as this policy has central apply them.
    pub fn apply_to(&self, rules: &mut Rules) {
        if let Some(mode) = self.pairing {
            rules.pairing_mode = mode;
        }
        rules.decision_window_days += self.delay_days;
        rules.supervision &= self.supervision;
        if let Some(cap) = self.intensity_cap {
            rules.intensity_cap = cap;
        }
    }

    /// A copy of `scenario` with central's rules under this policy.
    pub fn applied(&self, scenario: &Scenario) -> Scenario {
        let mut changed = scenario.clone();
        self.apply_to(&mut changed.rules);
        changed
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::scenario_default()
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl FromStr for Policy {
    type Err = String;

    /// Parses `historical`, `optimized+delay:3`, ...; the error names the
    /// part that is wrong and what would be right.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut policy = Policy::scenario_default();
        policy.label = text.to_string();
        if text.trim().is_empty() {
            return Err("policy: empty; give e.g. historical, optimized, none, delay:3, no-supervision, cap:1.2".into());
        }
        for part in text.split('+') {
            let (name, value) = part.split_once(':').unwrap_or((part, ""));
            let pairing = |mode| -> Result<Option<PairingMode>, String> {
                match policy.pairing {
                    Some(other) => Err(format!(
                        "policy {text:?}: {part:?} and {:?} both choose the pairing",
                        other.as_str()
                    )),
                    None => Ok(Some(mode)),
                }
            };
            match (name, value) {
                ("historical", "") => policy.pairing = pairing(PairingMode::Historical)?,
                ("optimized", "") => policy.pairing = pairing(PairingMode::Optimized)?,
                ("none", "") => policy.pairing = pairing(PairingMode::NoPairing)?,
                ("no-supervision", "") => policy.supervision = false,
                ("delay", days) => {
                    policy.delay_days = number(text, part, days, &(0.0..=MAX_DELAY_DAYS))?
                }
                ("cap", cap) => policy.intensity_cap = Some(number(text, part, cap, &CAP_RANGE)?),
                _ => {
                    return Err(format!(
                        "policy {text:?}: {part:?} is not one of historical, optimized, none, \
                         delay:N, no-supervision, cap:X"
                    ))
                }
            }
        }
        Ok(policy)
    }
}

fn number(
    text: &str,
    part: &str,
    value: &str,
    range: &std::ops::RangeInclusive<f64>,
) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| {
            format!(
                "policy {text:?}: {part:?} needs a number in {}..={}",
                range.start(),
                range.end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        let text = include_str!("../../deploy/scenarios/small.toml");
        crate::scenario::parse(text, "small.toml")
            .expect("small loads")
            .rules
    }

    #[test]
    fn each_part_changes_its_rule_only() {
        let base = rules();
        let mut r = base.clone();
        "optimized+delay:3+no-supervision+cap:1.0"
            .parse::<Policy>()
            .unwrap()
            .apply_to(&mut r);
        assert_eq!(r.pairing_mode, PairingMode::Optimized);
        assert_eq!(r.decision_window_days, base.decision_window_days + 3.0);
        assert!(!r.supervision);
        assert_eq!(r.intensity_cap, 1.0);
        assert_eq!(r.recovery_days, base.recovery_days);
        let mut same = base.clone();
        "historical".parse::<Policy>().unwrap().apply_to(&mut same);
        assert_eq!(same.pairing_mode, PairingMode::Historical);
        assert_eq!(same.decision_window_days, base.decision_window_days);
        assert!(same.supervision);
    }

    #[test]
    fn a_wrong_part_is_named() {
        let why = "historical+delay:x".parse::<Policy>().unwrap_err();
        assert!(why.contains("\"delay:x\" needs a number"), "{why}");
        let why = "optimized+none".parse::<Policy>().unwrap_err();
        assert!(why.contains("both choose the pairing"), "{why}");
        let why = "generous".parse::<Policy>().unwrap_err();
        assert!(why.contains("\"generous\" is not one of"), "{why}");
        assert!("cap:0.5".parse::<Policy>().is_err());
        assert!("".parse::<Policy>().is_err());
    }

    #[test]
    fn the_label_is_what_was_written() {
        let p: Policy = "none".parse().unwrap();
        assert_eq!(p.to_string(), "none");
        assert_eq!(p.pairing, Some(PairingMode::NoPairing));
    }
}
