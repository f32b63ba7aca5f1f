use counterpart_domain::quantities::Quantities;
use proptest::prelude::*;
use ResourceType::{Doctor, MaskN95, Nurse};

use super::*;

fn shipment(
    id: &str,
    case: &str,
    province: &str,
    departed_at_ms: i64,
    lines: &[(ResourceType, i64)],
) -> ShipmentEntry {
    ShipmentEntry {
        shipment_id: id.into(),
        case_id: case.into(),
        province_id: province.into(),
        departed_at_ms,
        lines: lines.iter().copied().collect(),
    }
}

fn receipt(
    id: &str,
    case: &str,
    at_ms: i64,
    received: &[(ResourceType, i64)],
    lost: &[(ResourceType, i64)],
) -> ReceiptEntry {
    ReceiptEntry {
        shipment_id: id.into(),
        case_id: case.into(),
        received_at_ms: at_ms,
        received: received.iter().copied().collect(),
        discrepancy: lost.iter().copied().collect(),
    }
}

/// Jiangsu's two shipments to Huangshi; the first has arrived.
fn ledger() -> Ledger {
    let mut ledger = Ledger::default();
    ledger.set_targets(
        "case-huangshi-1",
        "huangshi",
        "jiangsu",
        Quantities::from([(Doctor, 103), (MaskN95, 3000)]),
    );
    let shipments = vec![
        shipment(
            "shp-jiangsu-case-huangshi-1-2",
            "case-huangshi-1",
            "jiangsu",
            300,
            &[(MaskN95, 1000)],
        ),
        shipment(
            "shp-jiangsu-case-huangshi-1-1",
            "case-huangshi-1",
            "jiangsu",
            100,
            &[(Doctor, 103), (MaskN95, 1000)],
        ),
    ];
    assert_eq!(ledger.record_shipments(shipments), Ok(2));
    let arrived = receipt(
        "shp-jiangsu-case-huangshi-1-1",
        "case-huangshi-1",
        200,
        &[(Doctor, 103), (MaskN95, 990)],
        &[(MaskN95, 10)],
    );
    assert_eq!(ledger.record_receipts(vec![arrived]), Ok(1));
    ledger
}

#[test]
fn progress_splits_shipped_into_received_discrepancy_and_in_transit() {
    let p = ledger().progress("case-huangshi-1", "jiangsu", 5.0);
    assert_eq!(
        p.targets,
        Quantities::from([(Doctor, 103), (MaskN95, 3000)])
    );
    assert_eq!(
        p.shipped,
        Quantities::from([(Doctor, 103), (MaskN95, 2000)])
    );
    assert_eq!(
        p.received,
        Quantities::from([(Doctor, 103), (MaskN95, 990)])
    );
    assert_eq!(p.discrepancy, Quantities::from([(MaskN95, 10)]));
    assert_eq!(p.in_transit, Quantities::from([(MaskN95, 1000)]));
    assert_eq!(p.days_since_acknowledged, 5.0);
}

#[test]
fn merging_the_same_records_again_changes_nothing() {
    let mut l = ledger();
    let before = l.clone();
    let again = vec![shipment(
        "shp-jiangsu-case-huangshi-1-1",
        "case-huangshi-1",
        "jiangsu",
        100,
        &[(Doctor, 103), (MaskN95, 1000), (Nurse, 0)],
    )];
    assert_eq!(l.record_shipments(again), Ok(0));
    let again = receipt(
        "shp-jiangsu-case-huangshi-1-1",
        "case-huangshi-1",
        200,
        &[(Doctor, 103), (MaskN95, 990)],
        &[(MaskN95, 10)],
    );
    assert_eq!(l.record_receipts(vec![again.clone(), again]), Ok(0));
    assert_eq!(l, before);
}

