//! One case, one trace, across processes: the small scenario runs as real
//! child processes (`pairctl up --otlp`) exporting spans to an OTLP receiver
//! of our own inside this test; the checker's rules must hold on what
//! arrived, and two deliberately broken flows must be caught.

use std::collections::BTreeSet;
use std::time::Duration;

use counterpart_tests::scenario_path;
use pairctl::traces::check::{check, Rule};
use pairctl::traces::model::Span;
use pairctl::traces::otlp::Receiver;

/// Runs the small scenario against `receiver`; returns the spans received.
async fn traced_run(receiver: &Receiver) -> Vec<Span> {
    let dir = std::env::temp_dir().join(format!("counterpart-traces-{}", std::process::id()));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args([
            "up",
            "--day-ms",
            "150",
            "--otlp",
            &receiver.endpoint(),
            "--scenario",
        ])
        .arg(scenario_path("small"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .await
        .expect("pairctl runs");
    assert!(
        output.status.success(),
        "pairctl up failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    // Every node flushes its spans as it stops; wait for the last export.
    receiver
        .wait_quiet(Duration::from_secs(2), Duration::from_secs(30))
        .await
}

fn case_spans<'a>(spans: &'a [Span], case_id: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.case_id() == Some(case_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_is_one_legal_trace_across_processes() {
    let receiver = Receiver::start("127.0.0.1:0")
        .await
        .expect("receiver starts");
    let spans = traced_run(&receiver).await;
    assert_eq!(receiver.dropped_spans(), 0);
    let report = check(&spans);
    let violations: Vec<String> = report
        .violations
        .iter()
        .map(|v| format!("{} {} {}: {}", v.case_id, v.span_name, v.rule, v.message))
        .collect();
    assert!(
        report.is_clean(),
        "checker found:\n  {}",
        violations.join("\n  ")
    );

    // The paired cases span city, central and every donor.
    let north = report
        .cases
        .iter()
        .find(|c| c.case_id == "case-north-1")
        .expect("north's case traced");
    let services: BTreeSet<&str> = north.services.iter().map(String::as_str).collect();
    for s in ["central", "city-north", "province-alpha", "province-beta"] {
        assert!(
            services.contains(s),
            "{s} missing from north's trace: {services:?}"
        );
    }
    // What users search by is there: names, stages, quantities, errors.
    let north_spans = case_spans(&spans, "case-north-1");
    let names: BTreeSet<&str> = north_spans.iter().map(|s| s.name.as_str()).collect();
    for name in [
        "city.request",
        "central.assess",
        "central.assign",
        "province.assignment",
        "province.acknowledge",
        "province.ship",
        "city.shipment",
        "city.receipt",
        "province.receipt",
        "central.report",
        "central.evaluate",
        "central.demobilise",
        "central.close",
    ] {
        assert!(
            names.contains(name),
            "no {name} span in north's trace: {names:?}"
        );
    }
    let ship = north_spans
        .iter()
        .find(|s| s.name == "province.ship")
        .unwrap();
    assert!(ship.attribute("pairing.shipment_id").is_some(), "{ship:?}");
    assert!(
        ship.attributes
            .keys()
            .any(|k| k.starts_with("pairing.qty.")),
        "{ship:?}"
    );
    let west = case_spans(&spans, "case-west-1");
    assert!(
        west.iter().any(|s| s.name == "central.assess" && s.error),
        "west's rejection is not an error span"
    );
    receiver.stop().await;

    // Broken flow 1: a shipment moved before its donor's acknowledgement.
    let mut reordered = spans.clone();
    let acked_ns = spans
        .iter()
        .filter(|s| s.case_id() == Some("case-north-1") && s.name == "central.acknowledgement")
        .map(|s| s.start_unix_ns)
        .min()
        .unwrap();
    let moved = reordered
        .iter_mut()
        .find(|s| s.case_id() == Some("case-north-1") && s.name == "province.ship")
        .unwrap();
    moved.start_unix_ns = acked_ns - 1_000_000;
    let moved_id = moved.span_id.clone();
    let caught = check(&reordered);
    assert!(
        caught
            .violations
            .iter()
            .any(|v| v.rule == Rule::Order && v.case_id == "case-north-1" && v.span_id == moved_id),
        "{:?}",
        caught.violations
    );

    // Broken flow 2: a city that does not extract the caller's context puts
    // its shipment span in a trace of its own.
    let mut split = spans.clone();
    let orphan = split
        .iter_mut()
        .find(|s| s.case_id() == Some("case-north-1") && s.name == "city.shipment")
        .unwrap();
    orphan.trace_id = "f".repeat(32);
    orphan.parent_span_id = None;
    let orphan_id = orphan.span_id.clone();
    let caught = check(&split);
    assert!(
        caught
            .violations
            .iter()
            .any(|v| v.case_id == "case-north-1" && v.span_id == orphan_id),
        "{:?}",
        caught.violations
    );
}
