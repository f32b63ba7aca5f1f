//! The hand-written messages against what prost generates for the same
//! `.proto` fields: the same bytes both ways, the same errors, and a
//! catalog name decoded without an allocation.

use proptest::prelude::*;
use prost::bytes::Buf;
use prost::Message;

use super::{Discrepancy, ResourceQuantity};
use crate::resource::{ResourceType, ResourceTypeName};

/// `ResourceQuantity` as prost generates it from common.proto.
#[derive(Clone, PartialEq, prost::Message)]
struct GeneratedQuantity {
    #[prost(string, tag = "1")]
    resource_type: String,
    #[prost(int64, tag = "2")]
    quantity: i64,
}

/// `Discrepancy` as prost generates it from messages.proto.
#[derive(Clone, PartialEq, prost::Message)]
struct GeneratedDiscrepancy {
    #[prost(string, tag = "1")]
    resource_type: String,
    #[prost(int64, tag = "2")]
    quantity: i64,
    #[prost(int32, tag = "3")]
    reason: i32,
}

/// Names a message may carry: every default, and what the catalog lacks
/// (a newer node's type, nothing, any text).
fn names() -> impl Strategy<Value = String> {
    let defaults = ResourceType::DEFAULTS.map(|t| t.as_str().to_string());
    prop_oneof![
        proptest::sample::select(defaults.to_vec()),
        Just(String::new()),
        Just("material/tent".to_string()),
        "\\PC{0,40}",
    ]
}

proptest! {
    #[test]
    fn a_quantity_has_the_generated_bytes_both_ways(
        name in names(),
        quantity in any::<i64>(),
    ) {
        let generated = GeneratedQuantity { resource_type: name.clone(), quantity };
        let by_hand = ResourceQuantity { resource_type: name.as_str().into(), quantity };
        let bytes = generated.encode_to_vec();
        prop_assert_eq!(by_hand.encode_to_vec(), bytes.clone());
        prop_assert_eq!(by_hand.encoded_len(), bytes.len());
        prop_assert_eq!(ResourceQuantity::decode(&bytes[..]).unwrap(), by_hand);
    }

    #[test]
    fn a_discrepancy_has_the_generated_bytes_both_ways(
        name in names(),
        quantity in any::<i64>(),
        reason in any::<i32>(),
    ) {
        let generated = GeneratedDiscrepancy { resource_type: name.clone(), quantity, reason };
        let by_hand = Discrepancy { resource_type: name.as_str().into(), quantity, reason };
        let bytes = generated.encode_to_vec();
        prop_assert_eq!(by_hand.encode_to_vec(), bytes.clone());
        prop_assert_eq!(by_hand.encoded_len(), bytes.len());
        prop_assert_eq!(Discrepancy::decode(&bytes[..]).unwrap(), by_hand);
    }

    /// A name split between two pieces of the buffer (as a body arrives in
    /// frames) decodes to the same name.
    #[test]
    fn a_name_across_two_pieces_decodes_the_same(name in names(), split in 0usize..48) {
        let bytes = GeneratedQuantity { resource_type: name.clone(), quantity: 7 }.encode_to_vec();
        let split = split.min(bytes.len());
        let pieces = (&bytes[..split]).chain(&bytes[split..]);
        let decoded = ResourceQuantity::decode(pieces).unwrap();
        prop_assert_eq!(decoded.resource_type.as_str(), name.as_str());
        prop_assert_eq!(decoded.quantity, 7);
    }
}

/// The point of the hand-written messages: a catalog name on the wire
/// shares the catalog's text, and a name the catalog lacks is kept as sent.
#[test]
fn a_catalog_name_decodes_to_the_catalogs_own_text() {
    for t in ResourceType::DEFAULTS {
        let bytes = GeneratedQuantity {
            resource_type: t.as_str().into(),
            quantity: 1,
        }
        .encode_to_vec();
        let decoded = ResourceQuantity::decode(&bytes[..]).unwrap();
        assert!(decoded.resource_type.is_shared(), "{t}");
        assert_eq!(decoded.resource_type, t.as_str());
    }
    let unknown = GeneratedQuantity {
        resource_type: "material/tent".into(),
        quantity: 1,
    };
    let decoded = ResourceQuantity::decode(&unknown.encode_to_vec()[..]).unwrap();
    assert!(!decoded.resource_type.is_shared());
    assert_eq!(decoded.resource_type, "material/tent");
}

