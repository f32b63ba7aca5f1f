//! The message catalog: every message of the protocol, declared once.
//!
//! A [`MessageKind`] says, for one RPC of the `pairing.v1` contract, who
//! may send it, who serves it, the stage of a case it belongs to, the span
//! its sender opens and the span its receiver opens, and how a resend is
//! recognised. Everything that used to keep its own copy of these facts
//! derives from here:
//! - the access rules of central, the provinces and the cities
//!   (`central::access`, `node_kit::access`);
//! - the span names and stages of every node's adapters;
//! - the trace checker's call-edge conventions (`pairctl traces`);
//! - the counters' message names.
//!
//! The operator's queries, which change nothing and are no step of a case,
//! are listed apart in [`QUERIES`]. `counterpart-compat`'s tests hold the
//! two lists against the contract's services, RPC by RPC.

use crate::roles::{Role, Service, Stage};

/// Who may send a message, checked against the caller's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Central's orders and notices: only central sends them.
    FromCentral,
    /// A node in one of the senders' roles, speaking for itself: the
    /// message's `header.sender_id` must be the caller's own id.
    AsItself,
}

/// How a receiver recognises a message it has already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Applied once per (`header.sender_id`, `header.message_id`); a resend
    /// gets the first answer again, marked `duplicate`.
    SenderAndMessageId,
}

/// One role that may send a kind, and the span its sender opens for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    pub role: Role,
    /// The client span's name, e.g. `city.request`.
    pub span: &'static str,
}

/// One message of the protocol: an RPC and the request it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKind {
    /// The request message's name in the contract (`AssistanceRequest`);
    /// nodes count what they receive under it.
    pub message: &'static str,
    /// The service that receives it.
    pub service: Service,
    /// The RPC's name in that service (`RequestAssistance`).
    pub rpc: &'static str,
    /// Who may send it, with the span each sender opens.
    pub senders: &'static [Sender],
    pub access: Access,
    /// The stage of the case it belongs to.
    pub stage: Stage,
    /// The stage of a sender's last message of the kind (a final report
    /// belongs to demobilisation), when it differs from `stage`.
    pub final_stage: Option<Stage>,
    /// The span the receiver opens, a child of the sender's.
    pub server_span: &'static str,
    pub idempotency: Idempotency,
    /// The optional feature a receiver must have declared
    /// (`RegisterNode.features`) before it is sent this kind; `None` for
    /// the kinds of protocol version 1, which every node handles. A node
    /// of an older release never hears of a kind it does not know.
    pub feature: Option<&'static str>,
}

impl MessageKind {
    /// The role that receives it.
    pub fn receiver(&self) -> Role {
        self.service.role()
    }

    /// The roles that may send it.
    pub fn sender_roles(&self) -> Vec<Role> {
        self.senders.iter().map(|s| s.role).collect()
    }

    /// The span a sender in `role` opens; `None` if the role may not send it.
    pub fn client_span(&self, role: Role) -> Option<&'static str> {
        self.senders.iter().find(|s| s.role == role).map(|s| s.span)
    }

    /// Whether a receiver that declared `features` handles this kind.
    pub fn handled_by(&self, features: &[String]) -> bool {
        self.feature
            .is_none_or(|wanted| features.iter().any(|f| f == wanted))
    }

    /// The stage of one message of the kind: `final_stage` for a sender's
    /// last one, if the kind has such.
    pub fn stage_of(&self, is_final: bool) -> Stage {
        match self.final_stage {
            Some(stage) if is_final => stage,
            _ => self.stage,
        }
    }
}

/// An operator's query: open to the operator's tools and to central.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub message: &'static str,
    pub service: Service,
    pub rpc: &'static str,
}

impl Query {
    /// Who may ask it.
    pub const ASKED_BY: &'static [Role] = &[Role::Operator, Role::Central];
}

const fn sent_by(role: Role, span: &'static str) -> Sender {
    Sender { role, span }
}

