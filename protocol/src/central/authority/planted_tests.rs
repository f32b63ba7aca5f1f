//! The planted bug `CentralClosesBeforeLastReceipt` (`crate::planted`): a
//! case closes while a shipment is still in transit only when the bug is
//! planted; otherwise it closes after demobilisation, the donors' final
//! reports and the last receipt.

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{DemobilisationRequest, Situation};

use super::outbound::{Message, ToCity};
use super::tests::{acknowledge, at, header, paired, receipt_report, shipment_report};
use crate::central::case::CaseStage;
use crate::planted::Bug;
use crate::planted_tests::planting;

const CASE: &str = "case-south-1";

#[test]
fn a_case_closes_with_goods_in_transit_only_when_planted() {
    for bug in [None, Some(Bug::CentralClosesBeforeLastReceipt)] {
        let _planting = planting(bug);
        let early = bug.is_some();
        let (mut a, _) = paired();
        acknowledge(&mut a, "alpha", "asg-case-south-1-alpha", at(3.3)).unwrap();
        let shipped = shipment_report("alpha", CASE, "shp-1", 5, at(5.0), false);
        a.submit_report(&shipped, at(5.0)).unwrap();
        let closures = (a.on_tick(at(5.0)).into_iter())
            .filter(|o| matches!(o.message, Message::City(ToCity::Closure(_))))
            .count();
        let in_transit = a.ledger().progress(CASE, "alpha", 0.0).in_transit;
        assert_eq!(in_transit.of(ResourceType::Doctor), 5, "not receipted");
        assert_eq!(closures, usize::from(early), "planted: {bug:?}");
        let stage = a.cases.get(CASE).unwrap().stage;
        if early {
            assert_eq!(stage, CaseStage::Closed, "closed with goods in transit");
            continue;
        }
        assert_eq!(stage, CaseStage::Implementing);
        // Without the bug: demobilisation, the final report, and only then
        // (with the receipt in) the closure.
        let demob = DemobilisationRequest {
            header: header("south", at(20.0)),
            case_id: CASE.into(),
            situation: Some(Situation::default()),
        };
        a.request_demobilisation(&demob, at(20.0)).unwrap();
        a.on_tick(at(20.0));
        let last = shipment_report("alpha", CASE, "shp-1", 5, at(21.0), true);
        a.submit_report(&last, at(21.0)).unwrap();
        a.on_tick(at(21.0));
        assert_eq!(a.cases.get(CASE).unwrap().stage, CaseStage::Demobilising);
        let receipt = receipt_report("south", CASE, "shp-1", 5, at(21.5));
        a.submit_report(&receipt, at(21.5)).unwrap();
        a.on_tick(at(22.0));
        assert_eq!(a.cases.get(CASE).unwrap().stage, CaseStage::Closed);
    }
}
