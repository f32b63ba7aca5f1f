//! The bounds of the `NegotiatePlan` stream, over loopback: updates per
//! stream and streams open at once.

use crate::common::*;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::*;
use province_node::service::{MAX_OPEN_STREAMS, MAX_UPDATES_PER_STREAM};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

/// Jiangsu with its clock started and assigned to huangshi's case.
async fn assigned_node() -> (
    node_kit::server::RunningNode,
    DonorProvinceClient<tonic::transport::Channel>,
) {
    let (node, _central) = start_jiangsu(None).await;
    let mut client = DonorProvinceClient::connect(node.endpoint()).await.unwrap();
    client
        .start_clock(ClockStart {
            header: header("central", "clock-1"),
            clock: Some(clock()),
        })
        .await
        .unwrap();
    client
        .assign(Assignment {
            header: header("central", "asg-msg-1"),
            assignment_id: "asg-case-huangshi-1-jiangsu".into(),
            case_id: "case-huangshi-1".into(),
            recipient_city_id: "huangshi".into(),
            recipient_endpoint: "http://127.0.0.1:9".into(),
            objectives: vec![],
            targets: vec![ResourceQuantity {
                resource_type: "personnel/doctor".into(),
                quantity: 10,
            }],
            reason: String::new(),
        })
        .await
        .unwrap();
    (node, client)
}

fn update(n: usize) -> NeedsUpdate {
    NeedsUpdate {
        header: header("huangshi", &format!("needs-{n}")),
        case_id: "case-huangshi-1".into(),
        situation: Some(Situation::default()),
        needs: vec![ResourceQuantity {
            resource_type: "personnel/doctor".into(),
            quantity: 10,
        }],
    }
}

#[tokio::test]
async fn a_stream_answers_its_bound_of_updates_then_ends() {
    let (node, mut client) = assigned_node().await;
    let updates: Vec<NeedsUpdate> = (0..MAX_UPDATES_PER_STREAM + 5).map(update).collect();
    let mut proposals = client
        .negotiate_plan(tokio_stream::iter(updates))
        .await
        .unwrap()
        .into_inner();
    let mut answered = 0;
    let err = loop {
        match proposals.message().await {
            Ok(Some(_)) => answered += 1,
            Ok(None) => panic!("the stream ended without a refusal after {answered}"),
            Err(status) => break status,
        }
    };
    assert_eq!(answered, MAX_UPDATES_PER_STREAM);
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().starts_with("needs updates"),
        "{}",
        err.message()
    );
    node.stop().await.unwrap();
}

#[tokio::test]
async fn streams_open_at_once_are_bounded() {
    let (node, client) = assigned_node().await;
    let mut open = Vec::new();
    for _ in 0..MAX_OPEN_STREAMS {
        // A city that keeps its side open and sends nothing yet.
        let (keep_open, updates) = tokio::sync::mpsc::channel::<NeedsUpdate>(1);
        let response = client
            .clone()
            .negotiate_plan(ReceiverStream::new(updates))
            .await
            .unwrap();
        open.push((keep_open, response));
    }
    let (_keep_open, updates) = tokio::sync::mpsc::channel::<NeedsUpdate>(1);
    let err = client
        .clone()
        .negotiate_plan(ReceiverStream::new(updates))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // The open streams still work.
    let (keep_open, response) = open.pop().unwrap();
    keep_open.send(update(0)).await.unwrap();
    let proposal = response.into_inner().message().await.unwrap();
    assert!(proposal.is_some());
    node.stop().await.unwrap();
}