/// Central's span for each order and notice it sends.
mod central_span {
    pub const CLOCK_START: &str = "central.clock_start";
    /// One span name for a step grant to either role.
    pub const GRANT: &str = "central.grant";
    /// One span for a ruling, sent to both parties.
    pub const MEDIATE: &str = "central.mediate";
}

use Access::{AsItself, FromCentral};
use Idempotency::SenderAndMessageId as BY_ID;
use Role::{Central, City, Province};
use Service::{CentralAuthority, DonorProvince, RecipientCity};

// --- Sent to central -----------------------------------------------------

pub const REGISTER: MessageKind = MessageKind {
    message: "RegisterNode",
    service: CentralAuthority,
    rpc: "Register",
    senders: &[
        sent_by(Province, "province.register"),
        sent_by(City, "city.register"),
    ],
    access: AsItself,
    stage: Stage::Launch,
    final_stage: None,
    server_span: "central.register",
    idempotency: BY_ID,
    feature: None,
};

pub const CAPACITY_REPORT: MessageKind = MessageKind {
    message: "CapacityReport",
    service: CentralAuthority,
    rpc: "ReportCapacity",
    senders: &[sent_by(Province, "province.capacity")],
    access: AsItself,
    stage: Stage::Launch,
    final_stage: None,
    server_span: "central.capacity",
    idempotency: BY_ID,
    feature: None,
};

/// The root of a case's trace.
pub const ASSISTANCE_REQUEST: MessageKind = MessageKind {
    message: "AssistanceRequest",
    service: CentralAuthority,
    rpc: "RequestAssistance",
    senders: &[sent_by(City, "city.request")],
    access: AsItself,
    stage: Stage::Decision,
    final_stage: None,
    server_span: "central.assess",
    idempotency: BY_ID,
    feature: None,
};

pub const ACKNOWLEDGEMENT: MessageKind = MessageKind {
    message: "AssignmentAcknowledgement",
    service: CentralAuthority,
    rpc: "AcknowledgeAssignment",
    senders: &[sent_by(Province, "province.acknowledge")],
    access: AsItself,
    stage: Stage::Decision,
    final_stage: None,
    server_span: "central.acknowledgement",
    idempotency: BY_ID,
    feature: None,
};

pub const SUPERVISORY_REPORT: MessageKind = MessageKind {
    message: "SupervisoryReport",
    service: CentralAuthority,
    rpc: "SubmitReport",
    senders: &[
        sent_by(City, "city.report"),
        sent_by(Province, "province.report"),
    ],
    access: AsItself,
    stage: Stage::Implementation,
    final_stage: Some(Stage::Demobilisation),
    server_span: "central.report",
    idempotency: BY_ID,
    feature: None,
};

pub const DEMOBILISATION_REQUEST: MessageKind = MessageKind {
    message: "DemobilisationRequest",
    service: CentralAuthority,
    rpc: "RequestDemobilisation",
    senders: &[sent_by(City, "city.demobilisation_request")],
    access: AsItself,
    stage: Stage::Demobilisation,
    final_stage: None,
    server_span: "central.demobilisation",
    idempotency: BY_ID,
    feature: None,
};

/// A city's or a donor's dispute about its counterpart (docs/PROTOCOL.md,
/// "Mediation"). A node of a release without it is never sent a ruling; a
/// central without it answers UNIMPLEMENTED, and the dispute is given up.
pub const DISPUTE: MessageKind = MessageKind {
    message: "Dispute",
    service: CentralAuthority,
    rpc: "RaiseDispute",
    senders: &[
        sent_by(City, "city.dispute"),
        sent_by(Province, "province.dispute"),
    ],
    access: AsItself,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "central.dispute",
    idempotency: BY_ID,
    feature: Some(MEDIATION_FEATURE),
};

/// The feature a node declares to be sent central's rulings.
pub const MEDIATION_FEATURE: &str = "mediation";

/// The feature a node declares to take the lockstep clock's steps.
pub const LOCKSTEP_FEATURE: &str = "lockstep";

