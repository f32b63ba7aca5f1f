//! Tests of the compose file generator (`compose.rs`).

use super::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn small() -> (Scenario, PathBuf) {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/scenarios/small.toml"
    ));
    (counterpart_domain::scenario::load(&path).unwrap(), path)
}

fn small_file() -> String {
    let (scenario, path) = small();
    render(&ComposePlan::from_scenario(&scenario, &path, 200).unwrap())
}

/// Each service's lines, by service name.
fn services(file: &str) -> BTreeMap<String, String> {
    let mut blocks = BTreeMap::<String, String>::new();
    let mut current = None;
    for line in file.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            current = Some(line.trim().trim_end_matches(':').to_string());
        }
        if let Some(name) = &current {
            let block = blocks.entry(name.clone()).or_default();
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

fn block(file: &str, name: &str) -> String {
    services(file)
        .remove(name)
        .unwrap_or_else(|| panic!("no service {name} in\n{file}"))
}

#[test]
fn every_node_of_the_scenario_is_a_service() {
    let file = small_file();
    let names: Vec<String> = services(&file).into_keys().collect();
    let (scenario, _) = small();
    assert_eq!(
        names.len(),
        1 + scenario.provinces.len() + scenario.cities.len() + 2
    );
    for name in [
        "central",
        "province-alpha",
        "province-beta",
        "city-north",
        "jaeger",
        "otlp-sink",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
}

#[test]
fn a_province_advertises_its_service_name_and_waits_for_central() {
    let file = small_file();
    let alpha = block(&file, "province-alpha");
    for line in [
        "command: [\"/province-node\"]",
        "PAIRING_NODE_ID: \"alpha\"",
        "PAIRING_CENTRAL: \"https://central:50051\"",
        "PAIRING_LISTEN: \"0.0.0.0:50051\"",
        "PAIRING_ADVERTISE: \"https://province-alpha:50051\"",
        "PAIRING_TLS_DIR: \"/certs\"",
        "OTEL_SERVICE_NAME: \"province-alpha\"",
        "OTEL_EXPORTER_OTLP_ENDPOINT: \"${OTLP_ENDPOINT-http://jaeger:4317}\"",
        "PAIRING_SCENARIO: \"/scenarios/small.toml\"",
        "condition: service_healthy",
        "\"/pairctl\", \"probe\"",
        "restart: \"on-failure:5\"",
    ] {
        assert!(alpha.contains(line), "missing {line} in\n{alpha}");
    }
}

#[test]
fn each_node_mounts_the_ca_and_only_its_own_key_and_probes_over_tls() {
    let file = small_file();
    for (service, id) in [
        ("central", "central"),
        ("province-alpha", "alpha"),
        ("city-north", "north"),
    ] {
        let node = block(&file, service);
        for line in [
            "- \"./certs/ca.pem:/certs/ca.pem:ro\"".to_string(),
            format!("- \"./certs/{id}.pem:/certs/{id}.pem:ro\""),
            format!("- \"./certs/{id}.key:/certs/{id}.key:ro\""),
            format!("\"--tls-dir\", \"/certs\", \"--tls-id\", \"{id}\"]"),
            "PAIRING_TLS_DIR: \"/certs\"".to_string(),
        ] {
            assert!(node.contains(&line), "missing {line} in\n{node}");
        }
        let keys = node.lines().filter(|l| l.contains(".key")).count();
        assert_eq!(keys, 1, "one key only in\n{node}");
    }
    assert!(!file.contains("ca.key"), "the CA's key stays on the host");
    assert!(
        !file.contains("http://central"),
        "a node calls central in clear"
    );
}

#[test]
fn only_central_publishes_a_port_and_on_loopback() {
    let file = small_file();
    let central = block(&file, "central");
    assert!(central.contains("\"127.0.0.1:50051:50051\""), "{central}");
    assert!(central.contains("PAIRING_DAY_MS: \"${PAIRING_DAY_MS:-200}\""));
    assert!(!central.contains("depends_on"), "central waits for nobody");
    assert!(central.contains("healthcheck:"));
    let published = file.lines().filter(|l| l.contains(":50051:")).count();
    assert_eq!(published, 1);
    assert!(
        !file.contains("0.0.0.0:16686"),
        "Jaeger's UI stays on loopback"
    );
}

#[test]
fn the_trace_receivers_are_optional_and_nobody_depends_on_them() {
    let file = small_file();
    assert!(block(&file, "jaeger").contains("profiles: [\"jaeger\"]"));
    assert!(block(&file, "otlp-sink").contains("profiles: [\"otlp-sink\"]"));
    assert!(
        !file.contains("      jaeger:\n"),
        "a node depends on jaeger"
    );
    assert!(
        !file.contains("      otlp-sink:\n"),
        "a node depends on the sink"
    );
}

#[test]
fn the_sink_listens_where_otlp_endpoint_can_point() {
    // README: OTLP_ENDPOINT=http://otlp-sink:4317 sends the spans to it.
    let file = small_file();
    let sink = block(&file, "otlp-sink");
    assert!(
        sink.contains("\"otlp-sink\", \"--listen\", \"0.0.0.0:4317\""),
        "{sink}"
    );
    assert!(
        sink.contains(&format!("\"--out\", \"{SPANS_FILE}\"")),
        "{sink}"
    );
}

#[test]
fn an_id_that_cannot_be_a_host_name_is_refused() {
    let (mut scenario, path) = small();
    scenario.cities[1].id = "North_2".into();
    let err = ComposePlan::from_scenario(&scenario, &path, 200).unwrap_err();
    assert!(err.starts_with("cities[1].id: \"North_2\""), "{err}");
    assert!(dns_label("-a").is_err() && dns_label("").is_err());
    assert!(dns_label("enshi-2").is_ok());
}

#[test]
fn a_scenario_file_name_that_needs_quoting_is_refused() {
    let (scenario, _) = small();
    let err = ComposePlan::from_scenario(&scenario, Path::new("/x/my \"s\".toml"), 200);
    assert!(err.unwrap_err().starts_with("scenario file name"));
}
