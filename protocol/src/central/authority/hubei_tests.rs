//! hubei-2020 in process: the scenario file, every node's machine (central,
//! the 19 provinces, the 16 cities), and the lockstep clock's order, with
//! no network. Each step of one scenario hour at time T: central ticks and
//! its messages are handled at T; then each province and city in turn
//! ticks and its messages are handled at T (a reply, such as a
//! `PlanProposal` or a request's ack, comes back at once). What a node
//! sends in reaction goes out on its next tick: at T if its turn comes
//! later in the order, else at T + 1 h.
//!
//! The story checked is Huangshi's as history tells it: paired with Jiangsu
//! on 10 Feb, Jiangsu's first shipment carrying its team of 310 (103
//! doctors, 200 nurses, 4 public-health staff, 3 officials), received on
//! 11 Feb. It must follow from the model whatever the order of the nodes
//! and with reactions an hour late ([`Lateness`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use counterpart_domain::clock::{ScenarioTime, DAY_MS};
use counterpart_domain::quantities::Quantities;
use counterpart_domain::scenario::{self, Scenario};
use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{RegisterNode, Role};

use super::outbound::{Message, Outbound, ToCity, ToProvince};
use super::{Authority, Now};
use crate::central::report;
use crate::donor::{self, Donor};
use crate::header::HeaderFactory;
use crate::recipient::{self, Failure, Recipient, Sent};
use crate::resend::RoundOutcome;
use crate::Refusal;

const BOOT: i64 = 1_700_000_000_000;
const HOUR_MS: i64 = DAY_MS / 24;
/// Jiangsu's team (Chinanews 11 Feb, Xinhua 4 Mar 2020).
const TEAM: [(ResourceType, i64); 4] = [
    (ResourceType::Doctor, 103),
    (ResourceType::Nurse, 200),
    (ResourceType::PublicHealth, 4),
    (ResourceType::Official, 3),
];

fn hubei() -> Arc<Scenario> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/hubei-2020.toml"
    );
    Arc::new(scenario::load(std::path::Path::new(path)).expect("hubei-2020 loads"))
}

fn hour(h: i64) -> ScenarioTime {
    ScenarioTime(h * HOUR_MS)
}

/// The turn order of the provinces and cities within a step.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// By node id, provinces and cities together (huangshi before jiangsu).
    ById,
    ProvincesFirst,
    CitiesFirst,
}

/// Which nodes react an hour late: a node that was handed a message in a
/// step before its turn skips that step's tick, so whatever it sends in
/// reaction (and anything else due) goes out at T + 1 h.
#[derive(Debug, Clone)]
enum Lateness {
    None,
    Nodes(&'static [&'static str]),
    Everyone,
}

struct World {
    central: Authority,
    donors: BTreeMap<String, Donor>,
    cities: BTreeMap<String, Recipient>,
    order: Vec<String>,
    lateness: Lateness,
    /// Nodes handed a message in the current step.
    heard: BTreeSet<String>,
    /// Every refusal, with the step it came in, for failure messages.
    refusals: Vec<String>,
}

