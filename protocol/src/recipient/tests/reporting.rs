//! Steps 11, 12, 16 and 18: reports, needs updates, demobilisation, closure.

use pairing_proto::v1::{CaseClosure, PlanProposal};

use super::*;

/// Ticks hourly, answering every report and demobilisation request at once
/// as a live central would.
pub(super) fn run_answered(m: &mut Recipient, from: i64, to: i64) -> Vec<(ScenarioTime, Outbound)> {
    let mut all = Vec::new();
    for h in from..to {
        for out in m.on_tick(hours(h)) {
            match &out {
                Outbound::SupervisoryReport(r) => {
                    let message_id = r.header.clone().unwrap().message_id;
                    m.on_sent(
                        Sent::SupervisoryReport {
                            message_id,
                            outcome: Ok(()),
                        },
                        hours(h),
                    );
                }
                Outbound::DemobilisationRequest(r) => {
                    let message_id = r.header.clone().unwrap().message_id;
                    m.on_sent(
                        Sent::DemobilisationRequest {
                            message_id,
                            outcome: Ok(()),
                        },
                        hours(h),
                    );
                }
                _ => {}
            }
            all.push((hours(h), out));
        }
    }
    all
}

pub(super) fn times_of(
    sent: &[(ScenarioTime, Outbound)],
    kind: fn(&Outbound) -> bool,
) -> Vec<ScenarioTime> {
    sent.iter()
        .filter(|(_, o)| kind(o))
        .map(|(t, _)| *t)
        .collect()
}

fn is_report(o: &Outbound) -> bool {
    matches!(o, Outbound::SupervisoryReport(_))
}

fn is_needs_update(o: &Outbound) -> bool {
    matches!(o, Outbound::NeedsUpdate { .. })
}

pub(super) fn is_demobilisation(o: &Outbound) -> bool {
    matches!(o, Outbound::DemobilisationRequest(_))
}

pub(super) fn close(m: &mut Recipient, at: ScenarioTime) {
    let closure = CaseClosure {
        header: header("close-1", "central"),
        case_id: CASE.into(),
        closed_at_ms: at.0,
    };
    assert!(!m.on_closure(&closure).unwrap().duplicate);
}

#[test]
fn reports_and_needs_go_out_every_interval_until_the_case_closes() {
    let mut m = started();
    let accepted = open_case(&mut m);
    // Active cases stay up until day 10; no quiet days before day 13.
    let sent = run_answered(&mut m, accepted, 24 * 12 + 12);
    let reports = times_of(&sent, is_report);
    let expected: Vec<_> = (1..)
        .map(|k| hours(accepted + 24 * k))
        .take(reports.len())
        .collect();
    assert_eq!(reports, expected, "one report per day from acceptance");
    assert!(reports.len() >= 8);
    assert_eq!(
        times_of(&sent, is_needs_update),
        reports,
        "one needs update per donor"
    );
    let Outbound::NeedsUpdate {
        donor_id,
        endpoint,
        update,
    } = &sent.iter().find(|(_, o)| is_needs_update(o)).unwrap().1
    else {
        unreachable!()
    };
    assert_eq!((donor_id.as_str(), endpoint.as_str()), ("jiangsu", JIANGSU));
    assert_eq!(update.case_id, CASE);
    close(&mut m, hours(24 * 12 + 12));
    assert!(
        run_answered(&mut m, 24 * 12 + 12, 24 * 30).is_empty(),
        "nothing after closure"
    );
}

