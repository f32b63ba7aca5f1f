//! The compatibility gate: the `pairing.v1` contract as it is now, held
//! against the contract as it was released (`baseline/pairing.v1.binpb`), so
//! a change that would stop new nodes talking to deployed ones is named
//! before it ships.
//!
//! The rules are buf's WIRE_JSON category, the one buf recommends as the
//! least a gRPC API should keep: whatever changes the bytes on the wire or
//! the JSON mapping breaks (nodes keep messages they owe as JSON, and
//! operators read reports as JSON). Written here over `prost-types`
//! descriptors rather than taken from a crate: the rules are few, and
//! descriptors from `protox` are what the build already makes.
//!
//! - A field keeps its number, name, JSON name, type, label and oneof; a
//!   field removed leaves its number and name `reserved`.
//! - An enum value keeps its name; a value removed leaves its number and
//!   name `reserved`.
//! - A message or enum is not removed; an RPC is not removed and keeps its
//!   request and response types and its streaming.
//!
//! A deliberate break goes into a new package (`pairing.v2`) or into a new
//! baseline with a line in CHANGELOG.md naming the baseline's digest (see
//! [`baseline_digest`] and the test that checks the line is there).

use std::collections::BTreeMap;
use std::fmt;

use prost::Message;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, ServiceDescriptorProto,
};

/// The contract as released, committed beside this crate.
pub const BASELINE: &[u8] = include_bytes!("../baseline/pairing.v1.binpb");

/// One change that breaks the released contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The file the element was declared in, in the baseline.
    pub file: String,
    /// The element: `pairing.v1.ClockStart.clock`, `pairing.v1.Role.ROLE_CITY`,
    /// `pairing.v1.CentralAuthority/Register`.
    pub element: String,
    /// The rule, after buf's names (`FIELD_SAME_TYPE`, `RPC_NO_DELETE`...).
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} ({})",
            self.file, self.element, self.detail, self.rule
        )
    }
}

/// Decodes an encoded `FileDescriptorSet`.
pub fn decode(bytes: &[u8]) -> Result<FileDescriptorSet, String> {
    FileDescriptorSet::decode(bytes).map_err(|e| format!("not a FileDescriptorSet: {e}"))
}

/// The contract the code is built from now.
pub fn current() -> FileDescriptorSet {
    decode(pairing_proto::FILE_DESCRIPTOR_SET).expect("the build encodes a descriptor set")
}

/// A short digest of an encoded baseline (FNV-1a, 64 bits, hex), for the
/// CHANGELOG line that must accompany a new baseline.
pub fn baseline_digest(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Every break of `baseline` by `current`, in declaration order.
pub fn breaks(baseline: &FileDescriptorSet, current: &FileDescriptorSet) -> Vec<Break> {
    let now = Index::of(current);
    let mut found = Vec::new();
    for file in &baseline.file {
        let package = file.package();
        let mut check = Checker {
            file: file.name().to_string(),
            now: &now,
            found: &mut found,
        };
        for message in &file.message_type {
            check.message(&format!("{package}.{}", message.name()), message);
        }
        for e in &file.enum_type {
            check.enumeration(&format!("{package}.{}", e.name()), e);
        }
        for service in &file.service {
            check.service(&format!("{package}.{}", service.name()), service);
        }
    }
    found
}

/// The current contract's messages, enums and services by full name.
struct Index<'a> {
    messages: BTreeMap<String, &'a DescriptorProto>,
    enums: BTreeMap<String, &'a EnumDescriptorProto>,
    services: BTreeMap<String, &'a ServiceDescriptorProto>,
}

impl<'a> Index<'a> {
    fn of(set: &'a FileDescriptorSet) -> Index<'a> {
        let mut index = Index {
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            services: BTreeMap::new(),
        };
        for file in &set.file {
            index.file(file);
        }
        index
    }

    fn file(&mut self, file: &'a FileDescriptorProto) {
        let package = file.package();
        for message in &file.message_type {
            self.message(format!("{package}.{}", message.name()), message);
        }
        for e in &file.enum_type {
            self.enums.insert(format!("{package}.{}", e.name()), e);
        }
        for service in &file.service {
            self.services
                .insert(format!("{package}.{}", service.name()), service);
        }
    }

    fn message(&mut self, name: String, message: &'a DescriptorProto) {
        for nested in &message.nested_type {
            self.message(format!("{name}.{}", nested.name()), nested);
        }
        for e in &message.enum_type {
            self.enums.insert(format!("{name}.{}", e.name()), e);
        }
        self.messages.insert(name, message);
    }
}

struct Checker<'a, 'b> {
    file: String,
    now: &'b Index<'a>,
    found: &'b mut Vec<Break>,
}

impl Checker<'_, '_> {
    fn report(&mut self, element: String, rule: &'static str, detail: String) {
        self.found.push(Break {
            file: self.file.clone(),
            element,
            rule,
            detail,
        });
    }

