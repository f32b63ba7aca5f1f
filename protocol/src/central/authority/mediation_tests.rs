//! Mediation at central: who may raise a dispute, when central rules, and
//! that a ruling reaches only nodes that declared the feature.

use pairing_proto::v1::*;

use super::outbound::{Message, Outbound, ToCity, ToProvince};
use super::tests::{at, header, paired};
use super::Authority;
use crate::catalog::MEDIATION_FEATURE;
use crate::refusal::RefusalCode as Code;

fn dispute(sender: &str, case_id: &str, about: &str, id: &str) -> Dispute {
    Dispute {
        header: header(sender, at(4.0)),
        dispute_id: id.into(),
        case_id: case_id.into(),
        kind: DisputeKind::Shortfall as i32,
        counterpart_id: about.into(),
        evidence: vec![DisputeFigure {
            resource_type: "material/mask_n95".into(),
            stated: 100_000,
            observed: 99_000,
        }],
        ..Default::default()
    }
}

/// Registers `id` again, declaring mediation, as a node of this release.
fn declare_mediation(a: &mut Authority, id: &str, role: Role) {
    let msg = RegisterNode {
        header: header(id, at(4.0)),
        role: role as i32,
        endpoint: format!("http://{id}.test:1"),
        features: vec![MEDIATION_FEATURE.into()],
        ..Default::default()
    };
    a.register(&msg, at(4.0)).unwrap();
}

fn rulings(out: &[Outbound]) -> Vec<(String, Mediation)> {
    (out.iter())
        .filter_map(|o| match &o.message {
            Message::Province(ToProvince::Mediation(m)) | Message::City(ToCity::Mediation(m)) => {
                Some((o.to.clone(), m.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn only_the_two_sides_of_a_pairing_may_dispute() {
    let (mut a, assignments) = paired();
    let (donor, asg) = &assignments[0];
    let case = asg.case_id.clone();
    let city = asg.recipient_city_id.clone();
    let other_city = if city == "north" { "south" } else { "north" };
    let refused = |a: &mut Authority, d: Dispute| a.raise_dispute(&d, at(4.0)).unwrap_err();
    let e = refused(&mut a, dispute(other_city, &case, donor, "d1"));
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    let e = refused(&mut a, dispute(&city, "case-nowhere-1", donor, "d1"));
    assert_eq!(e.code(), Code::NotFound, "{e}");
    let e = refused(&mut a, dispute(&city, &case, "gamma", "d1"));
    assert_eq!(e.code(), Code::NotFound, "{e}");
    assert!(e.message().starts_with("counterpart_id"), "{e}");
    let mut no_kind = dispute(&city, &case, donor, "d1");
    no_kind.kind = 0;
    assert_eq!(refused(&mut a, no_kind).code(), Code::InvalidArgument);
    // The donor may dispute its city, naming the city.
    a.raise_dispute(&dispute(donor, &case, &city, "d2"), at(4.0))
        .unwrap();
    for n in 0..3 {
        let id = format!("c{n}");
        a.raise_dispute(&dispute(&city, &case, donor, &id), at(4.0))
            .unwrap();
    }
    let e = refused(&mut a, dispute(&city, &case, donor, "c3"));
    assert_eq!(e.code(), Code::ResourceExhausted, "{e}");
    // A resend of one already raised is answered, not counted again.
    a.raise_dispute(&dispute(&city, &case, donor, "c0"), at(4.0))
        .unwrap();
    // A province not on the case may not dispute its city: south is paired
    // with alpha alone (the small scenario's table), so beta is outside.
    let (_, south) = (assignments.iter())
        .find(|(_, a)| a.recipient_city_id == "south")
        .expect("south is paired");
    let e = refused(&mut a, dispute("beta", &south.case_id, "south", "o1"));
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    assert!(
        e.message().contains("has no assignment for \"beta\""),
        "{e}"
    );
}

/// With nothing in its ledger, central waits two report intervals (small:
/// 2 days each), then dismisses the shortfall; the ruling goes to the
/// sides that declared mediation and to no other.
#[test]
fn central_rules_after_its_wait_and_tells_only_nodes_that_declared_the_feature() {
    let (mut a, assignments) = paired();
    let (donor, asg) = &assignments[0];
    let city = asg.recipient_city_id.clone();
    declare_mediation(&mut a, &city, Role::City);
    a.raise_dispute(&dispute(&city, &asg.case_id, donor, "d1"), at(4.0))
        .unwrap();
    let resent = a.raise_dispute(&dispute(&city, &asg.case_id, donor, "d1"), at(4.0));
    assert!(resent.is_ok(), "the same dispute again is no new one");
    assert!(
        rulings(&a.on_tick(at(7.9))).is_empty(),
        "ruled before the wait"
    );
    let out = rulings(&a.on_tick(at(8.1)));
    assert_eq!(out.len(), 1, "only the city declared mediation: {out:?}");
    let (to, ruling) = &out[0];
    assert_eq!(to, &city);
    assert_eq!(ruling.ruling(), Ruling::Dismissed);
    assert_eq!(ruling.dispute_id, "d1");
    let case = &a.cases[&asg.case_id];
    let steps: Vec<&str> = (case.events.iter())
        .map(|e| e.step.as_str())
        .filter(|s| s.contains("dispute") || *s == "mediated")
        .collect();
    assert_eq!(steps, ["dispute_raised", "mediated"]);
    assert!(rulings(&a.on_tick(at(12.0))).is_empty(), "ruled once");
}
