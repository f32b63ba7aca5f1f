//! What the donor sends, and to whom: the state machine returns these from
//! each tick, the driver carries them and reports each outcome back under
//! its [`OutboundKey`].

use pairing_proto::v1::{AssignmentAcknowledgement, CapacityReport, Shipment, SupervisoryReport};

/// A message the donor wants sent now.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// To central (`ReportCapacity`); `revision` counts pool and outbreak
    /// changes, so a late success of an older report is told apart.
    Capacity {
        revision: u64,
        report: CapacityReport,
    },
    /// To central (`AcknowledgeAssignment`).
    Acknowledgement(AssignmentAcknowledgement),
    /// To central (`SubmitReport`). The driver fills in `messages_received`.
    Report {
        assignment_id: String,
        report: SupervisoryReport,
    },
    /// To the recipient city at `endpoint` (`DeliverShipment`).
    Shipment {
        endpoint: String,
        shipment: Shipment,
    },
}

/// Names an outbound message when its outcome comes back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutboundKey {
    Capacity {
        revision: u64,
    },
    Acknowledgement {
        assignment_id: String,
    },
    Report {
        assignment_id: String,
        final_report: bool,
    },
    Shipment {
        assignment_id: String,
        shipment_id: String,
    },
}

/// Where an outbound message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Central,
    City { endpoint: String },
}

impl Outbound {
    pub fn key(&self) -> OutboundKey {
        match self {
            Outbound::Capacity { revision, .. } => OutboundKey::Capacity {
                revision: *revision,
            },
            Outbound::Acknowledgement(ack) => OutboundKey::Acknowledgement {
                assignment_id: ack.assignment_id.clone(),
            },
            Outbound::Report {
                assignment_id,
                report,
            } => OutboundKey::Report {
                assignment_id: assignment_id.clone(),
                final_report: report.r#final,
            },
            Outbound::Shipment { shipment, .. } => OutboundKey::Shipment {
                assignment_id: shipment.assignment_id.clone(),
                shipment_id: shipment.shipment_id.clone(),
            },
        }
    }

    pub fn destination(&self) -> Destination {
        match self {
            Outbound::Shipment { endpoint, .. } => Destination::City {
                endpoint: endpoint.clone(),
            },
            _ => Destination::Central,
        }
    }

    /// A short description for logs, e.g. "Shipment shp-jiangsu-case-huangshi-1-1".
    pub fn describe(&self) -> String {
        match self.key() {
            OutboundKey::Capacity { revision } => format!("CapacityReport r{revision}"),
            OutboundKey::Acknowledgement { assignment_id } => {
                format!("AssignmentAcknowledgement {assignment_id}")
            }
            OutboundKey::Report {
                assignment_id,
                final_report,
            } => format!(
                "SupervisoryReport {assignment_id}{}",
                if final_report { " (final)" } else { "" }
            ),
            OutboundKey::Shipment { shipment_id, .. } => format!("Shipment {shipment_id}"),
        }
    }
}
