//! The city's side of mediation (docs/PROTOCOL.md, "Mediation"): when its
//! receipts show a donor's shipments falling short of what their manifests
//! declared, it raises one shortfall dispute about that donor with
//! central, and it takes in central's ruling.
//!
//! The rule of what counts is `crate::mediation`'s; this module only
//! gathers the city's own figures and keeps the dispute until it is
//! delivered and ruled on. A dispute lives in its case, so a saved city
//! keeps it across a restart.

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::quantities::Quantities;
use pairing_proto::v1::{Ack, Dispute, DisputeKind, Mediation, Ruling};

use super::outgoing::Outgoing;
use super::{round_of, Outbound, Outcome, Recipient};
use crate::inbox::Inbox;
use crate::mediation;
use crate::refusal::Refusal;

/// A dispute the city raised about one donor of its case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RaisedDispute {
    dispute: Outgoing<Dispute>,
    /// Central's ruling, once it came (`Ruling` as on the wire).
    ruling: Option<i32>,
}

impl RaisedDispute {
    pub fn dispute(&self) -> &Dispute {
        self.dispute.message()
    }

    pub fn ruling(&self) -> Option<Ruling> {
        self.ruling.and_then(|r| Ruling::try_from(r).ok())
    }
}

impl Recipient {
    /// Disputes to send at `now`: with `report_time`, a new one about each
    /// donor of case `case_id` whose shortfall now counts (raised right
    /// after the report that carries the same receipts, so central's ledger
    /// hears of them first); and the resends of those not yet delivered.
    pub(super) fn due_disputes(
        &mut self,
        case_id: &str,
        now: ScenarioTime,
        report_time: bool,
    ) -> Vec<Outbound> {
        let donors: Vec<String> =
            self.case
                .as_ref()
                .filter(|_| report_time)
                .map_or_else(Vec::new, |c| {
                    c.donors
                        .keys()
                        .filter(|d| !c.disputes.contains_key(*d))
                        .cloned()
                        .collect()
                });
        for donor_id in donors {
            let (stated, observed) = self.figures_of(case_id, &donor_id);
            let evidence = mediation::shortfall(&stated, &observed);
            if evidence.is_empty() {
                continue;
            }
            let dispute = Dispute {
                header: Some(self.headers.header(now)),
                dispute_id: format!("dsp-{case_id}-{donor_id}-shortfall"),
                case_id: case_id.to_string(),
                kind: DisputeKind::Shortfall as i32,
                counterpart_id: donor_id.clone(),
                assignment_id: String::new(),
                shipment_id: String::new(),
                evidence,
                statement: "received usable less than the shipments' manifests declared"
                    .to_string(),
            };
            let raised = RaisedDispute {
                dispute: Outgoing::new(dispute),
                ruling: None,
            };
            self.case_mut().disputes.insert(donor_id, raised);
        }
        let case = self.case.as_mut().expect("called with an open case");
        (case.disputes.values_mut())
            .filter_map(|d| d.dispute.take_due(now))
            .map(Outbound::Dispute)
            .collect()
    }

    /// What `donor_id`'s shipments of the case declared (received plus
    /// discrepancies, per its receipts) and what arrived usable.
    fn figures_of(&self, case_id: &str, donor_id: &str) -> (Quantities, Quantities) {
        let mut stated = Quantities::new();
        let mut observed = Quantities::new();
        let theirs =
            (self.shipments.values()).filter(|s| s.case_id == case_id && s.donor_id == donor_id);
        for shipment in theirs {
            // A receipt's lines are what arrived usable; its discrepancies
            // what the manifest declared beyond that.
            for (&t, &q) in shipment.received.iter() {
                observed.add(t, q);
                stated.add(t, q);
            }
            for lost in &shipment.receipt.message().discrepancies {
                if let Ok(t) = lost.resource_type.parse() {
                    stated.add(t, lost.quantity);
                }
            }
        }
        (stated, observed)
    }

    /// The outcome of sending the dispute about `donor_id`.
    pub(super) fn on_dispute_sent(
        &mut self,
        donor_id: &str,
        outcome: Outcome<()>,
        now: ScenarioTime,
    ) {
        let raised = (self.case.as_mut()).and_then(|c| c.disputes.get_mut(donor_id));
        if let Some(raised) = raised {
            raised.dispute.settle(round_of(&outcome), now);
        }
    }

    /// Central's ruling on a dispute of this city's (or about it).
    pub fn on_mediation(&mut self, m: &Mediation) -> Result<Ack, Refusal> {
        let header = super::inbound::from_central(m.header.as_ref())?;
        let (_kind, ruling) = mediation::check_ruling(m)?;
        self.clock_started()?;
        if self.applied.answered(header).is_some() {
            return Ok(Ack { duplicate: true });
        }
        let case = (self.case.as_mut())
            .filter(|c| c.id.as_deref() == Some(m.case_id.as_str()))
            .ok_or_else(|| {
                Refusal::not_found(format!(
                    "case_id: {} is not this city's current case",
                    m.case_id
                ))
            })?;
        let ours = (case.disputes.values_mut()).find(|d| d.dispute().dispute_id == m.dispute_id);
        if let Some(raised) = ours {
            raised.ruling = Some(ruling as i32);
        }
        let ack = Ack { duplicate: false };
        self.applied.remember(header, ack);
        Ok(ack)
    }
}