    fn message(&mut self, name: &str, was: &DescriptorProto) {
        for nested in &was.nested_type {
            self.message(&format!("{name}.{}", nested.name()), nested);
        }
        for e in &was.enum_type {
            self.enumeration(&format!("{name}.{}", e.name()), e);
        }
        let Some(is) = self.now.messages.get(name).copied() else {
            self.report(name.into(), "MESSAGE_NO_DELETE", "message removed".into());
            return;
        };
        for field in &was.field {
            let element = format!("{name}.{}", field.name());
            match is.field.iter().find(|f| f.number() == field.number()) {
                Some(now) => self.field(element, was, field, is, now),
                None => self.removed_field(element, field, is),
            }
        }
    }

    fn removed_field(
        &mut self,
        element: String,
        field: &FieldDescriptorProto,
        is: &DescriptorProto,
    ) {
        let number = field.number();
        let number_reserved = is
            .reserved_range
            .iter()
            .any(|r| (r.start()..r.end()).contains(&number));
        let name_reserved = is.reserved_name.iter().any(|n| n == field.name());
        if !number_reserved {
            let detail = format!("field {number} removed without reserving its number");
            self.report(
                element.clone(),
                "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                detail,
            );
        }
        if !name_reserved {
            let detail = format!("field {number} removed without reserving its name");
            self.report(element, "FIELD_NO_DELETE_UNLESS_NAME_RESERVED", detail);
        }
    }

    fn field(
        &mut self,
        element: String,
        was_message: &DescriptorProto,
        was: &FieldDescriptorProto,
        is_message: &DescriptorProto,
        is: &FieldDescriptorProto,
    ) {
        let number = was.number();
        let same = |rule, what: &str, a: String, b: String| {
            (a != b).then(|| (rule, format!("field {number}: {what} {a} became {b}")))
        };
        let oneof_of = |m: &DescriptorProto, f: &FieldDescriptorProto| {
            f.oneof_index
                .and_then(|i| m.oneof_decl.get(i as usize))
                .map_or(String::from("none"), |o| o.name().to_string())
        };
        let changes = [
            same("FIELD_SAME_NAME", "name", q(was.name()), q(is.name())),
            same(
                "FIELD_SAME_JSON_NAME",
                "JSON name",
                q(was.json_name()),
                q(is.json_name()),
            ),
            same("FIELD_SAME_TYPE", "type", type_of(was), type_of(is)),
            same(
                "FIELD_SAME_LABEL",
                "label",
                format!("{:?}", was.label()),
                format!("{:?}", is.label()),
            ),
            same(
                "FIELD_SAME_ONEOF",
                "oneof",
                oneof_of(was_message, was),
                oneof_of(is_message, is),
            ),
        ];
        for (rule, detail) in changes.into_iter().flatten() {
            self.report(element.clone(), rule, detail);
        }
    }

    fn enumeration(&mut self, name: &str, was: &EnumDescriptorProto) {
        let Some(is) = self.now.enums.get(name).copied() else {
            self.report(name.into(), "ENUM_NO_DELETE", "enum removed".into());
            return;
        };
        for value in &was.value {
            let element = format!("{name}.{}", value.name());
            let number = value.number();
            match is.value.iter().find(|v| v.number() == number) {
                Some(now) if now.name() != value.name() => {
                    let detail = format!("value {number} renamed to {}", now.name());
                    self.report(element, "ENUM_VALUE_SAME_NAME", detail);
                }
                Some(_) => {}
                None => {
                    let number_reserved = is
                        .reserved_range
                        .iter()
                        .any(|r| (r.start()..=r.end()).contains(&number));
                    let name_reserved = is.reserved_name.iter().any(|n| n == value.name());
                    if !(number_reserved && name_reserved) {
                        let detail =
                            format!("value {number} removed without reserving its number and name");
                        self.report(element, "ENUM_VALUE_NO_DELETE_UNLESS_RESERVED", detail);
                    }
                }
            }
        }
    }

    fn service(&mut self, name: &str, was: &ServiceDescriptorProto) {
        let Some(is) = self.now.services.get(name).copied() else {
            self.report(name.into(), "SERVICE_NO_DELETE", "service removed".into());
            return;
        };
        for method in &was.method {
            let element = format!("{name}/{}", method.name());
            let Some(now) = is.method.iter().find(|m| m.name() == method.name()) else {
                self.report(element, "RPC_NO_DELETE", "RPC removed".into());
                continue;
            };
            let pairs = [
                (
                    "RPC_SAME_REQUEST_TYPE",
                    "request type",
                    method.input_type(),
                    now.input_type(),
                ),
                (
                    "RPC_SAME_RESPONSE_TYPE",
                    "response type",
                    method.output_type(),
                    now.output_type(),
                ),
            ];
            for (rule, what, a, b) in pairs {
                if a != b {
                    self.report(element.clone(), rule, format!("{what} {a} became {b}"));
                }
            }
            if (method.client_streaming(), method.server_streaming())
                != (now.client_streaming(), now.server_streaming())
            {
                self.report(element, "RPC_SAME_STREAMING", "streaming changed".into());
            }
        }
    }
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

/// A field's type as the wire sees it: the scalar, or the message or enum.
fn type_of(field: &FieldDescriptorProto) -> String {
    match field.type_name.as_deref() {
        Some(name) if !name.is_empty() => format!("{:?} {name}", field.r#type()),
        _ => format!("{:?}", field.r#type()),
    }
}
