//! A resource type's name as a message carries it: [`ResourceTypeName`].
//!
//! Every quantity on central's hot paths names its type: a city's report
//! of four receipts names it twenty-four times. Decoded as a `String`,
//! each name was a heap allocation, and those allocations were most of
//! what decoding a report cost central (BENCHMARKS.md table 1, the runs of
//! 2026-12-07 from 18:27 UTC). A name of the catalog now decodes to the catalog's own
//! `&'static str`; only a name the catalog lacks is kept as sent, for the
//! refusal that names it.
//!
//! It is still a string: it compares, hashes, orders, prints and saves as
//! its text, so `line.resource_type == "material/mask_n95"` reads as
//! before, and saved state written with a `String` reads back.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::DecodeError;

use super::ResourceType;

/// The text of a resource type's name, as a message field holds it:
/// borrowed from the catalog when the catalog knows it, owned otherwise.
/// Equal, ordered and hashed by its text, however it is held (`Cow`'s own
/// comparisons read through to the `str`).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceTypeName(Cow<'static, str>);

impl ResourceTypeName {
    /// The name `text`, shared with the catalog when the catalog knows it.
    pub fn new(text: &str) -> Self {
        match known(text) {
            Some(name) => ResourceTypeName(Cow::Borrowed(name)),
            None => ResourceTypeName(Cow::Owned(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name is the catalog's own text (nothing was allocated
    /// for it).
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }

    /// The field's bytes on the wire: a protobuf `string`, as a generated
    /// message encodes it (nothing for the empty name, proto3's default).
    pub(crate) fn encode(&self, tag: u32, buf: &mut impl BufMut) {
        if !self.0.is_empty() {
            encoding::encode_key(tag, WireType::LengthDelimited, buf);
            encoding::encode_varint(self.0.len() as u64, buf);
            buf.put_slice(self.0.as_bytes());
        }
    }

    pub(crate) fn encoded_len(&self, tag: u32) -> usize {
        if self.0.is_empty() {
            return 0;
        }
        encoding::key_len(tag) + encoding::encoded_len_varint(self.0.len() as u64) + self.0.len()
    }

    /// Reads the field from `buf`. A catalog name whose bytes lie in one
    /// piece of `buf` is matched in place: nothing is allocated. Anything
    /// else (a name the catalog lacks, a name split across pieces, bytes
    /// that are not a valid field) goes through prost's own `string`
    /// decoding, which keeps prost's errors: bad UTF-8, a short buffer, the
    /// wrong wire type.
    pub(crate) fn merge(
        &mut self,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if wire_type == WireType::LengthDelimited {
            if let Some((name, read)) = known_in_place(buf.chunk()) {
                buf.advance(read);
                self.0 = Cow::Borrowed(name);
                return Ok(());
            }
        }
        let mut text = String::new();
        encoding::string::merge(wire_type, &mut text, buf, ctx)?;
        *self = ResourceTypeName::from(text);
        Ok(())
    }
}

/// The catalog's name equal to `text`, if it has one.
fn known(text: &str) -> Option<&'static str> {
    ResourceType::find(text).map(ResourceType::as_str)
}

/// A length-delimited catalog name at the start of `chunk`, and the bytes
/// it takes there (its length prefix included).
fn known_in_place(chunk: &[u8]) -> Option<(&'static str, usize)> {
    let mut rest = chunk;
    let len = usize::try_from(encoding::decode_varint(&mut rest).ok()?).ok()?;
    let text = std::str::from_utf8(rest.get(..len)?).ok()?;
    let name = known(text)?;
    Some((name, chunk.len() - rest.len() + len))
}

impl From<String> for ResourceTypeName {
    fn from(text: String) -> Self {
        match known(&text) {
            Some(name) => ResourceTypeName(Cow::Borrowed(name)),
            None => ResourceTypeName(Cow::Owned(text)),
        }
    }
}

impl From<&str> for ResourceTypeName {
    fn from(text: &str) -> Self {
        ResourceTypeName::new(text)
    }
}

impl From<ResourceType> for ResourceTypeName {
    fn from(t: ResourceType) -> Self {
        ResourceTypeName(Cow::Borrowed(t.as_str()))
    }
}

impl From<ResourceTypeName> for String {
    fn from(name: ResourceTypeName) -> Self {
        name.0.into_owned()
    }
}

impl Deref for ResourceTypeName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ResourceTypeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// By its text, so a map keyed by names is looked up by `&str`.
impl Borrow<str> for ResourceTypeName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ResourceTypeName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ResourceTypeName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ResourceTypeName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for ResourceTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As a string, so a test's expected output and a state dump read as
/// they did when the field was a `String`.
impl fmt::Debug for ResourceTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for ResourceTypeName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceTypeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ResourceTypeName::from)
    }
}