#[test]
fn a_report_carries_the_situation_and_every_receipt_so_far() {
    let mut m = started();
    let accepted = open_case(&mut m);
    let s = shipment("s1", "jiangsu", 1, vec![line("material/mask_n95", 1_000)]);
    m.on_shipment(&s, hours(accepted + 1)).unwrap();
    let sent = run_answered(&mut m, accepted + 1, accepted + 25);
    let report = sent
        .iter()
        .find_map(|(_, o)| match o {
            Outbound::SupervisoryReport(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(report.case_id, CASE);
    assert_eq!(report.situation.unwrap().active_cases, 400);
    assert_eq!(report.receipts.len(), 1);
    let record = &report.receipts[0];
    assert_eq!(record.shipment_id, s.shipment_id);
    let lost = masks_lost(&s, 1_000);
    assert_eq!(record.received[0].quantity, 1_000 - lost);
    assert_eq!(record.discrepancies[0].quantity, lost);
}

#[test]
fn demobilisation_is_requested_once_after_the_quiet_days_and_after_a_report() {
    let mut m = started();
    let accepted = open_case(&mut m);
    let sent = run_answered(&mut m, accepted, 24 * 20);
    let demobs = times_of(&sent, is_demobilisation);
    // Day 10 saw the last new case; 3 quiet days end at day 13.
    assert_eq!(
        demobs,
        [hours(24 * 13 + 1)],
        "once, the tick after the fresh report"
    );
    let position = sent.iter().position(|(_, o)| is_demobilisation(o)).unwrap();
    assert!(
        is_report(&sent[position - 1].1),
        "a report goes just before"
    );
    assert_eq!(sent[position - 1].0, hours(24 * 13));
}

#[test]
fn demobilisation_waits_for_the_report_to_reach_central() {
    let mut m = started();
    let accepted = open_case(&mut m);
    run_answered(&mut m, accepted, 24 * 13);
    let sent = m.on_tick(hours(24 * 13));
    let Some(Outbound::SupervisoryReport(report)) = sent.iter().find(|o| is_report(o)) else {
        panic!("a report at day 13: {sent:?}");
    };
    assert!(
        m.on_tick(hours(24 * 13 + 1)).is_empty(),
        "no request while the report travels"
    );
    let message_id = report.header.clone().unwrap().message_id;
    let lost = Err(Failure::transient("central down"));
    m.on_sent(
        Sent::SupervisoryReport {
            message_id,
            outcome: lost,
        },
        hours(24 * 13 + 1),
    );
    let again = m.on_tick(hours(24 * 13 + 2));
    assert!(again.iter().any(is_report) && !again.iter().any(is_demobilisation));
}

#[test]
fn proposals_are_kept_per_donor_for_the_open_case() {
    let mut m = started();
    let accepted = open_case(&mut m);
    let proposal = PlanProposal {
        header: header("p1", "jiangsu"),
        case_id: CASE.into(),
        planned_departure_ms: hours(accepted + 30).0,
        ..Default::default()
    };
    let sent = Sent::PlanProposal {
        donor_id: "jiangsu".into(),
        outcome: Ok(proposal.clone()),
    };
    m.on_sent(sent, hours(accepted + 25));
    assert_eq!(m.proposal_from("jiangsu"), Some(&proposal));
    close(&mut m, hours(accepted + 40));
    assert_eq!(m.proposal_from("jiangsu"), None);
}

/// The city's tally: every whole day before the report, from its curve's
/// first day, the course its own books give (its curve, its care, what it
/// received and when), as numbered items; a team that arrived shows in the
/// days after it.
#[test]
fn a_report_carries_the_daily_tally_of_every_whole_day_from_the_citys_books() {
    use counterpart_domain::outcomes::{self, Aid, Arrival, CALIBRATED};
    use counterpart_domain::quantities::Quantities;
    use counterpart_domain::tally;
    use pairing_proto::resource::ResourceType;
    use pairing_proto::v1::DailyItem;

    let mut m = started();
    let accepted = open_case(&mut m);
    let team = vec![line("personnel/doctor", 40), line("personnel/nurse", 80)];
    m.on_shipment(&shipment("s1", "jiangsu", 1, team), hours(accepted + 1))
        .unwrap();
    let sent = run_answered(&mut m, accepted + 1, accepted + 24 * 4 + 1);
    let (at, report) = sent
        .iter()
        .rev()
        .find_map(|(t, o)| match o {
            Outbound::SupervisoryReport(r) => Some((*t, r)),
            _ => None,
        })
        .unwrap();
    let read = tally::from_wire(&report.daily_tallies).unwrap();
    let scenario = outbreak();
    let city = scenario.city(CITY).unwrap();
    let days: Vec<i64> = read.iter().map(|t| t.day).collect();
    let whole = at.days().floor() as i64;
    assert_eq!(
        days,
        (outcomes::first_day(&scenario, city)..whole).collect::<Vec<_>>()
    );
    let arrival = Arrival {
        at: hours(accepted + 1),
        received: Quantities::from([(ResourceType::Doctor, 40), (ResourceType::Nurse, 80)]),
    };
    let aid = Aid {
        arrivals: vec![arrival],
        teams_left_at: None,
    };
    let course = outcomes::course(&scenario, city, &aid, &CALIBRATED, 0);
    assert_eq!(
        tally::disagreements(&read.iter().collect::<Vec<_>>(), &course.days),
        Vec::<String>::new()
    );
    let places = |day: i64| {
        let t = read.iter().find(|t| t.day == day).unwrap();
        t.get(DailyItem::TreatmentPlaces).unwrap()
    };
    let arrived_on = hours(accepted + 1).days().floor() as i64;
    assert!(
        places(arrived_on + 1) > places(arrived_on - 1),
        "the team adds treatment places"
    );
}
