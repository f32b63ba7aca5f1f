//! The fuzz target's entry point (`counterpart_tests::wire::apply`) under
//! proptest, so CI covers it without a nightly toolchain: random bytes, and
//! random bytes after a valid message prefix, as each request type.

use std::sync::Arc;

use counterpart_domain::scenario;
use counterpart_tests::scenario_path;
use counterpart_tests::wire::{apply, Machines, KINDS};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_as_every_request(
        kind in 0..KINDS as u8,
        messages in vec(vec(any::<u8>(), 0..256), 1..6),
    ) {
        let s = Arc::new(scenario::load(&scenario_path("small")).unwrap());
        let mut machines = Machines::new(s);
        for body in messages {
            let mut bytes = vec![kind];
            bytes.extend(body);
            apply(&mut machines, &bytes);
        }
    }
}
