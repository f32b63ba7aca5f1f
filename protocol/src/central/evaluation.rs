//! The centre as supervisor (PROTOCOL.md step 14): "reward diligence, punish
//! indolence". Judges one assignment from the ledger's cross-checked figures.
//! Pure: progress in, verdict out.

use std::collections::BTreeSet;

use counterpart_domain::quantities::Quantities;

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::EvaluationKind;

/// Days after its acknowledgement by which an assignment is expected to be
/// fully delivered; expectation grows linearly until then.
pub const EXPECTED_DELIVERY_DAYS: f64 = 14.0;

/// A donor earns a commendation at this fraction of the expected delivery.
pub const COMMENDATION_SHARE: f64 = 0.8;

/// "Punish indolence": below this fraction of the expected delivery, once at
/// least half the delivery was expected, a donor is held accountable. The
/// ledger refuses records that do not add up, so this, not the cross-check,
/// is what usually calls a donor to account.
pub const INDOLENCE_SHARE: f64 = 0.25;
/// Expected fraction from which indolence is judged (a week in, at 14 days).
pub const INDOLENCE_FROM_EXPECTED: f64 = 0.5;

/// One assignment's figures, per resource type, as the ledger has them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssignmentProgress {
    pub targets: Quantities,
    pub shipped: Quantities,
    pub received: Quantities,
    /// Explained shortfall (reason-coded on the receipts).
    pub discrepancy: Quantities,
    /// Shipped and not yet receipted.
    pub in_transit: Quantities,
    pub days_since_acknowledged: f64,
}

/// The centre's judgement of one assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: EvaluationKind,
    /// Mean over target types of min(1, received / target).
    pub delivered_fraction: f64,
    /// min(1, days since acknowledgement / 14).
    pub expected_fraction: f64,
    pub reason: String,
}

/// ACCOUNTABILITY when some type has an unexplained difference (shipped -
/// received - discrepancy differs from what is in transit, either way), or
/// for indolence (delivered < 0.25 x expected once half was expected);
/// otherwise COMMENDATION when delivered >= 0.8 x expected, else WARNING.
pub fn evaluate(progress: &AssignmentProgress) -> Verdict {
    let delivered_fraction = delivered_fraction(progress);
    let days = progress.days_since_acknowledged.max(0.0);
    let expected_fraction = (days / EXPECTED_DELIVERY_DAYS).min(1.0);
    let delivered = format!(
        "delivered {:.0}% of targets, {:.0}% expected after {days:.1} days",
        delivered_fraction * 100.0,
        expected_fraction * 100.0
    );
    let (kind, reason) = if let Some((t, unexplained)) = unexplained_difference(progress) {
        let reason = format!(
            "cross-check failed for {t}: shipped {} = received {} + discrepancy {} + in transit {} is off by {unexplained}; {delivered}",
            get(&progress.shipped, t),
            get(&progress.received, t),
            get(&progress.discrepancy, t),
            get(&progress.in_transit, t),
        );
        (EvaluationKind::Accountability, reason)
    } else if expected_fraction >= INDOLENCE_FROM_EXPECTED
        && delivered_fraction < INDOLENCE_SHARE * expected_fraction
    {
        (
            EvaluationKind::Accountability,
            format!("indolence: {delivered}"),
        )
    } else if delivered_fraction >= COMMENDATION_SHARE * expected_fraction {
        (
            EvaluationKind::Commendation,
            format!("on schedule: {delivered}"),
        )
    } else {
        (
            EvaluationKind::Warning,
            format!("behind schedule: {delivered}"),
        )
    };
    Verdict {
        kind,
        delivered_fraction,
        expected_fraction,
        reason,
    }
}

/// Mean over the types with a positive target of min(1, received / target);
/// 1 when there is no target (nothing was owed).
fn delivered_fraction(progress: &AssignmentProgress) -> f64 {
    let fractions: Vec<f64> = progress
        .targets
        .iter()
        .filter(|(_, &target)| target > 0)
        .map(|(t, &target)| (get(&progress.received, *t).max(0) as f64 / target as f64).min(1.0))
        .collect();
    if fractions.is_empty() {
        return 1.0;
    }
    fractions.iter().sum::<f64>() / fractions.len() as f64
}

