//! Messages from central: the clock, assignments, evaluations, adjustments,
//! demobilisation orders; and who may send them.

use pairing_proto::resource::ResourceType::*;
use pairing_proto::v1::{
    Adjustment, AdjustmentKind, DemobilisationOrder, Evaluation, EvaluationKind,
};

use super::*;
use crate::RefusalCode;

fn evaluation(id: &str, message_id: &str) -> Evaluation {
    Evaluation {
        header: header("central", message_id),
        evaluation_id: id.into(),
        case_id: CASE.into(),
        assignment_id: ASSIGNMENT.into(),
        kind: EvaluationKind::Commendation as i32,
        reason: "delivered 0.9 of 0.5 expected".into(),
        delivered_fraction: 0.9,
    }
}

#[test]
fn nothing_is_accepted_before_the_clock() {
    let mut d = donor();
    let err = d
        .on_assignment(&assignment(&[(Doctor, 1)]), day(0.0))
        .unwrap_err();
    assert_eq!(err.code(), RefusalCode::FailedPrecondition);
    assert!(err.message().starts_with("clock"), "{}", err.message());
    assert_eq!(d.assignments().count(), 0);
    assert!(
        d.on_tick(day(1.0)).is_empty(),
        "no tick work before the clock"
    );
}

#[test]
fn the_clock_is_set_once() {
    let mut d = donor();
    assert!(!d.on_clock_start(&clock_start()).unwrap().duplicate);
    assert!(d.on_clock_start(&clock_start()).unwrap().duplicate);
    let mut resend = clock_start();
    resend.header = header("central", "another-id");
    assert!(d.on_clock_start(&resend).unwrap().duplicate, "same clock");
    let mut other = clock_start();
    other.header = header("central", "third-id");
    other.clock.as_mut().unwrap().day_ms = 5;
    assert_eq!(
        d.on_clock_start(&other).unwrap_err().code(),
        RefusalCode::FailedPrecondition
    );
    assert_eq!(d.clock().unwrap().day_ms, 1000);
}

#[test]
fn a_clock_for_another_scenario_start_is_refused() {
    let mut d = donor();
    let mut m = clock_start();
    m.clock.as_mut().unwrap().start_date = "2020-02-08".into();
    let err = d.on_clock_start(&m).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(
        err.message().starts_with("clock.start_date"),
        "{}",
        err.message()
    );
    assert!(d.clock().is_none());
}

#[test]
fn only_central_may_assign() {
    let mut d = started();
    let mut m = assignment(&[(Doctor, 1)]);
    m.header = header("guangxi", "guangxi-1");
    let err = d.on_assignment(&m, day(0.0)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::PermissionDenied);
    assert!(
        err.message().starts_with("header.sender_id"),
        "{}",
        err.message()
    );
    assert_eq!(d.assignments().count(), 0);
}

#[test]
fn a_malformed_assignment_is_refused_naming_the_field() {
    let mut d = started();
    let err = d
        .on_assignment(&assignment(&[(Doctor, -5)]), day(0.0))
        .unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(
        err.message().starts_with("targets[0].quantity"),
        "{}",
        err.message()
    );

    let mut m = assignment(&[(Doctor, 5)]);
    m.recipient_endpoint = "127.0.0.1:9".into();
    let err = d.on_assignment(&m, day(0.0)).unwrap_err();
    assert!(
        err.message().starts_with("recipient_endpoint"),
        "{}",
        err.message()
    );

    let mut m = assignment(&[(Doctor, 5)]);
    m.assignment_id = "asg-case-huangshi-1-guangxi".into();
    let err = d.on_assignment(&m, day(0.0)).unwrap_err();
    assert!(
        err.message().starts_with("assignment_id"),
        "{}",
        err.message()
    );

    let mut m = assignment(&[(Doctor, 5)]);
    m.header = None;
    assert_eq!(
        d.on_assignment(&m, day(0.0)).unwrap_err().message(),
        "header: missing"
    );
    assert_eq!(d.assignments().count(), 0);
}

#[test]
fn an_assignment_for_a_city_outside_the_scenario_is_not_found() {
    let mut d = started();
    let mut m = assignment(&[(Doctor, 1)]);
    m.recipient_city_id = "atlantis".into();
    let err = d.on_assignment(&m, day(0.0)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::NotFound);
    assert!(
        err.message().starts_with("recipient_city_id"),
        "{}",
        err.message()
    );
}