impl World {
    fn new(order: Order, lateness: Lateness) -> World {
        let s = hubei();
        let mut central = Authority::new(s.clone(), 60_000, None, BOOT);
        let mut donors = BTreeMap::new();
        let mut cities = BTreeMap::new();
        let mut register = |id: &str, role: Role| {
            let msg = RegisterNode {
                header: Some(HeaderFactory::new(id, BOOT).header(ScenarioTime(0))),
                role: role as i32,
                endpoint: format!("http://{id}.test:1"),
                protocol_version: pairing_proto::version::PROTOCOL_VERSION,
                features: (pairing_proto::version::FEATURES.iter())
                    .map(|f| f.to_string())
                    .collect(),
            };
            central
                .register(
                    &msg,
                    Now {
                        scenario: ScenarioTime(0),
                        unix_ms: BOOT,
                    },
                )
                .unwrap();
        };
        for p in &s.provinces {
            register(&p.id, Role::Province);
            let headers = Arc::new(HeaderFactory::new(&p.id, BOOT + 1));
            donors.insert(p.id.clone(), Donor::new(s.clone(), &p.id, headers).unwrap());
        }
        for c in &s.cities {
            register(&c.id, Role::City);
            let headers = Arc::new(HeaderFactory::new(&c.id, BOOT + 1));
            cities.insert(
                c.id.clone(),
                Recipient::new(s.clone(), &c.id, headers).unwrap(),
            );
        }
        assert!(central.clock().is_some(), "every node registered");
        let provinces: Vec<String> = donors.keys().cloned().collect();
        let towns: Vec<String> = cities.keys().cloned().collect();
        let order = match order {
            Order::ById => {
                let mut all: Vec<String> = provinces.into_iter().chain(towns).collect();
                all.sort();
                all
            }
            Order::ProvincesFirst => provinces.into_iter().chain(towns).collect(),
            Order::CitiesFirst => towns.into_iter().chain(provinces).collect(),
        };
        World {
            central,
            donors,
            cities,
            order,
            lateness,
            heard: BTreeSet::new(),
            refusals: Vec::new(),
        }
    }

    fn is_late(&self, id: &str) -> bool {
        match &self.lateness {
            Lateness::None => false,
            Lateness::Nodes(ids) => ids.contains(&id),
            Lateness::Everyone => true,
        }
    }

    fn refused(&mut self, now: ScenarioTime, what: &str, refusal: &Refusal) {
        let at = now.format(self.central.scenario().start_date);
        self.refusals.push(format!("{at} {what}: {refusal}"));
    }

    /// One lockstep step at `now`.
    fn step(&mut self, now: ScenarioTime) {
        self.heard.clear();
        let central_now = Now {
            scenario: now,
            unix_ms: BOOT + now.0 / 1_000,
        };
        for outbound in self.central.on_tick(central_now) {
            let outcome = self.deliver_from_central(&outbound, now);
            self.central.on_sent(outbound, outcome, now);
        }
        for id in self.order.clone() {
            if self.is_late(&id) && self.heard.contains(&id) {
                continue;
            }
            if self.donors.contains_key(&id) {
                self.donor_turn(&id, now);
            } else {
                self.city_turn(&id, now);
            }
        }
    }

    fn deliver_from_central(&mut self, outbound: &Outbound, now: ScenarioTime) -> RoundOutcome {
        self.heard.insert(outbound.to.clone());
        let result = match &outbound.message {
            Message::Province(m) => {
                let d = self.donors.get_mut(&outbound.to).expect("a province");
                match m {
                    ToProvince::ClockStart(m) => d.on_clock_start(m).map(drop),
                    ToProvince::Assignment(m) => d.on_assignment(m, now).map(drop),
                    ToProvince::Evaluation(m) => d.on_evaluation(m, now).map(drop),
                    ToProvince::Adjustment(m) => d.on_adjustment(m, now).map(drop),
                    ToProvince::Demobilisation(m) => d.on_demobilisation(m, now).map(drop),
                    ToProvince::Mediation(m) => d.on_mediation(m, now).map(drop),
                }
            }
            Message::City(m) => {
                let c = self.cities.get_mut(&outbound.to).expect("a city");
                match m {
                    ToCity::ClockStart(m) => c.on_clock_start(m).map(drop),
                    ToCity::Decision(m) => c.on_decision(m, now).map(drop),
                    ToCity::Closure(m) => c.on_closure(m).map(drop),
                    ToCity::Mediation(m) => c.on_mediation(m).map(drop),
                }
            }
        };
        match result {
            Ok(()) => RoundOutcome::Accepted,
            Err(refusal) => {
                let what = format!("{} to {}", outbound.kind().message, outbound.to);
                self.refused(now, &what, &refusal);
                RoundOutcome::Refused
            }
        }
    }

