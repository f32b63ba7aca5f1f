//! The `pairing.v1` gRPC contract of Counterpart.
//!
//! - [`v1`]: messages and (with the default `grpc` feature) the three services (`CentralAuthority`,
//!   `DonorProvince`, `RecipientCity`), generated from `pairing/v1/*.proto`.
//!   Two of the messages, `ResourceQuantity` and `Discrepancy`, are written
//!   by hand (`by_hand`) so that a resource type's name decodes without an
//!   allocation; `v1` re-exports them with the generated ones.
//! - [`resource`]: the catalog of NIMS-style resource types
//!   ("category/kind") that every message uses: ten defaults, and those
//!   the scenario declares.
//! - [`version`]: the protocol version this build speaks, and the window
//!   central accepts.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC reflection.

mod by_hand;
pub mod resource;

/// Which protocol a node speaks, and which versions central accepts.
pub mod version {
    /// The protocol version this build speaks. Raised when a node starts to
    /// rely on a message or field a node of the version before lacks.
    pub const PROTOCOL_VERSION: u32 = 1;
    /// The oldest version central still accepts: the window is
    /// `OLDEST_SUPPORTED..=PROTOCOL_VERSION` (docs/PROTOCOL.md, "Versions").
    pub const OLDEST_SUPPORTED: u32 = 1;
    /// What a node registering with version 0 speaks: it predates the field.
    pub const UNSTATED: u32 = 1;
    /// Optional message kinds this build handles beyond its version's:
    /// "mediation" (Dispute, Mediation; docs/PROTOCOL.md, "Mediation").
    /// A node of the previous release declares none and is never sent a
    /// ruling.
    ///
    /// "lockstep" (StepGrant; docs/PROTOCOL.md, "The lockstep clock"). A
    /// central running a lockstep clock refuses the registration of a node
    /// without it: that node could never take a step.
    pub const FEATURES: &[&str] = &["mediation", "lockstep"];
}

pub mod v1 {
    #![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]
    // `include!` rather than `tonic::include_proto!`: without the `grpc`
    // feature there is no tonic to expand it.
    include!(concat!(env!("OUT_DIR"), "/pairing.v1.rs"));
    // Written by hand (`build.rs` points prost at them): a resource type's
    // name decodes without an allocation.
    pub use crate::by_hand::{Discrepancy, ResourceQuantity};
}

/// Encoded `FileDescriptorSet` of the contract, served by tonic-reflection so
/// that `grpcurl` and similar tools can explore a running node.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pairing_descriptor.bin"));

#[cfg(test)]
mod saved_tests {
    use super::v1::{DailyCount, DailyTally, SupervisoryReport};

    /// A message saved by a release before one of its fields existed reads
    /// back with that field at its default, as protobuf reads the wire:
    /// the previous release's donor saved its final report without
    /// `daily_tallies`.
    #[test]
    fn a_saved_message_without_a_newer_field_reads_back_with_its_default() {
        let saved = r#"{"header":null,"case_id":"case-huangshi-1","shipments":[],
            "receipts":[],"situation":null,"cost_cny":7,"outbreak_level":0,
            "personnel_deployed":0,"final":true,"messages_received":{}}"#;
        let report: SupervisoryReport = serde_json::from_str(saved).unwrap();
        assert_eq!(report.case_id, "case-huangshi-1");
        assert_eq!((report.cost_cny, report.r#final), (7, true));
        assert!(report.daily_tallies.is_empty());
        let tally = DailyTally {
            day: 3,
            counts: vec![DailyCount { item: 11, value: 2 }],
        };
        let text = serde_json::to_string(&tally).unwrap();
        assert_eq!(serde_json::from_str::<DailyTally>(&text).unwrap(), tally);
    }
}
