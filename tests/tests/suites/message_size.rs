//! Message size bounds at the gRPC edge: a message over
//! `server::MAX_MESSAGE_BYTES` is refused by the decoder before any
//! handler runs; a message under it but with an overlong list is refused
//! by validation, naming the field. Either way the node keeps serving.

use std::time::Duration;

use counterpart_tests::cluster::{self, Cluster};
use counterpart_tests::scenario_path;
use node_kit::client;
use node_kit::server::MAX_MESSAGE_BYTES;
use pairing_proto::v1::{
    AssistanceRequest, MessageHeader, ResourceQuantity, Situation, StatusQuery,
};
use tonic::Code;

fn ask_with(lines: usize, type_len: usize) -> AssistanceRequest {
    AssistanceRequest {
        header: Some(MessageHeader {
            message_id: "m-1".into(),
            sender_id: "north".into(),
            scenario_time_ms: 0,
        }),
        situation: None,
        needs: (0..lines)
            .map(|_| ResourceQuantity {
                resource_type: "x".repeat(type_len).into(),
                quantity: 1,
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused_without_harm() {
    let cluster = Cluster::start(&scenario_path("small"), 60_000, None).await;
    let mut central = cluster
        .central_client()
        .max_encoding_message_size(usize::MAX);

    // About 5 MiB: over the bound.
    let huge = ask_with(5 * 1024, 1024);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        central.request_assistance(client::request(huge)),
    )
    .await
    .expect("refused promptly, no hang")
    .unwrap_err();
    assert!(
        matches!(err.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{err:?}"
    );
    assert!(
        err.message().contains(&MAX_MESSAGE_BYTES.to_string()),
        "{}",
        err.message()
    );

    // Under the bound but far more lines than allowed: validation names
    // the field (once north is registered and the clock runs, so nothing
    // else refuses it first).
    let started = std::time::Instant::now();
    while cluster::status(&cluster.central.endpoint())
        .await
        .clock
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "clock never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut long = ask_with(300, 8);
    long.situation = Some(Situation {
        confirmed_total: 10,
        active_cases: 10,
        ..Default::default()
    });
    let err = central
        .request_assistance(client::request(long.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(
        err.message(),
        "needs: 300 entries, more than the limit of 64",
        "{err:?}"
    );

    // Under the bound, one resource type of 3 MiB: the refusal names the
    // field without echoing the value (a status message travels in an
    // HTTP/2 header).
    let mut echo = ask_with(1, 3 * 1024 * 1024);
    echo.header.as_mut().unwrap().message_id = "m-echo".into();
    echo.situation = long.situation;
    let err = central
        .request_assistance(client::request(echo))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().starts_with("needs[0].resource_type: "),
        "{}",
        &err.message()[..err.message().len().min(200)]
    );
    assert!(err.message().len() < 1_024, "{} bytes", err.message().len());

    // Still serving.
    central
        .get_status(client::request(StatusQuery {}))
        .await
        .expect("central still answers");
    cluster.stop().await;
}
