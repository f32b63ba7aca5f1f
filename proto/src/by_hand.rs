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

impl prost::Message for ResourceQuantity {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        self.resource_type.encode(1, buf);
        if self.quantity != 0 {
            int64::encode(2, &self.quantity, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        const NAME: &str = "ResourceQuantity";
        match tag {
            1 => self
                .resource_type
                .merge(wire_type, buf, ctx)
                .map_err(within(NAME, "resource_type")),
            2 => int64::merge(wire_type, &mut self.quantity, buf, ctx)
                .map_err(within(NAME, "quantity")),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.resource_type.encoded_len(1)
            + if self.quantity != 0 {
                int64::encoded_len(2, &self.quantity)
            } else {
                0
            }
    }

    fn clear(&mut self) {
        *self = ResourceQuantity::default();
    }
}

impl prost::Message for Discrepancy {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        self.resource_type.encode(1, buf);
        if self.quantity != 0 {
            int64::encode(2, &self.quantity, buf);
        }
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
        match tag {
            1 => self
                .resource_type
                .merge(wire_type, buf, ctx)
                .map_err(within(NAME, "resource_type")),
            2 => int64::merge(wire_type, &mut self.quantity, buf, ctx)
                .map_err(within(NAME, "quantity")),
            3 => {
                int32::merge(wire_type, &mut self.reason, buf, ctx).map_err(within(NAME, "reason"))
            }
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let quantity = if self.quantity != 0 {
            int64::encoded_len(2, &self.quantity)
        } else {
            0
        };
        let reason = if self.reason != 0 {
            int32::encoded_len(3, &self.reason)
        } else {
            0
        };
        self.resource_type.encoded_len(1) + quantity + reason
    }

    fn clear(&mut self) {
        *self = Discrepancy::default();
    }
}

#[cfg(test)]
#[path = "by_hand_tests.rs"]
mod tests;