#[test]
fn an_assignment_resent_is_applied_once() {
    let mut d = started();
    assert!(
        !d.on_assignment(&assignment(&[(Doctor, 1)]), day(0.0))
            .unwrap()
            .duplicate
    );
    assert!(
        d.on_assignment(&assignment(&[(Doctor, 1)]), day(0.0))
            .unwrap()
            .duplicate
    );
    let mut other_id = assignment(&[(Doctor, 99)]);
    other_id.header = header("central", "central-asg-again");
    assert!(
        d.on_assignment(&other_id, day(0.0)).unwrap().duplicate,
        "same assignment id"
    );
    assert_eq!(d.assignments().count(), 1);
    assert_eq!(
        d.assignment(ASSIGNMENT).unwrap().targets.get(&Doctor),
        Some(&1)
    );
}

#[test]
fn evaluations_are_kept_once_each() {
    let mut d = assigned(&[(Doctor, 1)]);
    assert!(
        !d.on_evaluation(&evaluation("eval-1", "m1"), day(3.0))
            .unwrap()
            .duplicate
    );
    assert!(
        d.on_evaluation(&evaluation("eval-1", "m2"), day(3.0))
            .unwrap()
            .duplicate
    );
    d.on_evaluation(&evaluation("eval-2", "m3"), day(6.0))
        .unwrap();
    let a = d.assignment(ASSIGNMENT).unwrap();
    let ids: Vec<_> = a
        .evaluations
        .iter()
        .map(|e| e.evaluation_id.as_str())
        .collect();
    assert_eq!(ids, ["eval-1", "eval-2"]);
    assert_eq!(a.evaluations[0].kind, EvaluationKind::Commendation);
}

#[test]
fn a_bad_evaluation_is_refused() {
    let mut d = assigned(&[(Doctor, 1)]);
    let mut m = evaluation("eval-1", "m1");
    m.delivered_fraction = 1.5;
    assert!(d
        .on_evaluation(&m, day(3.0))
        .unwrap_err()
        .message()
        .starts_with("delivered_fraction"));
    let mut m = evaluation("eval-1", "m1");
    m.kind = 0;
    assert!(d
        .on_evaluation(&m, day(3.0))
        .unwrap_err()
        .message()
        .starts_with("kind"));
    let mut m = evaluation("eval-1", "m1");
    m.header = header("huangshi", "m1");
    assert_eq!(
        d.on_evaluation(&m, day(3.0)).unwrap_err().code(),
        RefusalCode::PermissionDenied
    );
    assert!(d.assignment(ASSIGNMENT).unwrap().evaluations.is_empty());
}

#[test]
fn messages_about_an_unknown_assignment_are_not_found() {
    let mut d = assigned(&[(Doctor, 1)]);
    let mut e = evaluation("eval-1", "m1");
    e.assignment_id = "asg-case-shiyan-1-jiangsu".into();
    let err = d.on_evaluation(&e, day(3.0)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::NotFound);
    assert!(err.message().starts_with("assignment_id"));

    let adjust = Adjustment {
        header: header("central", "m2"),
        adjustment_id: "adj-x-1".into(),
        case_id: CASE.into(),
        assignment_id: "asg-x".into(),
        kind: AdjustmentKind::ReleaseDonor as i32,
        new_targets: vec![],
        reason: String::new(),
    };
    assert_eq!(
        d.on_adjustment(&adjust, day(3.0)).unwrap_err().code(),
        RefusalCode::NotFound
    );

    let order = DemobilisationOrder {
        header: header("central", "m3"),
        order_id: "demob-asg-x".into(),
        case_id: CASE.into(),
        assignment_id: "asg-x".into(),
    };
    assert_eq!(
        d.on_demobilisation(&order, day(3.0)).unwrap_err().code(),
        RefusalCode::NotFound
    );
    assert!(!d.assignment(ASSIGNMENT).unwrap().is_standing_down());
}

#[test]
fn a_message_naming_the_wrong_case_is_refused() {
    let mut d = assigned(&[(Doctor, 1)]);
    let order = DemobilisationOrder {
        header: header("central", "m3"),
        order_id: "demob".into(),
        case_id: "case-shiyan-1".into(),
        assignment_id: ASSIGNMENT.into(),
    };
    let err = d.on_demobilisation(&order, day(3.0)).unwrap_err();
    assert_eq!(err.code(), RefusalCode::InvalidArgument);
    assert!(err.message().starts_with("case_id"));
    assert!(!d.assignment(ASSIGNMENT).unwrap().is_standing_down());
}

#[test]
fn an_own_outbreak_is_a_constraint() {
    let mut d = started();
    d.on_assignment(&assignment(&[(Doctor, 1)]), day(14.0))
        .unwrap();
    let ack = d.on_tick(day(14.0)).into_iter().find_map(|o| match o {
        Outbound::Acknowledgement(a) => Some(a),
        _ => None,
    });
    let ack = ack.unwrap();
    assert_eq!(ack.constraints, ["own outbreak at level 3"]);
}
