//! What central sends, to whom, and how a message that could not be
//! delivered is tried again later.

use counterpart_domain::clock::ScenarioTime;
use counterpart_protocol::catalog::{self, MessageKind};
use counterpart_protocol::RESEND;
use pairing_proto::v1::{
    Adjustment, Assignment, CaseClosure, CaseDecision, ClockStart, DemobilisationOrder, Evaluation,
};

/// A message for a donor province.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToProvince {
    ClockStart(ClockStart),
    Assignment(Assignment),
    Evaluation(Evaluation),
    Adjustment(Adjustment),
    Demobilisation(DemobilisationOrder),
}

/// A message for a recipient city.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToCity {
    ClockStart(ClockStart),
    Decision(CaseDecision),
    Closure(CaseClosure),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Message {
    Province(ToProvince),
    City(ToCity),
}

/// One message to send, with the node id and endpoint of its recipient.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outbound {
    pub to: String,
    pub endpoint: String,
    pub message: Message,
    /// Earlier whole-send failures of this message (each send already
    /// retries; this counts rounds of that).
    pub rounds: u32,
}

impl Outbound {
    /// The case the message is about; `None` for the clock start.
    pub fn case_id(&self) -> Option<&str> {
        match &self.message {
            Message::Province(ToProvince::ClockStart(_)) | Message::City(ToCity::ClockStart(_)) => {
                None
            }
            Message::Province(ToProvince::Assignment(m)) => Some(&m.case_id),
            Message::Province(ToProvince::Evaluation(m)) => Some(&m.case_id),
            Message::Province(ToProvince::Adjustment(m)) => Some(&m.case_id),
            Message::Province(ToProvince::Demobilisation(m)) => Some(&m.case_id),
            Message::City(ToCity::Decision(m)) => Some(&m.case_id),
            Message::City(ToCity::Closure(m)) => Some(&m.case_id),
        }
    }

    /// The id the message carries (kept across every round of sending),
    /// under which central journals it while it is owed.
    pub fn message_id(&self) -> &str {
        let header = match &self.message {
            Message::Province(ToProvince::ClockStart(m)) | Message::City(ToCity::ClockStart(m)) => {
                &m.header
            }
            Message::Province(ToProvince::Assignment(m)) => &m.header,
            Message::Province(ToProvince::Evaluation(m)) => &m.header,
            Message::Province(ToProvince::Adjustment(m)) => &m.header,
            Message::Province(ToProvince::Demobilisation(m)) => &m.header,
            Message::City(ToCity::Decision(m)) => &m.header,
            Message::City(ToCity::Closure(m)) => &m.header,
        };
        header.as_ref().map_or("", |h| h.message_id.as_str())
    }

    /// Its kind in the catalog: the RPC, the span central opens to send
    /// it and its stage.
    pub fn kind(&self) -> &'static MessageKind {
        match &self.message {
            Message::Province(m) => match m {
                ToProvince::ClockStart(_) => &catalog::PROVINCE_CLOCK_START,
                ToProvince::Assignment(_) => &catalog::ASSIGNMENT,
                ToProvince::Evaluation(_) => &catalog::EVALUATION,
                ToProvince::Adjustment(_) => &catalog::ADJUSTMENT,
                ToProvince::Demobilisation(_) => &catalog::DEMOBILISATION_ORDER,
            },
            Message::City(m) => match m {
                ToCity::ClockStart(_) => &catalog::CITY_CLOCK_START,
                ToCity::Decision(_) => &catalog::CASE_DECISION,
                ToCity::Closure(_) => &catalog::CASE_CLOSURE,
            },
        }
    }
}

/// Messages whose send failed, waiting for their next round. Each round is
/// itself a bounded retry of about a minute (the courier's); when the next
/// one starts, and how many there are, is the protocol's one resend policy
/// (`counterpart_protocol::RESEND`). Central sends a refused order again too:
/// a node that refused it because its clock had not started yet takes it
/// in a later round.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ResendQueue {
    waiting: Vec<(ScenarioTime, Outbound)>,
}

impl ResendQueue {
    /// Schedules another round, unless the message has had its rounds;
    /// returns false when it is given up.
    pub fn schedule(&mut self, mut outbound: Outbound, now: ScenarioTime) -> bool {
        outbound.rounds += 1;
        let next = RESEND.next_round_ms(outbound.rounds, now.0, outbound.message_id());
        let Some(at) = next else {
            return false;
        };
        self.waiting.push((ScenarioTime(at), outbound));
        true
    }

    /// Every message waiting, with the time of its next round.
    pub fn waiting(&self) -> impl Iterator<Item = (ScenarioTime, &Outbound)> {
        self.waiting.iter().map(|(at, o)| (*at, o))
    }

    /// Puts back a message restored from the journal, due at `at`.
    pub fn restore(&mut self, at: ScenarioTime, outbound: Outbound) {
        self.waiting.push((at, outbound));
    }

    /// The messages due at `now`, removed from the queue.
    pub fn take_due(&mut self, now: ScenarioTime) -> Vec<Outbound> {
        let (due, later): (Vec<_>, Vec<_>) = self.waiting.drain(..).partition(|(at, _)| *at <= now);
        self.waiting = later;
        due.into_iter().map(|(_, o)| o).collect()
    }
}
