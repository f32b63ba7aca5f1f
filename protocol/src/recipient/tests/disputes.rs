//! Mediation at the city: a shortfall against the manifests is disputed
//! once per donor, at a report tick, and central's ruling is kept.

use pairing_proto::v1::{Dispute, DisputeKind, Mediation, Ruling};

use super::*;

fn disputes(sent: &[(ScenarioTime, Outbound)]) -> Vec<&Dispute> {
    (sent.iter())
        .filter_map(|(_, o)| match o {
            Outbound::Dispute(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The test scenario loses 1 % of material in transit: 300 of 30,000
/// masks is above both bounds of a shortfall; 19 of 1,999 is not.
#[test]
fn a_shortfall_is_disputed_once_per_donor_and_the_ruling_kept() {
    let mut m = started();
    let h = open_case(&mut m);
    let few = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 1_999)]);
    m.on_shipment(&few, hours(h + 1)).unwrap();
    assert!(
        disputes(&run(&mut m, h + 1, h + 24 * 5)).is_empty(),
        "at most 39 masks lost"
    );
    let many = shipment("s2", "jiangsu", 2, vec![line("material/mask_n95", 100_000)]);
    let lost = masks_lost(&few, 1_999) + masks_lost(&many, 100_000);
    assert!(
        lost >= 250,
        "the seeded draws lose {lost} masks, too few to dispute"
    );
    m.on_shipment(&many, hours(h + 24 * 5)).unwrap();
    let sent = run(&mut m, h + 24 * 5, h + 24 * 10);
    let raised = disputes(&sent);
    assert_eq!(
        raised.len(),
        1,
        "one dispute, then no resend while in flight"
    );
    let d = raised[0].clone();
    assert_eq!(d.kind(), DisputeKind::Shortfall);
    assert_eq!(
        (d.case_id.as_str(), d.counterpart_id.as_str()),
        (CASE, "jiangsu")
    );
    let figure = &d.evidence[0];
    assert_eq!(figure.resource_type, "material/mask_n95");
    assert_eq!((figure.stated, figure.observed), (101_999, 101_999 - lost));
    // Delivered: never raised again about this donor.
    m.on_sent(
        Sent::Dispute {
            donor_id: "jiangsu".into(),
            outcome: Ok(()),
        },
        hours(h + 24 * 10),
    );
    assert!(disputes(&run(&mut m, h + 24 * 10, h + 24 * 20)).is_empty());
    let ruling = Mediation {
        header: header("ruling-1", "central"),
        dispute_id: d.dispute_id.clone(),
        case_id: CASE.into(),
        assignment_id: format!("asg-{CASE}-jiangsu"),
        kind: DisputeKind::Shortfall as i32,
        ruling: Ruling::Upheld as i32,
        reason: "the ledger shows it".into(),
        raised_by: CITY.into(),
        ..Default::default()
    };
    let from_a_donor = Mediation {
        header: header("ruling-2", "jiangsu"),
        ..ruling.clone()
    };
    assert!(m.on_mediation(&from_a_donor).is_err(), "only central rules");
    assert!(!m.on_mediation(&ruling).unwrap().duplicate);
    assert!(m.on_mediation(&ruling).unwrap().duplicate);
    let (_, kept) = m.disputes().next().expect("the dispute is kept");
    assert_eq!(kept.ruling(), Some(Ruling::Upheld));
}