/// A step of the lockstep clock (docs/PROTOCOL.md, "The lockstep clock"),
/// to a province or a city: the same rule for either. A run grants tens of
/// thousands of steps, so no span is opened for a grant (the span names
/// are reserved and would bury the case traces); a step's messages carry
/// their own spans, in their cases' traces.
const GRANT_SENDERS: &[Sender] = &[sent_by(Central, central_span::GRANT)];

const fn step_grant(service: Service, server_span: &'static str) -> MessageKind {
    MessageKind {
        message: "StepGrant",
        service,
        rpc: "Advance",
        senders: GRANT_SENDERS,
        access: FromCentral,
        stage: Stage::Launch,
        final_stage: None,
        server_span,
        idempotency: BY_ID,
        feature: Some(LOCKSTEP_FEATURE),
    }
}

// --- Sent to a donor province ---------------------------------------------

pub const PROVINCE_CLOCK_START: MessageKind = MessageKind {
    message: "ClockStart",
    service: DonorProvince,
    rpc: "StartClock",
    senders: &[sent_by(Central, central_span::CLOCK_START)],
    access: FromCentral,
    stage: Stage::Launch,
    final_stage: None,
    server_span: "province.clock",
    idempotency: BY_ID,
    feature: None,
};

pub const PROVINCE_STEP_GRANT: MessageKind = step_grant(DonorProvince, "province.step");

pub const ASSIGNMENT: MessageKind = MessageKind {
    message: "Assignment",
    service: DonorProvince,
    rpc: "Assign",
    senders: &[sent_by(Central, "central.assign")],
    access: FromCentral,
    stage: Stage::Decision,
    final_stage: None,
    server_span: "province.assignment",
    idempotency: BY_ID,
    feature: None,
};

pub const EVALUATION: MessageKind = MessageKind {
    message: "Evaluation",
    service: DonorProvince,
    rpc: "Evaluate",
    senders: &[sent_by(Central, "central.evaluate")],
    access: FromCentral,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "province.evaluation",
    idempotency: BY_ID,
    feature: None,
};

pub const ADJUSTMENT: MessageKind = MessageKind {
    message: "Adjustment",
    service: DonorProvince,
    rpc: "Adjust",
    senders: &[sent_by(Central, "central.adjust")],
    access: FromCentral,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "province.adjustment",
    idempotency: BY_ID,
    feature: None,
};

pub const DEMOBILISATION_ORDER: MessageKind = MessageKind {
    message: "DemobilisationOrder",
    service: DonorProvince,
    rpc: "Demobilise",
    senders: &[sent_by(Central, "central.demobilise")],
    access: FromCentral,
    stage: Stage::Demobilisation,
    final_stage: None,
    server_span: "province.stand_down",
    idempotency: BY_ID,
    feature: None,
};

pub const RECEIPT: MessageKind = MessageKind {
    message: "Receipt",
    service: DonorProvince,
    rpc: "ConfirmReceipt",
    senders: &[sent_by(City, "city.receipt")],
    access: AsItself,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "province.receipt",
    idempotency: BY_ID,
    feature: None,
};

/// Sent on a stream the city keeps open; each update is one message.
pub const NEEDS_UPDATE: MessageKind = MessageKind {
    message: "NeedsUpdate",
    service: DonorProvince,
    rpc: "NegotiatePlan",
    senders: &[sent_by(City, "city.negotiate")],
    access: AsItself,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "province.plan",
    idempotency: BY_ID,
    feature: None,
};

/// Central's ruling on a dispute, to the donor of the pairing.
pub const PROVINCE_MEDIATION: MessageKind = MessageKind {
    message: "Mediation",
    service: DonorProvince,
    rpc: "Mediate",
    senders: &[sent_by(Central, central_span::MEDIATE)],
    access: FromCentral,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "province.mediation",
    idempotency: BY_ID,
    feature: Some(MEDIATION_FEATURE),
};

// --- Sent to a recipient city ---------------------------------------------