#[test]
fn a_changed_shipment_refuses_the_whole_batch() {
    let mut l = ledger();
    let before = l.clone();
    let batch = vec![
        shipment(
            "shp-jiangsu-case-huangshi-1-3",
            "case-huangshi-1",
            "jiangsu",
            500,
            &[(MaskN95, 1000)],
        ),
        shipment(
            "shp-jiangsu-case-huangshi-1-2",
            "case-huangshi-1",
            "jiangsu",
            300,
            &[(MaskN95, 999)],
        ),
    ];
    let err = l.record_shipments(batch).unwrap_err();
    assert_eq!(
        err,
        LedgerError::ShipmentChanged {
            shipment_id: "shp-jiangsu-case-huangshi-1-2".into()
        }
    );
    assert!(err.to_string().contains("shp-jiangsu-case-huangshi-1-2"));
    assert_eq!(
        l, before,
        "the new shipment of the refused batch was not applied"
    );
    // The same id twice in one batch with different content is refused too.
    let twice = vec![
        shipment("shp-x-1", "case-huangshi-1", "jiangsu", 1, &[(Nurse, 1)]),
        shipment("shp-x-1", "case-huangshi-1", "jiangsu", 1, &[(Nurse, 2)]),
    ];
    assert!(matches!(
        l.record_shipments(twice),
        Err(LedgerError::ShipmentChanged { .. })
    ));
    assert_eq!(l, before);
}

#[test]
fn a_changed_receipt_refuses_the_whole_batch() {
    let mut l = ledger();
    let before = l.clone();
    let batch = vec![
        receipt(
            "shp-jiangsu-case-huangshi-1-2",
            "case-huangshi-1",
            400,
            &[(MaskN95, 1000)],
            &[],
        ),
        receipt(
            "shp-jiangsu-case-huangshi-1-1",
            "case-huangshi-1",
            201,
            &[(Doctor, 103), (MaskN95, 990)],
            &[(MaskN95, 10)],
        ),
    ];
    let err = l.record_receipts(batch).unwrap_err();
    assert_eq!(
        err,
        LedgerError::ReceiptChanged {
            shipment_id: "shp-jiangsu-case-huangshi-1-1".into()
        }
    );
    assert_eq!(l, before);
}

#[test]
fn a_receipt_that_does_not_add_up_is_refused() {
    let mut l = ledger();
    let before = l.clone();
    let short = receipt(
        "shp-jiangsu-case-huangshi-1-2",
        "case-huangshi-1",
        400,
        &[(MaskN95, 900)],
        &[],
    );
    let err = l.record_receipts(vec![short]).unwrap_err();
    assert_eq!(
        err,
        LedgerError::ReceiptDoesNotAddUp {
            shipment_id: "shp-jiangsu-case-huangshi-1-2".into(),
            resource_type: MaskN95
        }
    );
    assert!(
        err.to_string().contains("shp-jiangsu-case-huangshi-1-2")
            && err.to_string().contains("material/mask_n95")
    );
    let extra = receipt(
        "shp-jiangsu-case-huangshi-1-2",
        "case-huangshi-1",
        400,
        &[(MaskN95, 1000), (Nurse, 1)],
        &[],
    );
    assert!(matches!(
        l.record_receipts(vec![extra]),
        Err(LedgerError::ReceiptDoesNotAddUp {
            resource_type: Nurse,
            ..
        })
    ));
    let elsewhere = receipt(
        "shp-jiangsu-case-huangshi-1-2",
        "case-ezhou-1",
        400,
        &[(MaskN95, 1000)],
        &[],
    );
    assert!(matches!(
        l.record_receipts(vec![elsewhere]),
        Err(LedgerError::CaseMismatch { .. })
    ));
    assert_eq!(l, before);
}