/// The first type (in catalog order) where shipped - received - discrepancy
/// is not what is in transit, with the unexplained amount. Over the types
/// the four maps name, so a type a scenario declared counts like a default.
fn unexplained_difference(progress: &AssignmentProgress) -> Option<(ResourceType, i64)> {
    let maps = [
        &progress.shipped,
        &progress.received,
        &progress.discrepancy,
        &progress.in_transit,
    ];
    let types: BTreeSet<ResourceType> = maps.iter().flat_map(|m| m.keys().copied()).collect();
    types.into_iter().find_map(|t| {
        let unexplained = get(&progress.shipped, t)
            .saturating_sub(get(&progress.received, t))
            .saturating_sub(get(&progress.discrepancy, t))
            .saturating_sub(get(&progress.in_transit, t));
        (unexplained != 0).then_some((t, unexplained))
    })
}

fn get(quantities: &Quantities, t: ResourceType) -> i64 {
    quantities.get(&t).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indolence_is_called_to_account_but_only_a_week_in() {
        let early = evaluate(&progress(0, 0, 3.0));
        assert_eq!(early.kind, EvaluationKind::Warning, "{}", early.reason);
        let late = evaluate(&progress(5, 0, 10.0));
        assert_eq!(late.kind, EvaluationKind::Accountability, "{}", late.reason);
        assert!(late.reason.starts_with("indolence"));
    }
    use ResourceType::{Doctor, MaskN95};

    /// Targets 100 doctors and 1000 masks; `received` of each arrived whole.
    fn progress(doctors: i64, masks: i64, days: f64) -> AssignmentProgress {
        let m = |d, k| Quantities::from([(Doctor, d), (MaskN95, k)]);
        AssignmentProgress {
            targets: m(100, 1000),
            shipped: m(doctors, masks),
            received: m(doctors, masks),
            days_since_acknowledged: days,
            ..Default::default()
        }
    }

    #[test]
    fn delivering_on_schedule_is_commended() {
        // 50% and 30% delivered: 40%; 7 days in, 50% expected; 0.4 >= 0.8 x 0.5.
        let v = evaluate(&progress(50, 300, 7.0));
        assert_eq!(v.kind, EvaluationKind::Commendation);
        assert!((v.delivered_fraction - 0.4).abs() < 1e-12);
        assert!((v.expected_fraction - 0.5).abs() < 1e-12);
        assert!(
            v.reason.contains("delivered 40%") && v.reason.contains("50% expected"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn falling_behind_is_warned() {
        let v = evaluate(&progress(50, 200, 7.0)); // 35% < 40%
        assert_eq!(v.kind, EvaluationKind::Warning);
        assert!(v.reason.starts_with("behind schedule"), "{}", v.reason);
    }

    #[test]
    fn over_delivery_counts_as_full_and_expectation_stops_at_one() {
        let v = evaluate(&progress(500, 1000, 30.0));
        assert_eq!(v.delivered_fraction, 1.0);
        assert_eq!(v.expected_fraction, 1.0);
        assert_eq!(v.kind, EvaluationKind::Commendation);
    }

    #[test]
    fn in_transit_and_discrepancies_explain_the_difference() {
        let mut p = progress(0, 0, 1.0);
        p.shipped = Quantities::from([(Doctor, 100), (MaskN95, 1000)]);
        p.received = Quantities::from([(MaskN95, 990)]);
        p.discrepancy = Quantities::from([(MaskN95, 10)]);
        p.in_transit = Quantities::from([(Doctor, 100)]);
        assert_ne!(evaluate(&p).kind, EvaluationKind::Accountability);
    }

    #[test]
    fn an_unexplained_difference_calls_for_accountability() {
        let mut p = progress(100, 1000, 14.0);
        p.received.insert(MaskN95, 900); // 100 masks gone, unexplained
        let v = evaluate(&p);
        assert_eq!(v.kind, EvaluationKind::Accountability);
        assert!(
            v.reason.contains("material/mask_n95") && v.reason.contains("off by 100"),
            "{}",
            v.reason
        );
        // Receiving more than was shipped is just as unexplained.
        let mut p = progress(10, 0, 1.0);
        p.received.insert(Doctor, 12);
        assert_eq!(evaluate(&p).kind, EvaluationKind::Accountability);
    }

    #[test]
    fn nothing_owed_is_fully_delivered() {
        let v = evaluate(&AssignmentProgress {
            days_since_acknowledged: -3.0,
            ..Default::default()
        });
        assert_eq!(v.delivered_fraction, 1.0);
        assert_eq!(v.expected_fraction, 0.0);
        assert_eq!(v.kind, EvaluationKind::Commendation);
    }
}