    fn donor_turn(&mut self, id: &str, now: ScenarioTime) {
        let central_now = Now {
            scenario: now,
            unix_ms: BOOT + now.0 / 1_000,
        };
        let out = self.donors.get_mut(id).expect("a province").on_tick(now);
        for o in out {
            let result = match &o {
                donor::outbound::Outbound::Capacity { report, .. } => {
                    self.central.report_capacity(report, central_now).map(drop)
                }
                donor::outbound::Outbound::Acknowledgement(ack) => self
                    .central
                    .acknowledge_assignment(ack, central_now)
                    .map(drop),
                donor::outbound::Outbound::Report { report, .. } => {
                    self.central.submit_report(report, central_now).map(drop)
                }
                donor::outbound::Outbound::Shipment { shipment, .. } => {
                    let city = shipment.case_id.split('-').nth(1).expect("case-<city>-<n>");
                    self.heard.insert(city.to_string());
                    let c = self.cities.get_mut(city).expect("a city");
                    c.on_shipment(shipment, now).map(drop)
                }
            };
            let outcome = match result {
                Ok(()) => RoundOutcome::Accepted,
                Err(refusal) => {
                    self.refused(now, &format!("{id}: {}", o.describe()), &refusal);
                    RoundOutcome::Refused
                }
            };
            let d = self.donors.get_mut(id).expect("a province");
            d.on_sent(&o.key(), outcome, now);
        }
    }

    fn city_turn(&mut self, id: &str, now: ScenarioTime) {
        let central_now = Now {
            scenario: now,
            unix_ms: BOOT + now.0 / 1_000,
        };
        let out = self.cities.get_mut(id).expect("a city").on_tick(now);
        for o in out {
            let failed = |refusal: &Refusal| Failure::refused(refusal.to_string());
            let sent = match o {
                recipient::Outbound::AssistanceRequest(m) => Sent::AssistanceRequest {
                    message_id: m.header.clone().unwrap().message_id,
                    outcome: self
                        .central
                        .request_assistance(&m, central_now)
                        .map_err(|r| failed(&r)),
                },
                recipient::Outbound::SupervisoryReport(m) => Sent::SupervisoryReport {
                    message_id: m.header.clone().unwrap().message_id,
                    outcome: (self.central.submit_report(&m, central_now).map(drop))
                        .map_err(|r| failed(&r)),
                },
                recipient::Outbound::DemobilisationRequest(m) => Sent::DemobilisationRequest {
                    message_id: m.header.clone().unwrap().message_id,
                    outcome: (self.central.request_demobilisation(&m, central_now))
                        .map(drop)
                        .map_err(|r| failed(&r)),
                },
                recipient::Outbound::Dispute(m) => Sent::Dispute {
                    donor_id: m.counterpart_id.clone(),
                    outcome: (self.central.raise_dispute(&m, central_now).map(drop))
                        .map_err(|r| failed(&r)),
                },
                recipient::Outbound::Receipt {
                    donor_id, receipt, ..
                } => {
                    self.heard.insert(donor_id.clone());
                    let d = self.donors.get_mut(&donor_id).expect("a province");
                    Sent::Receipt {
                        shipment_id: receipt.shipment_id.clone(),
                        outcome: d
                            .on_receipt(&receipt, now)
                            .map(drop)
                            .map_err(|r| failed(&r)),
                    }
                }
                recipient::Outbound::NeedsUpdate {
                    donor_id, update, ..
                } => {
                    self.heard.insert(donor_id.clone());
                    let d = self.donors.get_mut(&donor_id).expect("a province");
                    Sent::PlanProposal {
                        outcome: d.on_needs_update(&update, now).map_err(|r| failed(&r)),
                        donor_id,
                    }
                }
            };
            if let Some(reason) = sent_refusal(&sent) {
                let at = now.format(self.central.scenario().start_date);
                self.refusals.push(format!("{at} {id}: {reason}"));
            }
            self.cities.get_mut(id).expect("a city").on_sent(sent, now);
        }
    }
}

