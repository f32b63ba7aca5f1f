//! The journal of a small machine (a province, a city): its applied
//! message ids one record each, since they grow with every message, and the
//! rest of its state, a few kilobytes, as one record of the machine's kind,
//! written again only when it changed. Central, whose state grows with the
//! run, keeps a record per thing it holds instead.
//!
//! One copy for both small machines (and for node-kit, which re-exports it
//! as `node_kit::durable::small`): the kinds, keys and bodies are the ones
//! the stores of every release since the journal hold.

use counterpart_domain::applied::{AppliedIds, DEFAULT_CAPACITY};
use counterpart_domain::journal::{self, Change, LastWritten, RecordKey, Records};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The kind of the applied message ids' records.
pub const APPLIED: &str = "applied";

/// The kind of the one record a store of the previous release (0.1.0)
/// loads as: its whole-state document (`node_kit::durable::LEGACY_KIND`
/// is this).
pub const LEGACY_KIND: &str = "legacy-whole-state";

/// The changes since the last call: `state` (the machine's state but its
/// applied ids) if it differs from what was written last, and the applied
/// ids recorded or forgotten since.
pub fn take_changes<R: Clone + Serialize + DeserializeOwned>(
    kind: &str,
    last: &mut LastWritten,
    state: Vec<u8>,
    applied: &mut AppliedIds<R>,
) -> Result<Vec<Change>, String> {
    let mut changes: Vec<Change> = last.put_if_changed(kind, "", state).into_iter().collect();
    changes.extend(applied.take_changes(APPLIED)?);
    Ok(changes)
}

/// Every record: `state` and each applied id.
pub fn records<R: Clone + Serialize + DeserializeOwned>(
    kind: &str,
    state: Vec<u8>,
    applied: &AppliedIds<R>,
) -> Result<Records, String> {
    let mut records = Records::new();
    journal::apply(&mut records, [Change::put(kind, "", state)]);
    journal::apply(&mut records, applied.records(APPLIED)?);
    Ok(records)
}

/// The previous release's form: the applied ids inside the state.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "S: DeserializeOwned, R: DeserializeOwned"))]
struct Legacy<S, R> {
    #[serde(flatten)]
    saved: S,
    applied: AppliedIds<R>,
}

/// The state record of `kind`, decoded, and the applied ids: from the
/// journal's records, or from the previous release's whole-state document.
pub fn read<S, R>(records: &Records, kind: &str) -> Result<(S, AppliedIds<R>), String>
where
    S: DeserializeOwned,
    R: Clone + Serialize + DeserializeOwned,
{
    let decode_error = |e: serde_json::Error| format!("{kind} state: {e}");
    if let Some(bytes) = records.get(&RecordKey::new(LEGACY_KIND, "")) {
        let legacy: Legacy<S, R> = serde_json::from_slice(bytes).map_err(decode_error)?;
        return Ok((legacy.saved, legacy.applied.renumbered()));
    }
    let saved = serde_json::from_slice(state(records, kind)?).map_err(decode_error)?;
    Ok((saved, applied(records)?))
}

/// The state record of `kind` in `records`.
pub fn state<'a>(records: &'a Records, kind: &str) -> Result<&'a [u8], String> {
    records
        .get(&RecordKey::new(kind, ""))
        .map(Vec::as_slice)
        .ok_or_else(|| format!("state store: no {kind} record (another kind of node's store?)"))
}

/// The applied ids in `records`.
pub fn applied<R: Clone + Serialize + DeserializeOwned>(
    records: &Records,
) -> Result<AppliedIds<R>, String> {
    AppliedIds::from_records(DEFAULT_CAPACITY, journal::of_kind(records, APPLIED))
}
