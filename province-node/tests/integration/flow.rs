//! One assignment end to end against a fake central and a fake city, in
//! real time at 200 ms per scenario day: registration hands out the clock,
//! capacity is reported, the assignment is acknowledged, three shipments
//! are delivered and receipted, a plan is negotiated, and demobilisation
//! brings a final report with the message counts.

use crate::common::*;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::*;

const CASE: &str = "case-huangshi-1";
const ASSIGNMENT: &str = "asg-case-huangshi-1-jiangsu";

fn quantities(list: &[(&str, i64)]) -> Vec<ResourceQuantity> {
    list.iter()
        .map(|&(t, q)| ResourceQuantity {
            resource_type: t.into(),
            quantity: q,
        })
        .collect()
}

#[tokio::test]
async fn an_assignment_runs_from_acknowledgement_to_final_report() {
    let city = FakeCity::default();
    let city_endpoint = serve_city(city.clone()).await;
    let (node, central) = start_jiangsu(Some(clock())).await;
    let mut province = DonorProvinceClient::connect(node.endpoint()).await.unwrap();

    let capacity = eventually("capacity report", || {
        central.inbox.lock().unwrap().capacity.first().cloned()
    })
    .await;
    let doctors = capacity
        .pools
        .iter()
        .find(|p| p.resource_type == "personnel/doctor")
        .unwrap();
    assert_eq!(doctors.quantity, 110);

    province
        .assign(Assignment {
            header: header("central", "asg-msg-1"),
            assignment_id: ASSIGNMENT.into(),
            case_id: CASE.into(),
            recipient_city_id: "huangshi".into(),
            recipient_endpoint: city_endpoint,
            objectives: vec![],
            targets: quantities(&[("personnel/doctor", 10), ("material/mask_n95", 900)]),
            reason: "historical".into(),
        })
        .await
        .unwrap();
    let acknowledgement = eventually("acknowledgement", || {
        central
            .inbox
            .lock()
            .unwrap()
            .acknowledgements
            .first()
            .cloned()
    })
    .await;
    assert_eq!(acknowledgement.assignment_id, ASSIGNMENT);
    assert_eq!(acknowledgement.kind, AcknowledgementKind::Accepted as i32);

    let mut receipted = 0;
    while receipted < 3 {
        let shipment = eventually("a shipment", || {
            city.shipments.lock().unwrap().get(receipted).cloned()
        })
        .await;
        assert_eq!(
            shipment.shipment_id,
            format!("shp-jiangsu-{CASE}-{}", receipted + 1)
        );
        let received = shipment
            .lines
            .iter()
            .map(|l| ResourceQuantity {
                resource_type: l.resource_type.as_str().into(),
                quantity: l.quantity,
            })
            .collect();
        province
            .confirm_receipt(Receipt {
                header: header("huangshi", &format!("rcpt-msg-{receipted}")),
                receipt_id: format!("rcpt-{}", shipment.shipment_id),
                shipment_id: shipment.shipment_id.clone(),
                case_id: CASE.into(),
                received_at_ms: 1,
                received,
                discrepancies: vec![],
            })
            .await
            .unwrap();
        receipted += 1;
        if receipted == 1 {
            let update = NeedsUpdate {
                header: header("huangshi", "needs-1"),
                case_id: CASE.into(),
                situation: Some(Situation::default()),
                needs: quantities(&[("material/mask_n95", 5000)]),
            };
            let mut proposals = province
                .negotiate_plan(tokio_stream::iter(vec![update]))
                .await
                .unwrap()
                .into_inner();
            let proposal = proposals.message().await.unwrap().unwrap();
            assert_eq!(proposal.case_id, CASE);
            assert_eq!(
                proposal.next_shipment,
                quantities(&[("material/mask_n95", 300)])
            );
        }
    }

    province
        .demobilise(DemobilisationOrder {
            header: header("central", "demob-msg-1"),
            order_id: format!("demob-{ASSIGNMENT}"),
            case_id: CASE.into(),
            assignment_id: ASSIGNMENT.into(),
        })
        .await
        .unwrap();
    let last = eventually("final report", || {
        let inbox = central.inbox.lock().unwrap();
        inbox.reports.iter().find(|r| r.r#final).cloned()
    })
    .await;
    assert_eq!(last.case_id, CASE);
    assert_eq!(last.personnel_deployed, 0);
    assert_eq!(last.shipments.len(), 3);
    assert!(
        last.cost_cny >= 900 * 5,
        "goods at least: {}",
        last.cost_cny
    );
    assert_eq!(last.messages_received.get("Assignment"), Some(&1));
    assert_eq!(last.messages_received.get("Receipt"), Some(&3));
    assert_eq!(last.messages_received.get("NeedsUpdate"), Some(&1));
    assert_eq!(last.messages_received.get("DemobilisationOrder"), Some(&1));
    assert_eq!(
        city.shipments.lock().unwrap().len(),
        3,
        "nothing after the order"
    );
    node.stop().await.unwrap();
}