pub const CITY_CLOCK_START: MessageKind = MessageKind {
    message: "ClockStart",
    service: RecipientCity,
    rpc: "StartClock",
    senders: &[sent_by(Central, central_span::CLOCK_START)],
    access: FromCentral,
    stage: Stage::Launch,
    final_stage: None,
    server_span: "city.clock",
    idempotency: BY_ID,
    feature: None,
};

pub const CITY_STEP_GRANT: MessageKind = step_grant(RecipientCity, "city.step");

pub const CASE_DECISION: MessageKind = MessageKind {
    message: "CaseDecision",
    service: RecipientCity,
    rpc: "NotifyDecision",
    senders: &[sent_by(Central, "central.decide")],
    access: FromCentral,
    stage: Stage::Decision,
    final_stage: None,
    server_span: "city.decision",
    idempotency: BY_ID,
    feature: None,
};

pub const CASE_CLOSURE: MessageKind = MessageKind {
    message: "CaseClosure",
    service: RecipientCity,
    rpc: "CloseCase",
    senders: &[sent_by(Central, "central.close")],
    access: FromCentral,
    stage: Stage::Demobilisation,
    final_stage: None,
    server_span: "city.closure",
    idempotency: BY_ID,
    feature: None,
};

pub const SHIPMENT: MessageKind = MessageKind {
    message: "Shipment",
    service: RecipientCity,
    rpc: "DeliverShipment",
    senders: &[sent_by(Province, "province.ship")],
    access: AsItself,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "city.shipment",
    idempotency: BY_ID,
    feature: None,
};

/// Central's ruling on a dispute, to the city of the pairing.
pub const CITY_MEDIATION: MessageKind = MessageKind {
    message: "Mediation",
    service: RecipientCity,
    rpc: "Mediate",
    senders: &[sent_by(Central, central_span::MEDIATE)],
    access: FromCentral,
    stage: Stage::Implementation,
    final_stage: None,
    server_span: "city.mediation",
    idempotency: BY_ID,
    feature: Some(MEDIATION_FEATURE),
};

/// Every message of the protocol, by the service that receives it.
pub const CATALOG: &[MessageKind] = &[
    REGISTER,
    CAPACITY_REPORT,
    ASSISTANCE_REQUEST,
    ACKNOWLEDGEMENT,
    SUPERVISORY_REPORT,
    DEMOBILISATION_REQUEST,
    DISPUTE,
    PROVINCE_CLOCK_START,
    PROVINCE_STEP_GRANT,
    ASSIGNMENT,
    EVALUATION,
    ADJUSTMENT,
    DEMOBILISATION_ORDER,
    PROVINCE_MEDIATION,
    RECEIPT,
    NEEDS_UPDATE,
    CITY_CLOCK_START,
    CITY_STEP_GRANT,
    CASE_DECISION,
    CASE_CLOSURE,
    CITY_MEDIATION,
    SHIPMENT,
];

const fn query(service: Service, rpc: &'static str, message: &'static str) -> Query {
    Query {
        message,
        service,
        rpc,
    }
}

/// Every operator query of the contract.
pub const QUERIES: &[Query] = &[
    query(CentralAuthority, "GetStatus", "StatusQuery"),
    query(CentralAuthority, "ListPairings", "PairingsQuery"),
    query(CentralAuthority, "GetLedger", "LedgerQuery"),
    query(CentralAuthority, "GetReport", "ReportQuery"),
    query(CentralAuthority, "WatchOperation", "WatchQuery"),
    query(DonorProvince, "GetBooks", "BooksQuery"),
    query(RecipientCity, "GetBooks", "BooksQuery"),
];

/// The kind served as `rpc` by `service`.
pub fn by_rpc(service: Service, rpc: &str) -> Option<&'static MessageKind> {
    CATALOG
        .iter()
        .find(|k| k.service == service && k.rpc == rpc)
}

/// The kind whose receiver opens `server_span`.
pub fn by_server_span(name: &str) -> Option<&'static MessageKind> {
    CATALOG.iter().find(|k| k.server_span == name)
}

/// Every span a sender opens, each once.
pub fn client_spans() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CATALOG
        .iter()
        .flat_map(|k| k.senders.iter().map(|s| s.span))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
