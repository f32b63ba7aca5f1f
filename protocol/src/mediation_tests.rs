use super::*;
use crate::refusal::RefusalCode;

const MASKS: ResourceType = ResourceType::MaskN95;
const DOCTORS: ResourceType = ResourceType::Doctor;

fn quantities(lines: &[(ResourceType, i64)]) -> Quantities {
    let mut q = Quantities::new();
    for &(t, n) in lines {
        q.add(t, n);
    }
    q
}

#[test]
fn a_loss_counts_only_above_both_bounds() {
    // 0.2 % of a million masks (the hubei-2020 transit loss) counts.
    assert!(is_shortfall(1_000_000, 2_000));
    // 249 units is below the floor, however large the share.
    assert!(!is_shortfall(300, 249));
    // 1,000 of ten million is 0.01 %: within a manifest's counting error.
    assert!(!is_shortfall(10_000_000, 1_000));
    // The largest pairing of hubei-2020: 666 of 333,521 masks (0.2 %).
    assert!(is_shortfall(333_521, 666));
}

#[test]
fn a_shortfall_names_only_the_types_that_fall_short() {
    let stated = quantities(&[(MASKS, 1_000_000), (DOCTORS, 103)]);
    let observed = quantities(&[(MASKS, 998_000), (DOCTORS, 103)]);
    let figures = shortfall(&stated, &observed);
    assert_eq!(figures.len(), 1, "{figures:?}");
    assert_eq!(figures[0].resource_type, "material/mask_n95");
    assert_eq!(
        (figures[0].stated, figures[0].observed),
        (1_000_000, 998_000)
    );
    assert!(shortfall(&stated, &stated).is_empty());
}

fn dispute(kind: DisputeKind, evidence: Vec<DisputeFigure>) -> Dispute {
    Dispute {
        header: None,
        dispute_id: "dsp-1".into(),
        case_id: "case-huangshi-1".into(),
        kind: kind as i32,
        counterpart_id: "jiangsu".into(),
        assignment_id: "asg-case-huangshi-1-jiangsu".into(),
        shipment_id: String::new(),
        evidence,
        statement: String::new(),
    }
}

#[test]
fn a_bad_dispute_is_refused_naming_the_field() {
    let no_kind = dispute(DisputeKind::Unspecified, vec![]);
    let err = check(&no_kind).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(err.message().starts_with("kind: 0"), "{err}");
    let bare = dispute(DisputeKind::Shortfall, vec![]);
    assert!(check(&bare).unwrap_err().message().starts_with("evidence:"));
    let negative = dispute(
        DisputeKind::Shortfall,
        vec![DisputeFigure {
            resource_type: "material/mask_n95".into(),
            stated: -1,
            observed: 0,
        }],
    );
    let err = check(&negative).unwrap_err();
    assert!(err.message().starts_with("evidence[0].stated"), "{err}");
    let conduct = dispute(DisputeKind::Conduct, vec![]);
    assert_eq!(check(&conduct), Ok(DisputeKind::Conduct));
}

#[test]
fn a_shortfall_the_ledger_shows_is_upheld_and_made_good() {
    let evidence = shortfall(
        &quantities(&[(MASKS, 1_000_000)]),
        &quantities(&[(MASKS, 998_000)]),
    );
    let ledger = LedgerView {
        shipped: quantities(&[(MASKS, 1_000_000)]),
        received: quantities(&[(MASKS, 998_000)]),
        targets: quantities(&[(MASKS, 1_200_000), (DOCTORS, 103)]),
    };
    let decision = rule(DisputeKind::Shortfall, &evidence, &ledger);
    assert_eq!(decision.ruling, Ruling::Upheld);
    assert_eq!(decision.raised_targets.of(MASKS), 1_202_000);
    assert_eq!(decision.raised_targets.of(DOCTORS), 103, "kept as it was");
    assert!(!decision.warning, "a loss on the road is no misconduct");
    assert!(
        decision.reason.contains("2000 of 1000000"),
        "{}",
        decision.reason
    );
}

#[test]
fn a_shortfall_the_ledger_does_not_show_is_dismissed() {
    let evidence = shortfall(
        &quantities(&[(MASKS, 1_000_000)]),
        &quantities(&[(MASKS, 900_000)]),
    );
    let ledger = LedgerView {
        shipped: quantities(&[(MASKS, 1_000_000)]),
        received: quantities(&[(MASKS, 1_000_000)]),
        targets: quantities(&[(MASKS, 1_200_000)]),
    };
    let decision = rule(DisputeKind::Shortfall, &evidence, &ledger);
    assert_eq!(decision.ruling, Ruling::Dismissed);
    assert!(decision.raised_targets.is_empty());
    let conduct = rule(DisputeKind::Conduct, &[], &ledger);
    assert_eq!(conduct.ruling, Ruling::Dismissed);
    assert!(conduct.reason.contains("conduct"), "{}", conduct.reason);
}