#[test]
fn a_name_that_is_not_utf8_is_refused_naming_the_field() {
    // Field 1, length 2, then two bytes that are no UTF-8.
    let bytes = [0x0a, 0x02, 0xff, 0xfe, 0x10, 0x01];
    let error = ResourceQuantity::decode(&bytes[..]).unwrap_err();
    assert!(GeneratedQuantity::decode(&bytes[..]).is_err());
    assert!(
        error.to_string().contains("ResourceQuantity.resource_type"),
        "{error}"
    );
    let error = Discrepancy::decode(&bytes[..]).unwrap_err();
    assert!(
        error.to_string().contains("Discrepancy.resource_type"),
        "{error}"
    );
}

#[test]
fn a_name_longer_than_the_buffer_is_refused() {
    let bytes = [0x0a, 0x20, b'm', b'a'];
    assert!(ResourceQuantity::decode(&bytes[..]).is_err());
}

/// A field a newer node adds is skipped, as a generated message skips it.
#[test]
fn an_unknown_field_is_skipped() {
    let mut bytes = GeneratedQuantity {
        resource_type: "personnel/doctor".into(),
        quantity: 310,
    }
    .encode_to_vec();
    bytes.extend([0x1a, 0x03, b'a', b'b', b'c']); // field 3, "abc"
    let decoded = ResourceQuantity::decode(&bytes[..]).unwrap();
    assert_eq!(
        (decoded.resource_type.as_str(), decoded.quantity),
        ("personnel/doctor", 310)
    );
}

/// State saved while the field was a `String` reads back, and is written
/// the same way.
#[test]
fn a_name_saves_as_its_text() {
    let saved = r#"{"resource_type":"material/mask_n95","quantity":40,"reason":1}"#;
    let d: Discrepancy = serde_json::from_str(saved).unwrap();
    assert!(d.resource_type.is_shared());
    assert_eq!(serde_json::to_string(&d).unwrap(), saved);
    let q: ResourceQuantity = serde_json::from_str(r#"{"quantity":3}"#).unwrap();
    assert_eq!(q.resource_type, ResourceTypeName::default());
}

/// The `.proto` and the hand-written structs name the same fields: a field
/// added to either message in the `.proto` fails here until it is written
/// into `by_hand.rs` as well (otherwise it would be skipped as unknown).
#[test]
fn the_proto_declares_the_fields_written_by_hand() {
    use prost_types::field_descriptor_proto::Type;
    let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
    let fields = |message: &str| -> Vec<(i32, String, Type)> {
        let found = set
            .file
            .iter()
            .flat_map(|f| &f.message_type)
            .find(|m| m.name() == message)
            .unwrap_or_else(|| panic!("{message} is not in the descriptors"));
        found
            .field
            .iter()
            .map(|f| (f.number(), f.name().to_string(), f.r#type()))
            .collect()
    };
    let field = |n: i32, name: &str, t: Type| (n, name.to_string(), t);
    assert_eq!(
        fields("ResourceQuantity"),
        [
            field(1, "resource_type", Type::String),
            field(2, "quantity", Type::Int64)
        ],
        "ResourceQuantity is written by hand in src/by_hand.rs: change it there too"
    );
    assert_eq!(
        fields("Discrepancy"),
        [
            field(1, "resource_type", Type::String),
            field(2, "quantity", Type::Int64),
            field(3, "reason", Type::Enum)
        ],
        "Discrepancy is written by hand in src/by_hand.rs: change it there too"
    );
}