#[test]
fn a_receipt_may_come_first_and_its_shipment_must_match_it() {
    let mut l = Ledger::default();
    let early = receipt("shp-a-1", "case-c-1", 50, &[(Nurse, 10)], &[]);
    assert_eq!(l.record_receipts(vec![early]), Ok(1));
    let before = l.clone();
    let wrong = shipment("shp-a-1", "case-c-1", "anhui", 10, &[(Nurse, 12)]);
    assert!(matches!(
        l.record_shipments(vec![wrong]),
        Err(LedgerError::ReceiptDoesNotAddUp { .. })
    ));
    assert_eq!(l, before);
    assert_eq!(
        l.record_shipments(vec![shipment(
            "shp-a-1",
            "case-c-1",
            "anhui",
            10,
            &[(Nurse, 10)]
        )]),
        Ok(1)
    );
    assert!(l.all_receipted("case-c-1", "anhui"));
    assert_eq!(
        l.progress("case-c-1", "anhui", 0.0).received,
        Quantities::from([(Nurse, 10)])
    );
}

#[test]
fn queries_per_case_and_donor() {
    let mut l = ledger();
    let ids: Vec<&str> = l
        .shipments_of("case-huangshi-1", "jiangsu")
        .iter()
        .map(|s| s.shipment_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "shp-jiangsu-case-huangshi-1-1",
            "shp-jiangsu-case-huangshi-1-2"
        ]
    );
    assert!(l.shipments_of("case-huangshi-1", "anhui").is_empty());
    assert!(!l.all_receipted("case-huangshi-1", "jiangsu"));
    assert!(
        l.all_receipted("case-huangshi-1", "anhui"),
        "nothing shipped, nothing missing"
    );
    assert_eq!(
        l.receipt_for("shp-jiangsu-case-huangshi-1-1")
            .map(|r| r.received_at_ms),
        Some(200)
    );
    assert_eq!(l.receipt_for("shp-jiangsu-case-huangshi-1-2"), None);
    let (shipped, received) = l.case_totals("case-huangshi-1");
    assert_eq!(shipped, Quantities::from([(Doctor, 103), (MaskN95, 2000)]));
    assert_eq!(received, Quantities::from([(Doctor, 103), (MaskN95, 990)]));
    assert_eq!(l.first_arrival_ms("case-huangshi-1"), Some(200));
    assert_eq!(l.first_arrival_ms("case-ezhou-1"), None);
    l.record_cost("case-huangshi-1", "jiangsu", 100);
    l.record_cost("case-huangshi-1", "jiangsu", 250);
    l.record_cost("case-ezhou-1", "jiangsu", 50);
    l.record_cost("case-ezhou-1", "guizhou", 70);
    let costs: Vec<(String, i64)> = l
        .costs()
        .into_iter()
        .map(|c| (c.province_id, c.cost_cny))
        .collect();
    assert_eq!(
        costs,
        [("guizhou".to_string(), 70), ("jiangsu".to_string(), 300)]
    );
}

#[test]
fn ledger_lines_cover_every_targeted_or_shipped_type() {
    let lines = ledger().lines();
    let summary: Vec<(&str, &str, i64, i64, i64, i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l.city_id.as_str(),
                l.resource_type.as_str(),
                l.target,
                l.shipped,
                l.received,
                l.discrepancy,
                l.in_transit,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("huangshi", "personnel/doctor", 103, 103, 103, 0, 0),
            ("huangshi", "material/mask_n95", 3000, 2000, 990, 10, 1000)
        ]
    );
}

/// One step of a random history: a donor report or a city report about
/// shipment `k`, honest or tampered with.
#[derive(Debug, Clone)]
struct Step {
    ship: bool,
    k: usize,
    tampered: bool,
    damage_seed: u64,
}

fn truth() -> impl Strategy<Value = Vec<ShipmentEntry>> {
    let lines = prop::collection::btree_map(
        prop::sample::select(vec![Doctor, Nurse, MaskN95]),
        0i64..100,
        0..3,
    )
    .prop_map(Quantities::from);
    prop::collection::vec((lines, 0usize..2, 0usize..2, 0i64..1000), 1..6).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(
                |(k, (lines, case, province, departed_at_ms))| ShipmentEntry {
                    shipment_id: format!("shp-{k}"),
                    case_id: ["case-a-1", "case-b-1"][case].into(),
                    province_id: ["anhui", "beijing"][province].into(),
                    departed_at_ms,
                    lines,
                },
            )
            .collect()
    })
}

