//! The fuzz target's entry point (`counterpart_tests::wire::apply`) under
//! test, so CI covers it without a nightly toolchain: random bytes as each
//! request type (proptest), and valid messages whose bytes after a valid
//! prefix (the header) are mutated, so that many inputs still decode and
//! reach the state machines' checks. Those must be refused with a code
//! meant for bad input, or applied; a valid message with an unknown field
//! appended must get the answer the message gets alone.

use std::sync::Arc;

use counterpart_domain::clock::DAY_MS;
use counterpart_domain::scenario::{self, Scenario};
use counterpart_protocol::catalog;
use counterpart_tests::scenario_path;
use counterpart_tests::wire::{apply, kind_byte, Machines, Outcome, KINDS};
use pairing_proto::v1::{
    AssistanceRequest, CapacityReport, MessageHeader, Receipt, ResourceQuantity, Shipment,
    Situation,
};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn small() -> Arc<Scenario> {
    Arc::new(scenario::load(&scenario_path("small")).unwrap())
}

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
        let mut machines = Machines::new(small());
        for body in messages {
            let mut bytes = vec![kind];
            bytes.extend(body);
            apply(&mut machines, &bytes);
        }
    }
}

fn header(sender: &str, id: &str) -> Option<MessageHeader> {
    Some(MessageHeader {
        message_id: format!("{sender}-wire-{id}"),
        sender_id: sender.into(),
        scenario_time_ms: DAY_MS,
    })
}

fn doctors(quantity: i64) -> Vec<ResourceQuantity> {
    vec![ResourceQuantity {
        resource_type: "personnel/doctor".into(),
        quantity,
    }]
}

/// Valid messages of four request types, each as `apply` takes it (the
/// kind byte first), with the length of its valid prefix: the kind byte
/// and the encoded header, the message's first field.
fn valid_messages(n: usize) -> Vec<(Vec<u8>, usize)> {
    let id = n.to_string();
    let request = AssistanceRequest {
        header: header("north", &id),
        situation: Some(Situation {
            confirmed_total: 900,
            active_cases: 800,
            severe: 60,
            critical: 20,
            beds: 400,
            local_doctors: 40,
            local_nurses: 80,
            new_cases_today: 30,
            ..Default::default()
        }),
        needs: doctors(100),
    };
    let capacity = CapacityReport {
        header: header("alpha", &id),
        pools: vec![],
        outbreak_level: 0,
    };
    let receipt = Receipt {
        header: header("north", &id),
        ..Default::default()
    };
    let shipment = Shipment {
        header: header("alpha", &id),
        ..Default::default()
    };
    let with_kind = |kind: u8, body: Vec<u8>, header: &Option<MessageHeader>| {
        let prefix = 1 + header.as_ref().map_or(0, |h| {
            let len = h.encoded_len();
            1 + prost::encoding::encoded_len_varint(len as u64) + len
        });
        let mut bytes = vec![kind];
        bytes.extend(body);
        (bytes, prefix)
    };
    vec![
        with_kind(
            kind_byte(&catalog::ASSISTANCE_REQUEST),
            request.encode_to_vec(),
            &request.header,
        ),
        with_kind(
            kind_byte(&catalog::CAPACITY_REPORT),
            capacity.encode_to_vec(),
            &capacity.header,
        ),
        with_kind(
            kind_byte(&catalog::RECEIPT),
            receipt.encode_to_vec(),
            &receipt.header,
        ),
        with_kind(
            kind_byte(&catalog::SHIPMENT),
            shipment.encode_to_vec(),
            &shipment.header,
        ),
    ]
}

/// An unknown field (number 999, a varint): a newer sender's addition.
const UNKNOWN_FIELD: [u8; 3] = [0xb8, 0x3e, 0x2a];

/// Every kind of the catalog reaches a machine: an empty body decodes as
/// the kind's default message, which its receiver must refuse or apply.
#[test]
fn every_catalog_kind_reaches_its_machine() {
    for kind in 0..KINDS as u8 {
        let outcome = apply(&mut Machines::new(small()), &[kind]);
        assert_ne!(outcome, Outcome::Undecoded, "kind {kind}");
    }
}

#[test]
fn an_unknown_field_after_a_valid_message_changes_nothing() {
    let s = small();
    for (bytes, _) in valid_messages(0) {
        let alone = apply(&mut Machines::new(s.clone()), &bytes);
        let mut extended = bytes.clone();
        extended.extend(UNKNOWN_FIELD);
        let with_field = apply(&mut Machines::new(s.clone()), &extended);
        assert_ne!(alone, Outcome::Undecoded, "kind {}", bytes[0]);
        assert_eq!(alone, with_field, "kind {}", bytes[0]);
    }
    // The request from north is applied; a receipt and a shipment of no
    // case are refused.
    let outcomes: Vec<Outcome> = valid_messages(1)
        .into_iter()
        .map(|(bytes, _)| apply(&mut Machines::new(s.clone()), &bytes))
        .collect();
    assert_eq!(outcomes[0], Outcome::Applied, "{outcomes:?}");
    assert!(
        matches!(outcomes[2], Outcome::Refused(_)) && matches!(outcomes[3], Outcome::Refused(_)),
        "{outcomes:?}"
    );
}

/// The bytes after `prefix` changed: a few flipped, the rest cut short,
/// random bytes appended, or a well-formed varint field of a random number
/// appended (which decodes whenever its number is unknown or a varint
/// field's, overriding that field).
fn mutate(rng: &mut StdRng, bytes: &[u8], prefix: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.random_range(0..4) {
        3 => {
            let number: u32 = rng.random_range(1..16);
            prost::encoding::encode_varint(u64::from(number << 3), &mut out);
            prost::encoding::encode_varint(rng.random_range(0..1_000u64), &mut out);
        }
        0 if out.len() > prefix => {
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(prefix..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
        }
        1 if out.len() > prefix => out.truncate(rng.random_range(prefix..out.len())),
        _ => out.extend((0..rng.random_range(1..8)).map(|_| rng.random::<u8>())),
    }
    out
}

#[test]
fn bytes_mutated_after_a_valid_prefix_are_refused_or_applied() {
    let s = small();
    let mut rng = StdRng::seed_from_u64(20_200_210);
    let mut machines = Machines::new(s.clone());
    let (mut undecoded, mut applied, mut refused) = (0, 0, 0);
    for n in 0..600 {
        if n % 50 == 0 {
            machines = Machines::new(s.clone());
        }
        let messages = valid_messages(n);
        let (bytes, prefix) = &messages[n % messages.len()];
        // `apply` asserts a refusal carries a code for bad input and a
        // message, and that nothing panics.
        match apply(&mut machines, &mutate(&mut rng, bytes, *prefix)) {
            Outcome::Undecoded => undecoded += 1,
            Outcome::Applied => applied += 1,
            Outcome::Refused(_) => refused += 1,
        }
    }
    println!("mutated inputs: {undecoded} undecoded, {applied} applied, {refused} refused");
    assert!(applied > 0, "no mutated input was applied");
    assert!(refused > 0, "no mutated input was refused");
    assert!(undecoded > 0, "every mutation decoded: nothing was mutated");
}
