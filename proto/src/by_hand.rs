//! The two `pairing.v1` messages written by hand rather than generated:
//! [`ResourceQuantity`] and [`Discrepancy`], whose `resource_type` is a
//! [`ResourceTypeName`] (a catalog name decodes without an allocation)
//! where prost would generate a `String`.
//!
//! They are the quantities of every request, shipment record and receipt
//! record central decodes, so most of the names a report carries. The wire
//! is exactly what the `.proto` says and what prost generates for it: the
//! `.proto` is unchanged, and `by_hand_tests` holds each message's bytes
//! equal to a generated twin's, both ways. `build.rs` points prost at these
//! types (`extern_path`), and `v1` re-exports them, so every other message
//! and every caller uses them as before.

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, int32, int64, DecodeContext, WireType};
use prost::DecodeError;

use crate::resource::ResourceTypeName;
use crate::v1::DiscrepancyReason;

/// A quantity of one resource type (common.proto).
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ResourceQuantity {
    /// Field 1, `string`.
    pub resource_type: ResourceTypeName,
    /// Field 2, `int64`.
    pub quantity: i64,
}

/// A quantity of a shipment line that did not arrive usable, and why
/// (messages.proto).
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Discrepancy {
    /// Field 1, `string`.
    pub resource_type: ResourceTypeName,
    /// Field 2, `int64`.
    pub quantity: i64,
    /// Field 3, `DiscrepancyReason`, as its number (a number this build
    /// does not know is kept, as for a generated enum field).
    pub reason: i32,
}

impl Discrepancy {
    /// The reason, or `Unspecified` for a number this build does not know
    /// (what prost generates for an enum field).
    pub fn reason(&self) -> DiscrepancyReason {
        DiscrepancyReason::try_from(self.reason).unwrap_or_default()
    }

    pub fn set_reason(&mut self, reason: DiscrepancyReason) {
        self.reason = reason as i32;
    }
}

/// Names the field of an error, as generated code does.
fn within(message: &'static str, field: &'static str) -> impl Fn(DecodeError) -> DecodeError {
    move |mut error| {
        error.push(message, field);
        error
    }
}

/// Fields 1 and 2, which both messages have: a resource type's name and a
/// quantity, each left out at its default as proto3 leaves it out.
fn encode_named(resource_type: &ResourceTypeName, quantity: i64, buf: &mut impl BufMut) {
    resource_type.encode(1, buf);
    if quantity != 0 {
        int64::encode(2, &quantity, buf);
    }
}

/// The bytes [`encode_named`] writes.
fn named_len(resource_type: &ResourceTypeName, quantity: i64) -> usize {
    let quantity = if quantity != 0 {
        int64::encoded_len(2, &quantity)
    } else {
        0
    };
    resource_type.encoded_len(1) + quantity
}

/// Reads field 1 or 2 (`tag`) of `message` into `resource_type` or
/// `quantity`.
fn merge_named(
    message: &'static str,
    (resource_type, quantity): (&mut ResourceTypeName, &mut i64),
    tag: u32,
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    if tag == 1 {
        resource_type
            .merge(wire_type, buf, ctx)
            .map_err(within(message, "resource_type"))
    } else {
        debug_assert_eq!(tag, 2);
        int64::merge(wire_type, quantity, buf, ctx).map_err(within(message, "quantity"))
    }
}

impl prost::Message for ResourceQuantity {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        encode_named(&self.resource_type, self.quantity, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let fields = (&mut self.resource_type, &mut self.quantity);
        match tag {
            1 | 2 => merge_named("ResourceQuantity", fields, tag, wire_type, buf, ctx),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        named_len(&self.resource_type, self.quantity)
    }

    fn clear(&mut self) {
        *self = ResourceQuantity::default();
    }
}

impl prost::Message for Discrepancy {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        encode_named(&self.resource_type, self.quantity, buf);
        if self.reason != 0 {
            int32::encode(3, &self.reason, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        const NAME: &str = "Discrepancy";
        let fields = (&mut self.resource_type, &mut self.quantity);
        match tag {
            1 | 2 => merge_named(NAME, fields, tag, wire_type, buf, ctx),
            3 => {
                int32::merge(wire_type, &mut self.reason, buf, ctx).map_err(within(NAME, "reason"))
            }
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let reason = if self.reason != 0 {
            int32::encoded_len(3, &self.reason)
        } else {
            0
        };
        named_len(&self.resource_type, self.quantity) + reason
    }

    fn clear(&mut self) {
        *self = Discrepancy::default();
    }
}

#[cfg(test)]
#[path = "by_hand_tests.rs"]
mod tests;
