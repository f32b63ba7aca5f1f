//! Unit tests of the recipient machine: times and messages in, messages out.
//! The fixtures they share with city-node's tests are in `super::testing`.

mod demobilisation;
mod disputes;
mod persist;
// The planted bug of the city's duplicate checks (`crate::planted`).
#[cfg(feature = "planted-bugs")]
mod planted;
mod reporting;
mod requests;
mod shipments;

use std::sync::Arc;

use counterpart_domain::clock::ScenarioTime;
use counterpart_domain::scenario::Scenario;
use pairing_proto::v1::ManifestLine;

pub use super::testing::*;
use super::{Failure, Outbound, Recipient, Sent};
use crate::header::HeaderFactory;

/// A tick that says it changed nothing left the saved state as it was, so
/// the driver may skip saving it (`Changing::release_unchanged`).
#[test]
fn a_tick_that_reports_no_change_changed_nothing_durable() {
    let state = |m: &Recipient| {
        serde_json::from_slice::<serde_json::Value>(&m.state_bytes().unwrap()).unwrap()
    };
    let mut m = started();
    open_case(&mut m);
    let (mut quiet, mut busy) = (0, 0);
    for h in 0..24 * 40 {
        let before = state(&m);
        let out = m.on_tick(hours(h));
        if m.last_tick_changed() {
            busy += 1;
        } else {
            assert!(out.is_empty());
            assert!(
                state(&m) == before,
                "tick at hour {h} changed the state unannounced"
            );
            quiet += 1;
        }
    }
    assert!(quiet > 0 && busy > 0, "quiet {quiet}, busy {busy}");
}
