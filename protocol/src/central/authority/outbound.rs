//! What central sends, to whom, and the key it owes each message under
//! until the receiver takes it. When a message that failed is sent again
//! is the protocol's one policy (`crate::outbox`, `crate::resend`).

use crate::catalog::{self, MessageKind};
use pairing_proto::v1::{
    Adjustment, Assignment, CaseClosure, CaseDecision, ClockStart, DemobilisationOrder, Evaluation,
    Mediation,
};

/// A message for a donor province.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToProvince {
    ClockStart(ClockStart),
    Assignment(Assignment),
    Evaluation(Evaluation),
    Adjustment(Adjustment),
    Demobilisation(DemobilisationOrder),
    Mediation(Mediation),
}

/// A message for a recipient city.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToCity {
    ClockStart(ClockStart),
    Decision(CaseDecision),
    Closure(CaseClosure),
    Mediation(Mediation),
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
    /// Failed rounds of this message before this one (each round is itself
    /// a send the courier retries). Set when it is handed out and kept in
    /// its journal record; while owed, the outbox's `Delivery` counts them.
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
            Message::Province(ToProvince::Mediation(m)) | Message::City(ToCity::Mediation(m)) => {
                Some(&m.case_id)
            }
        }
    }

    /// The id the message carries (kept across every round of sending),
    /// under which central journals it while it is owed.
    pub fn message_id(&self) -> &str {
        let header =
            match &self.message {
                Message::Province(ToProvince::ClockStart(m))
                | Message::City(ToCity::ClockStart(m)) => &m.header,
                Message::Province(ToProvince::Assignment(m)) => &m.header,
                Message::Province(ToProvince::Evaluation(m)) => &m.header,
                Message::Province(ToProvince::Adjustment(m)) => &m.header,
                Message::Province(ToProvince::Demobilisation(m)) => &m.header,
                Message::City(ToCity::Decision(m)) => &m.header,
                Message::City(ToCity::Closure(m)) => &m.header,
                Message::Province(ToProvince::Mediation(m))
                | Message::City(ToCity::Mediation(m)) => &m.header,
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
                ToProvince::Mediation(_) => &catalog::PROVINCE_MEDIATION,
            },
            Message::City(m) => match m {
                ToCity::ClockStart(_) => &catalog::CITY_CLOCK_START,
                ToCity::Decision(_) => &catalog::CASE_DECISION,
                ToCity::Closure(_) => &catalog::CASE_CLOSURE,
                ToCity::Mediation(_) => &catalog::CITY_MEDIATION,
            },
        }
    }
}

/// The key central owes a message under: its id, ordered as central made
/// the messages (by the life that stamped it, then by its sequence number),
/// so the owed messages of one tick go out in the order they were decided,
/// as the queue this replaced sent them. An id of another form (never made
/// by central's header factory) sorts after those, by its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedId(String);

impl OwedId {
    pub fn new(message_id: impl Into<String>) -> Self {
        OwedId(message_id.into())
    }

    /// The id `outbound` carries.
    pub fn of(outbound: &Outbound) -> Self {
        OwedId::new(outbound.message_id())
    }

    /// `<node>-<boot>-<seq>`, as `HeaderFactory` makes them: (boot, seq).
    fn life_and_seq(&self) -> Option<(i64, u64)> {
        let mut parts = self.0.rsplitn(3, '-');
        let seq = parts.next()?.parse().ok()?;
        let boot = parts.next()?.parse().ok()?;
        parts.next()?;
        Some((boot, seq))
    }

    /// What the order compares: parsed ids first (`None` sorts before
    /// `Some`, hence the flag), then the text, which also makes the order
    /// agree with equality.
    fn order(&self) -> (bool, Option<(i64, u64)>, &str) {
        let parsed = self.life_and_seq();
        (parsed.is_none(), parsed, &self.0)
    }
}

impl Ord for OwedId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for OwedId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl AsRef<str> for OwedId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::OwedId;

    #[test]
    fn owed_ids_sort_by_life_then_sequence_then_text() {
        let mut ids: Vec<OwedId> = ["central-20-1", "other", "central-7-10", "central-7-9"]
            .into_iter()
            .map(OwedId::new)
            .collect();
        ids.sort();
        let sorted: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        assert_eq!(
            sorted,
            ["central-7-9", "central-7-10", "central-20-1", "other"]
        );
    }
}
