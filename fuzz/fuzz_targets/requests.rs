//! Arbitrary bytes as every request type of the three services, decoded
//! and handed to the state machines (see tests/src/wire.rs): no input may
//! panic a node.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/src/wire.rs"]
mod wire;

fn machines() -> &'static Mutex<wire::Machines> {
    static MACHINES: OnceLock<Mutex<wire::Machines>> = OnceLock::new();
    MACHINES.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/scenarios/small.toml");
        let scenario = counterpart_domain::scenario::load(std::path::Path::new(path))
            .expect("small scenario loads");
        Mutex::new(wire::Machines::new(Arc::new(scenario)))
    })
}

fuzz_target!(|data: &[u8]| {
    // One set of machines for the whole run, so a message can meet the
    // state an earlier one left (a panic aborts the run anyway).
    let mut m = machines().lock().unwrap_or_else(|p| p.into_inner());
    wire::apply(&mut m, data);
});
