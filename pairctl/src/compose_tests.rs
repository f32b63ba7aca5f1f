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

/// Each service's lines, by service name (the top-level `services:`
/// section only).
fn services(file: &str) -> BTreeMap<String, String> {
    let mut blocks = BTreeMap::<String, String>::new();
    let mut current = None;
    let section = file
        .lines()
        .skip_while(|l| *l != "services:")
        .skip(1)
        .take_while(|l| l.starts_with(' '));
    for line in section {
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
        1 + scenario.provinces.len() + scenario.cities.len() + 4
    );
    for name in [
        "certs",
        "central",
        "province-alpha",
        "province-beta",
        "city-north",
        "jaeger",
        "otlp-sink",
        "dashboard",
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
        "certs:\n        condition: service_completed_successfully",
        "\"/pairctl\", \"probe\"",
        "restart: \"on-failure:5\"",
    ] {
        assert!(alpha.contains(line), "missing {line} in\n{alpha}");
    }
}

#[test]
fn each_node_mounts_its_own_certificate_volume_only_and_probes_over_tls() {
    let file = small_file();
    for (service, id) in [
        ("central", "central"),
        ("province-alpha", "alpha"),
        ("city-north", "north"),
    ] {
        let node = block(&file, service);
        for line in [
            format!("- \"certs-{service}:/certs:ro\""),
            format!("\"--tls-dir\", \"/certs\", \"--tls-id\", \"{id}\"]"),
            "PAIRING_TLS_DIR: \"/certs\"".to_string(),
            "certs:\n        condition: service_completed_successfully".to_string(),
        ] {
            assert!(node.contains(&line), "missing {line} in\n{node}");
        }
        let mounts = node
            .lines()
            .filter(|l| l.trim_start().starts_with("- \""))
            .count();
        let published = node.matches(":50051:50051").count();
        assert_eq!(mounts - published, 1, "one volume only in\n{node}");
        assert!(!node.contains("certs-ca"), "a node mounts the CA's volume");
    }
    assert!(
        !file.contains("http://central"),
        "a node calls central in clear"
    );
}

#[test]
fn the_certs_service_fills_every_nodes_volume_as_root_without_network() {
    let file = small_file();
    let certs = block(&file, "certs");
    for line in [
        "command: [\"/pairctl\", \"certs\", \"--scenario\", \"/scenarios/small.toml\", \"--out\", \"/ca\", \"--node-dirs\", \"/nodes\", \"--owner\", \"65534:65534\"]",
        "user: \"0:0\"",
        "network_mode: \"none\"",
        "- \"certs-ca:/ca\"",
        "- \"certs-central:/nodes/central\"",
        "- \"certs-province-alpha:/nodes/province-alpha\"",
        "- \"certs-city-north:/nodes/city-north\"",
        "- \"certs-dashboard:/nodes/dashboard\"",
    ] {
        assert!(certs.contains(line), "missing {line} in\n{certs}");
    }
    assert!(!certs.contains("restart:"), "a one-shot service restarts");
    assert!(!certs.contains("healthcheck:"));
    // Every volume is declared, so `down -v` removes it.
    let (scenario, _) = small();
    let declared = file
        .split("\nvolumes:\n")
        .nth(1)
        .expect("a volumes section");
    // The CA's, central's, each province's and city's, the dashboard's.
    assert_eq!(
        declared.lines().count(),
        3 + scenario.provinces.len() + scenario.cities.len(),
        "{declared}"
    );
    assert!(declared.contains("  certs-ca:\n") && declared.contains("  certs-city-north:\n"));
}

#[test]
fn only_central_publishes_a_port_and_on_loopback() {
    let file = small_file();
    let central = block(&file, "central");
    assert!(central.contains("\"127.0.0.1:50051:50051\""), "{central}");
    assert!(central.contains("PAIRING_DAY_MS: \"${PAIRING_DAY_MS:-200}\""));
    assert!(
        !central.contains("service_healthy"),
        "central waits for no other node"
    );
    assert!(central.contains("healthcheck:"));
    let published = file.lines().filter(|l| l.contains(":50051:")).count();
    assert_eq!(published, 1);
    assert!(
        !file.contains("0.0.0.0:16686"),
        "Jaeger's UI stays on loopback"
    );
}

#[test]
fn the_dashboard_follows_central_as_the_operator_on_loopback() {
    let file = small_file();
    let dashboard = block(&file, "dashboard");
    for expected in [
        "\"--central\", \"https://central:50051\"",
        "\"--tls-id\", \"operator\"",
        "- \"certs-dashboard:/certs:ro\"",
        "- \"127.0.0.1:8080:8080\"",
        "central:\n        condition: service_healthy",
    ] {
        assert!(
            dashboard.contains(expected),
            "{expected} missing:\n{dashboard}"
        );
    }
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