fn tamper(lines: &mut Quantities) {
    *lines.entry(Nurse).or_insert(0) += 1;
}

fn record_of(truth: &ShipmentEntry, step: &Step) -> Result<ShipmentEntry, ReceiptEntry> {
    if step.ship {
        let mut s = truth.clone();
        if step.tampered {
            tamper(&mut s.lines);
        }
        return Ok(s);
    }
    let mut r = ReceiptEntry {
        shipment_id: truth.shipment_id.clone(),
        case_id: truth.case_id.clone(),
        received_at_ms: truth.departed_at_ms + 50,
        received: Quantities::new(),
        discrepancy: Quantities::new(),
    };
    for (&t, &q) in &truth.lines {
        let lost = (step.damage_seed % 7).min(q as u64) as i64;
        r.received.insert(t, q - lost);
        r.discrepancy.insert(t, lost);
    }
    if step.tampered {
        tamper(&mut r.received);
    }
    Err(r)
}

fn balanced(ledger: &Ledger) -> Result<(), TestCaseError> {
    for case in ["case-a-1", "case-b-1"] {
        for province in ["anhui", "beijing"] {
            let p = ledger.progress(case, province, 0.0);
            for t in ResourceType::catalog() {
                let get = |m: &Quantities| m.get(&t).copied().unwrap_or(0);
                prop_assert_eq!(
                    get(&p.shipped),
                    get(&p.received) + get(&p.discrepancy) + get(&p.in_transit)
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn every_pair_always_balances(
        truth in truth(),
        steps in prop::collection::vec((any::<bool>(), 0usize..6, prop::bool::weighted(0.2), any::<u64>()), 0..20),
        batch in 1usize..4,
    ) {
        let steps: Vec<Step> = steps.into_iter().map(|(ship, k, tampered, damage_seed)| Step { ship, k, tampered, damage_seed }).collect();
        let mut ledger = Ledger::default();
        for chunk in steps.chunks(batch) {
            let (mut shipments, mut receipts) = (Vec::new(), Vec::new());
            for step in chunk {
                match record_of(&truth[step.k % truth.len()], step) {
                    Ok(s) => shipments.push(s),
                    Err(r) => receipts.push(r),
                }
            }
            let before = ledger.clone();
            match ledger.record_shipments(shipments.clone()) {
                Err(_) => prop_assert_eq!(&ledger, &before),
                Ok(_) => prop_assert_eq!(ledger.record_shipments(shipments), Ok(0), "merging again is a no-op"),
            }
            let before = ledger.clone();
            match ledger.record_receipts(receipts.clone()) {
                Err(_) => prop_assert_eq!(&ledger, &before),
                Ok(_) => prop_assert_eq!(ledger.record_receipts(receipts), Ok(0), "merging again is a no-op"),
            }
            balanced(&ledger)?;
            super::index_tests::agrees_with_a_scan(&ledger)?;
        }
    }
}

/// A shipment record as the previous release journaled it (types as the
/// enum's variant names) loads, and this release writes it back byte for
/// byte, so the previous release could still read it.
#[test]
fn a_shipment_journaled_by_the_previous_release_loads_unchanged() {
    let saved = r#"{"shipment_id":"shp-anhui-case-a-1-1","case_id":"case-a-1","province_id":"anhui","departed_at_ms":5,"lines":{"Doctor":10,"MaskN95":1000}}"#;
    let entry: ShipmentEntry = serde_json::from_str(saved).expect("the old record loads");
    let expected = shipment(
        "shp-anhui-case-a-1-1",
        "case-a-1",
        "anhui",
        5,
        &[(Doctor, 10), (MaskN95, 1000)],
    );
    assert_eq!(entry, expected);
    assert_eq!(serde_json::to_string(&entry).unwrap(), saved);
}
