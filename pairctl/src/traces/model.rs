//! The plain span: what the checker reads, whatever the source (OTLP,
//! Jaeger JSON, a JSON array of these).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The attribute naming the case a span belongs to.
pub const CASE_ID: &str = "pairing.case_id";
/// The attribute naming the province a span concerns.
pub const PROVINCE: &str = "pairing.province";
/// The attribute naming the shipment a span carries or receipts.
pub const SHIPMENT_ID: &str = "pairing.shipment_id";
/// The attribute naming the dispute a span raises or rules on (the nodes'
/// own name for it).
pub const DISPUTE_ID: &str = node_kit::trace::key::DISPUTE_ID;
/// The attribute naming the protocol stage (`launch`, `decision`,
/// `implementation`, `demobilisation`).
pub const STAGE: &str = "pairing.stage";
/// The prefix of a province's `service.name`, e.g. `province-jiangsu`.
pub const PROVINCE_SERVICE_PREFIX: &str = "province-";

/// Hex digits in a W3C trace id (16 bytes).
pub const TRACE_ID_HEX_LEN: usize = 32;
/// Hex digits in a span id (8 bytes).
pub const SPAN_ID_HEX_LEN: usize = 16;

/// One span of a run, from any source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Lower-case hex, 32 digits.
    pub trace_id: String,
    /// Lower-case hex, 16 digits.
    pub span_id: String,
    /// None for a root span.
    #[serde(default)]
    pub parent_span_id: Option<String>,
    /// The exporting node's `service.name`: `central`, `province-<id>`,
    /// `city-<id>`.
    pub service: String,
    pub name: String,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The span's status is Error (a refusal, a discrepancy, a penalty).
    #[serde(default)]
    pub error: bool,
}

impl Span {
    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// The case this span belongs to; None for spans outside any case
    /// (registration, clock start, capacity reports).
    pub fn case_id(&self) -> Option<&str> {
        self.attribute(CASE_ID).filter(|id| !id.is_empty())
    }

    /// The province id when this span was exported by a province node.
    pub fn province_service(&self) -> Option<&str> {
        province_of_service(&self.service)
    }
}

/// `province-jiangsu` -> `jiangsu`; None for other services.
pub fn province_of_service(service: &str) -> Option<&str> {
    service
        .strip_prefix(PROVINCE_SERVICE_PREFIX)
        .filter(|id| !id.is_empty())
}

/// Lower-case hex, left-padded with zeros to `hex_len` digits: Jaeger
/// drops leading zeros and may print 64-bit trace ids, OTLP gives bytes.
/// None when `id` is not hex, is longer than `hex_len`, or is all zeros
/// (the W3C invalid id).
pub fn normalize_id(id: &str, hex_len: usize) -> Option<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > hex_len || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if id.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(format!(
        "{:0>width$}",
        id.to_ascii_lowercase(),
        width = hex_len
    ))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_padded_and_lowercased() {
        assert_eq!(normalize_id("ABC", 16).as_deref(), Some("0000000000000abc"));
        assert_eq!(
            normalize_id("00000000000000010000000000000002", 32).as_deref(),
            Some("00000000000000010000000000000002")
        );
    }

    #[test]
    fn bad_ids_are_refused() {
        assert_eq!(normalize_id("", 16), None);
        assert_eq!(normalize_id("xyz", 16), None);
        assert_eq!(normalize_id("0000", 16), None);
        assert_eq!(normalize_id(&"a".repeat(17), 16), None);
    }

    #[test]
    fn the_province_is_read_from_the_service_name() {
        assert_eq!(province_of_service("province-jiangsu"), Some("jiangsu"));
        assert_eq!(province_of_service("province-"), None);
        assert_eq!(province_of_service("city-huangshi"), None);
        assert_eq!(province_of_service("central"), None);
    }

    #[test]
    fn hex_of_bytes() {
        assert_eq!(hex(&[0, 1, 0xab]), "0001ab");
    }

    #[test]
    fn an_empty_case_id_is_no_case() {
        let mut span = Span {
            trace_id: "1".repeat(32),
            span_id: "2".repeat(16),
            parent_span_id: None,
            service: "central".into(),
            name: "central.register".into(),
            start_unix_ns: 0,
            end_unix_ns: 0,
            attributes: BTreeMap::new(),
            error: false,
        };
        assert_eq!(span.case_id(), None);
        span.attributes.insert(CASE_ID.into(), String::new());
        assert_eq!(span.case_id(), None);
        span.attributes.insert(CASE_ID.into(), "case-a-1".into());
        assert_eq!(span.case_id(), Some("case-a-1"));
    }
}
