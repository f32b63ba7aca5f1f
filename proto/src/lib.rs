//! The `pairing.v1` gRPC contract of Counterpart.
//!
//! - [`v1`]: messages and the three services (`CentralAuthority`,
//!   `DonorProvince`, `RecipientCity`), generated from `pairing/v1/*.proto`.
//! - [`resource`]: the closed catalog of NIMS-style resource types
//!   ("category/kind") that every message uses.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC reflection.

pub mod resource;

pub mod v1 {
    #![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]
    tonic::include_proto!("pairing.v1");
}

/// Encoded `FileDescriptorSet` of the contract, served by tonic-reflection so
/// that `grpcurl` and similar tools can explore a running node.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pairing_descriptor.bin"));