fn sent_refusal(sent: &Sent) -> Option<&str> {
    fn reason(f: &Failure) -> &str {
        f.reason.as_str()
    }
    match sent {
        Sent::AssistanceRequest { outcome, .. } => outcome.as_ref().err().map(reason),
        Sent::SupervisoryReport { outcome, .. }
        | Sent::DemobilisationRequest { outcome, .. }
        | Sent::Receipt { outcome, .. }
        | Sent::Dispute { outcome, .. } => outcome.as_ref().err().map(reason),
        Sent::PlanProposal { outcome, .. } => outcome.as_ref().err().map(reason),
    }
}

/// What a run made of Huangshi's case and Jiangsu's first shipment.
#[derive(Debug)]
struct Story {
    requested_at: String,
    paired_at: String,
    departed_at: String,
    received_at: String,
    team: Quantities,
    received_team: Quantities,
    report_decided_at: Option<String>,
    report_first_arrival_at: Option<String>,
    report_shipped: BTreeMap<String, i64>,
    /// The last day Huangshi's own tally covers, in its reports.
    huangshi_tallied_through: Option<i64>,
    /// Where any city's tally differs from central's course.
    tally_disagreements: Vec<String>,
}

fn personnel(q: &Quantities) -> Quantities {
    q.iter()
        .filter(|(t, _)| t.travels_with_team())
        .map(|(t, n)| (*t, *n))
        .collect()
}

/// Runs hubei-2020 from 7 Feb 00:00 to 12 Feb 12:00 in hourly steps.
fn run(order: Order, lateness: Lateness) -> (World, Story) {
    let mut w = World::new(order, lateness);
    let end = 5 * 24 + 12;
    for h in 0..=end {
        w.step(hour(h));
    }
    let start = w.central.scenario().start_date;
    let fmt = |t: ScenarioTime| t.format(start);
    let case = (w.central.cases())
        .find(|c| c.city_id == "huangshi")
        .expect("huangshi asked for help");
    let jiangsu = &w.donors["jiangsu"];
    let assignment = jiangsu
        .assignment(&format!("asg-{}-jiangsu", case.case_id))
        .expect("jiangsu was assigned huangshi's case");
    let first = assignment.shipments.first().expect("a first shipment");
    let receipt = w.cities["huangshi"]
        .receipt_of(&first.shipment_id)
        .expect("huangshi receipted the first shipment");
    let received: Quantities = (receipt.received.iter())
        .map(|r| (r.resource_type.parse::<ResourceType>().unwrap(), r.quantity))
        .collect();
    let run_report = report::build(&w.central, hour(end), BTreeMap::new());
    let row = (run_report.cases.iter())
        .find(|c| c.city == "huangshi")
        .expect("huangshi's case in the report");
    let huangshi_tallied_through = (run_report.outcomes.iter())
        .find(|o| o.city == "huangshi")
        .and_then(|o| o.reported.as_ref())
        .map(|r| r.last_day);
    let tally_disagreements = (run_report.outcomes.iter())
        .filter_map(|o| Some((&o.city, o.reported.as_ref()?)))
        .flat_map(|(city, r)| r.disagreements.iter().map(move |d| format!("{city}: {d}")))
        .collect();
    let team_names: BTreeSet<&str> = TEAM.iter().map(|(t, _)| t.as_str()).collect();
    let story = Story {
        requested_at: fmt(case.requested_at),
        paired_at: fmt(case.decided_at.expect("paired")),
        departed_at: fmt(first.departed_at),
        received_at: fmt(ScenarioTime(receipt.received_at_ms)),
        team: personnel(
            &(first.lines.iter())
                .map(|l| (l.resource_type, l.quantity))
                .collect(),
        ),
        received_team: personnel(&received),
        report_decided_at: row.decided_at.clone(),
        report_first_arrival_at: row.first_arrival_at.clone(),
        report_shipped: (row.shipped.iter())
            .filter(|(t, _)| team_names.contains(t.as_str()))
            .map(|(t, q)| (t.clone(), *q))
            .collect(),
        huangshi_tallied_through,
        tally_disagreements,
    };
    (w, story)
}

