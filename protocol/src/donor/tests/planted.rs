//! The planted bug `DonorForgetsOutboxOnRestart` (`crate::planted`): what
//! the donor owed when it stopped is sent after a restore only when the bug
//! is not planted.

use std::sync::Arc;

use counterpart_domain::journal::Records;
use pairing_proto::resource::ResourceType::*;

use super::*;
use crate::header::HeaderFactory;
use crate::outbox::Delivery;
use crate::persist::Persistent;
use crate::planted::{plant, Bug};
use crate::planted_tests::planting;

fn restore(records: &Records) -> Donor {
    Donor::restore(
        Arc::new(scenario()),
        Arc::new(HeaderFactory::new("jiangsu", BOOT + 1)),
        records,
    )
    .unwrap()
}

#[test]
fn a_shipment_in_flight_at_a_restart_is_never_sent_only_when_planted() {
    for bug in [None, Some(Bug::DonorForgetsOutboxOnRestart)] {
        let _planting = planting(bug);
        let forgets = bug.is_some();
        let mut d = assigned(&[(Doctor, 10)]);
        run(&mut d, 0.25, 1.25);
        // Handed to the courier; the process dies before the outcome.
        let first = d.on_tick(day(1.5));
        let [Outbound::Shipment { shipment, .. }] = &first[..] else {
            panic!("one shipment due at day 1.5: {first:?}");
        };
        let mut r = restore(&d.records().unwrap());
        let delivery = r.assignment(ASSIGNMENT).unwrap().shipments[0].delivery;
        assert_eq!(delivery == Delivery::Done, forgets, "{delivery:?}");
        // What the restored donor saves believes it too: a later restart,
        // bug or no bug, does not send it either.
        let saved = r.records().unwrap();
        let again = shipments(&run(&mut r, 1.5, 10.0));
        let resent = again
            .iter()
            .filter(|s| s.shipment_id == shipment.shipment_id);
        assert_eq!(resent.count(), usize::from(!forgets), "planted: {bug:?}");
        if forgets {
            plant(None);
            let mut later = restore(&saved);
            assert!(shipments(&run(&mut later, 1.5, 10.0)).is_empty());
            // The province shipped the doctors; the city never got them.
            let a = later.assignment(ASSIGNMENT).unwrap();
            assert_eq!(a.shipped().get(&Doctor), Some(&10));
            assert!(!a.all_receipted(), "its receipt can never come");
        }
    }
}

#[test]
fn an_acknowledgement_owed_at_a_restart_is_never_sent_only_when_planted() {
    for bug in [None, Some(Bug::DonorForgetsOutboxOnRestart)] {
        let _planting = planting(bug);
        let forgets = bug.is_some();
        let mut d = started();
        d.on_assignment(&assignment(&[(Doctor, 10)]), day(0.0))
            .unwrap();
        // Stopped before the tick that acknowledges the assignment.
        let mut r = restore(&d.records().unwrap());
        let sent = run(&mut r, 0.0, 5.0);
        let acks = (sent.iter())
            .filter(|(_, o)| matches!(o, Outbound::Acknowledgement(_)))
            .count();
        assert_eq!(acks, usize::from(!forgets), "planted: {bug:?}");
        // Without central's acceptance the donor never mobilises.
        assert_eq!(shipments(&sent).is_empty(), forgets, "planted: {bug:?}");
    }
}