fn on(day: &str, at: &str) -> bool {
    at.starts_with(day)
}

/// Asserts the history: paired on 10 Feb, the team of 310 in the first
/// shipment, received on 11 Feb; in the machines and in the run report,
/// where the cities' own tallies agree with central's course.
fn assert_history(w: &World, story: &Story) {
    let team = Quantities::from(TEAM);
    let why = format!("{story:#?}\nrefusals: {:#?}", w.refusals);
    assert!(on("2020-02-10", &story.paired_at), "paired: {why}");
    assert_eq!(story.team, team, "the first shipment's team: {why}");
    assert_eq!(story.received_team, team, "the team as received: {why}");
    assert!(on("2020-02-11", &story.departed_at), "departed: {why}");
    assert!(on("2020-02-11", &story.received_at), "received: {why}");
    let decided = story.report_decided_at.as_deref().unwrap_or("none");
    assert!(on("2020-02-10", decided), "report's decided_at: {why}");
    let arrival = story.report_first_arrival_at.as_deref().unwrap_or("none");
    assert!(
        on("2020-02-11", arrival),
        "report's first_arrival_at: {why}"
    );
    let shipped: BTreeMap<String, i64> = (TEAM.iter())
        .map(|(t, q)| (t.as_str().to_string(), *q))
        .collect();
    assert_eq!(story.report_shipped, shipped, "report's shipped: {why}");
    // Huangshi's own tally reaches the last whole day before its last
    // report (day 4 ends on 11 Feb), and every city's agrees with central.
    assert!(
        story.huangshi_tallied_through >= Some(3),
        "huangshi's tally: {why}"
    );
    assert!(story.tally_disagreements.is_empty(), "tallies: {why}");
}

/// Every reaction on time, nodes in id order: the times to the hour.
#[test]
fn huangshi_paired_on_10_feb_and_jiangsus_team_of_310_arrives_on_11_feb() {
    let (w, story) = run(Order::ById, Lateness::None);
    assert_history(&w, &story);
    assert!(w.refusals.is_empty(), "refusals: {:#?}", w.refusals);
    let why = format!("{story:#?}");
    assert_eq!(story.requested_at, "2020-02-07 00:00", "{why}");
    assert_eq!(story.paired_at, "2020-02-10 00:00", "{why}");
    assert_eq!(story.departed_at, "2020-02-11 12:00", "{why}");
    assert_eq!(story.received_at, "2020-02-11 20:00", "{why}");
    assert_eq!(
        story.report_first_arrival_at.as_deref(),
        Some("2020-02-11 20:00")
    );
}

/// The story does not hang on which node acts first in a step.
#[test]
fn the_history_holds_in_every_turn_order() {
    for order in [Order::ById, Order::ProvincesFirst, Order::CitiesFirst] {
        let (w, story) = run(order, Lateness::None);
        eprintln!("{order:?}: {story:?}");
        assert_history(&w, &story);
    }
}

/// Nor on a reaction an hour late: Huangshi's, Jiangsu's, or every node's
/// (the city's first request, the pairing, Jiangsu's acknowledgement and
/// its departure all an hour or more later).
#[test]
fn the_history_holds_with_reactions_an_hour_late() {
    let cases = [
        Lateness::Nodes(&["huangshi"]),
        Lateness::Nodes(&["jiangsu"]),
        Lateness::Nodes(&["huangshi", "jiangsu"]),
        Lateness::Everyone,
    ];
    for order in [Order::ById, Order::ProvincesFirst, Order::CitiesFirst] {
        for lateness in cases.clone() {
            let (w, story) = run(order, lateness.clone());
            eprintln!("{order:?} {lateness:?}: {story:?}");
            assert_history(&w, &story);
        }
    }
}
