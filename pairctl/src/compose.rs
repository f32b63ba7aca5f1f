//! The compose file of a scenario, rendered by hand: central, one service
//! per province and per city, the live dashboard, Jaeger, and the
//! project's own OTLP receiver for where Jaeger cannot be pulled. The 36 node blocks of hubei-2020
//! differ only in role and id, so they are generated rather than written;
//! the output is deterministic (scenario order, fixed layout), so the
//! committed `deploy/docker-compose.yml` is checked against it.
//!
//! A fixed shape needs no YAML library. Every value written is either a
//! constant of this module or an id checked by [`dns_label`], so nothing
//! needs escaping. The file keeps to what both Docker Compose v2 and
//! Debian's docker-compose 1.29 accept: no `version`, no top-level `name`,
//! `profiles`, `healthcheck` with `start_period`,
//! `depends_on: condition: service_healthy` and
//! `service_completed_successfully` (docker-compose 1.29.0 and later),
//! short-syntax volumes, named volumes.
//!
//! Every node runs over mutual TLS: it serves and calls `https://`, and its
//! health probe presents its own certificate. The certificates need no
//! step on the host: the one-shot service [`CERTS_SERVICE`] (the same
//! image, `pairctl certs --node-dirs`) makes them the first time into one
//! named volume per node, and every node waits for it to complete. A node
//! mounts its own volume only, so its container holds no other node's key;
//! the CA's key is in a volume of its own that only the `certs` service
//! mounts. `docker compose down -v` removes them; otherwise the next `up`
//! reuses them.

use std::fmt::Write as _;
use std::path::Path;

use central::authority::{DEFAULT_SEED, DEFAULT_STEP_MINUTES};
use counterpart_domain::scenario::Scenario;

use crate::certs::node_dirs::DASHBOARD_HOME;
use crate::cli::NodeRole;
use crate::plan::CENTRAL_ID;

/// The node image; `COUNTERPART_IMAGE` picks another tag.
pub const NODE_IMAGE: &str = "${COUNTERPART_IMAGE:-counterpart:dev}";
/// Jaeger 2.x all-in-one: OTLP gRPC on 4317, UI on 16686.
pub const JAEGER_IMAGE: &str = "jaegertracing/jaeger:2.6.0";
/// The compose profile that starts Jaeger. Nodes do not depend on it, so
/// the cluster runs without it where the image cannot be pulled.
pub const JAEGER_PROFILE: &str = "jaeger";
/// Where the nodes send spans. Unset: Jaeger; set: that endpoint; set
/// empty (`OTLP_ENDPOINT=`): no export at all (`-` rather than `:-`, so
/// an empty value is kept).
pub const OTLP_ENDPOINT: &str = "${OTLP_ENDPOINT-http://jaeger:4317}";
/// The compose profile that starts the project's own OTLP receiver
/// (`pairctl otlp-sink`) as service `otlp-sink`, for machines that cannot
/// pull Jaeger: `OTLP_ENDPOINT=http://otlp-sink:4317`.
pub const SINK_PROFILE: &str = "otlp-sink";
/// Where each node keeps its durable state inside its container (the image
/// creates it, owned by the nodes' user): a container restarted by the
/// restart policy resumes its run from it.
pub const DATA_DIR: &str = "/data";
/// Where the sink writes the spans when stopped; the image makes the
/// directory writable by the containers' user.
pub const SPANS_FILE: &str = "/spans/spans.json";
/// Every node listens on this port in its own container.
pub const NODE_PORT: u16 = 50051;
/// Where the image keeps the scenario files.
pub const SCENARIO_DIR: &str = "/scenarios";
/// Where a node sees its own certificate volume: the CA certificate, its
/// own certificate and key (central's also the operator's), never another
/// node's key nor the CA's. Central's `PAIRING_TLS_DIR` names it, so
/// `pairctl` run in central's container presents the operator's
/// certificate without a flag.
pub const CERTS_IN_CONTAINER: &str = "/certs";
/// The one-shot service that makes the certificates, and the volume of the
/// CA (certificate and key), mounted by that service alone.
pub const CERTS_SERVICE: &str = "certs";
pub const CA_VOLUME: &str = "certs-ca";
/// Where the `certs` service sees the CA's volume and every node's.
pub const CA_IN_CERTS: &str = "/ca";
pub const NODES_IN_CERTS: &str = "/nodes";
/// The user the node image runs as (deploy/Dockerfile's `USER`): the
/// `certs` service, which runs as root to be allowed to, gives each node's
/// files to it, so that the key is readable by the node alone (0600).
pub const NODE_USER: &str = "65534:65534";
/// Health probe period. Docker 20.10 runs the first probe one interval
/// after start, and provinces and cities wait for central's, so start-up
/// takes about two intervals; each probe is a process in the container,
/// so a shorter period costs CPU across 36 containers.
pub const HEALTH_INTERVAL_S: u32 = 2;
/// The dashboard's port, published on loopback like central's.
pub const DASHBOARD_PORT: u16 = 8080;
/// Where the dashboard's trace links point: Jaeger's UI as published
/// below, unless `JAEGER_URL` says otherwise.
pub const DASHBOARD_JAEGER_URL: &str = "${JAEGER_URL:-http://127.0.0.1:16686}";
/// Restarts after a crash, bounded: a node that cannot load its scenario
/// would otherwise restart for ever. A restarted node registers again.
pub const RESTART_POLICY: &str = "on-failure:5";

/// What the compose file is made from: the scenario's file name (as found
/// in the image), its nodes, and the clock speed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposePlan {
    pub scenario_name: String,
    pub scenario_file: String,
    pub day_ms: i64,
    pub provinces: Vec<String>,
    pub cities: Vec<String>,
}

impl ComposePlan {
    /// The plan for `scenario`, read from `path`. Refuses a file name or a
    /// node id that cannot be a path in the image or a DNS name (service
    /// names are the nodes' host names).
    pub fn from_scenario(scenario: &Scenario, path: &Path, day_ms: i64) -> Result<Self, String> {
        let scenario_file = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            })
            .filter(|n| !n.starts_with('.'))
            .ok_or_else(|| {
                format!(
                    "scenario file name {:?}: use letters, digits, '.', '_' and '-'",
                    path.display()
                )
            })?
            .to_string();
        counterpart_domain::clock::checked_day_ms("day_ms", day_ms)?;
        let ids = |field: &str, ids: Vec<&str>| -> Result<Vec<String>, String> {
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| dns_label(id).map_err(|e| format!("{field}[{i}].id: {e}")))
                .collect()
        };
        Ok(ComposePlan {
            scenario_name: scenario.name.clone(),
            scenario_file,
            day_ms,
            provinces: ids(
                "provinces",
                scenario.provinces.iter().map(|p| p.id.as_str()).collect(),
            )?,
            cities: ids(
                "cities",
                scenario.cities.iter().map(|c| c.id.as_str()).collect(),
            )?,
        })
    }

    fn scenario_in_image(&self) -> String {
        format!("{SCENARIO_DIR}/{}", self.scenario_file)
    }
}

/// `id` if it can be part of a DNS label: lowercase letters, digits and
/// inner hyphens, short enough for `province-` in front.
pub fn dns_label(id: &str) -> Result<String, String> {
    let fits = !id.is_empty()
        && id.len() <= 50
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if fits {
        Ok(id.to_string())
    } else {
        Err(format!(
            "{id:?} cannot be a host name: use 1 to 50 lowercase letters, digits and inner '-'"
        ))
    }
}

/// The compose service (and host name, and OTel service name) of a node.
pub fn service_name(role: NodeRole, id: &str) -> String {
    match role {
        NodeRole::Central => CENTRAL_ID.to_string(),
        NodeRole::Province => format!("province-{id}"),
        NodeRole::City => format!("city-{id}"),
    }
}

/// The named volume that holds the certificates of the node run by
/// compose service `service`.
pub fn certs_volume(service: &str) -> String {
    format!("certs-{service}")
}

/// The binary in the image that runs `role`.
pub fn binary(role: NodeRole) -> &'static str {
    match role {
        NodeRole::Central => "/central",
        NodeRole::Province => "/province-node",
        NodeRole::City => "/city-node",
    }
}

/// The whole compose file.
pub fn render(plan: &ComposePlan) -> String {
    let mut out = String::new();
    header(&mut out, plan);
    out.push_str("services:\n");
    certs_service(&mut out, plan);
    central_service(&mut out, plan);
    for id in &plan.provinces {
        node_service(&mut out, plan, NodeRole::Province, id);
    }
    for id in &plan.cities {
        node_service(&mut out, plan, NodeRole::City, id);
    }
    dashboard_service(&mut out);
    jaeger_service(&mut out);
    otlp_sink_service(&mut out);
    volumes(&mut out, plan);
    out
}

/// Every node's compose service, central first.
fn node_services(plan: &ComposePlan) -> Vec<String> {
    let provinces = plan
        .provinces
        .iter()
        .map(|id| service_name(NodeRole::Province, id));
    let cities = plan
        .cities
        .iter()
        .map(|id| service_name(NodeRole::City, id));
    std::iter::once(service_name(NodeRole::Central, CENTRAL_ID))
        .chain(provinces)
        .chain(cities)
        .collect()
}

/// Every service with a certificate volume: the nodes, and the dashboard
/// (an operator's certificate of its own, see `certs::node_dirs`).
fn certificate_homes(plan: &ComposePlan) -> Vec<String> {
    let mut homes = node_services(plan);
    homes.push(DASHBOARD_HOME.to_string());
    homes
}

fn header(out: &mut String, plan: &ComposePlan) {
    let nodes = 1 + plan.provinces.len() + plan.cities.len();
    let _ = writeln!(
        out,
        "# Generated by `pairctl compose` (pairctl/src/compose.rs) for scenario {}: do not edit.\n\
         # Regenerate: cargo run -p pairctl -- compose --scenario deploy/scenarios/{} \\\n\
         #     --day-ms {} --out deploy/docker-compose.yml\n\
         # {nodes} nodes: central, {} provinces, {} cities; Jaeger in profile `{JAEGER_PROFILE}`, our own\n\
         # OTLP receiver in profile `{SINK_PROFILE}`.\n\
         # Mutual TLS: the one-shot service `{CERTS_SERVICE}` makes the certificates into one\n\
         # volume per node the first time; `down -v` removes them. See deploy/README.md.",
        plan.scenario_name,
        plan.scenario_file,
        plan.day_ms,
        plan.provinces.len(),
        plan.cities.len(),
    );
}

fn central_service(out: &mut String, plan: &ComposePlan) {
    let name = service_name(NodeRole::Central, CENTRAL_ID);
    service_head(out, &name, NodeRole::Central);
    environment(
        out,
        &[
            ("PAIRING_SCENARIO", plan.scenario_in_image()),
            ("PAIRING_LISTEN", format!("0.0.0.0:{NODE_PORT}")),
            ("PAIRING_DATA_DIR", DATA_DIR.to_string()),
            (
                "PAIRING_DAY_MS",
                format!("${{PAIRING_DAY_MS:-{}}}", plan.day_ms),
            ),
            // The lockstep clock by default; `wall` for nodes of a release
            // before it (docs/PROTOCOL.md, "The lockstep clock").
            ("PAIRING_CLOCK", "${PAIRING_CLOCK:-lockstep}".to_string()),
            (
                "PAIRING_STEP_MINUTES",
                format!("${{PAIRING_STEP_MINUTES:-{DEFAULT_STEP_MINUTES}}}"),
            ),
            ("PAIRING_SEED", format!("${{PAIRING_SEED:-{DEFAULT_SEED}}}")),
            ("OTEL_SERVICE_NAME", name.clone()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_ENDPOINT.to_string()),
            ("PAIRING_TLS_DIR", CERTS_IN_CONTAINER.to_string()),
        ],
    );
    certificates(out, &name);
    // Loopback only: pairctl on this machine reaches central, nobody else.
    let _ = writeln!(
        out,
        "    ports:\n      - \"127.0.0.1:{NODE_PORT}:{NODE_PORT}\""
    );
    node_tail(out, CENTRAL_ID, None);
}

fn node_service(out: &mut String, plan: &ComposePlan, role: NodeRole, id: &str) {
    let name = service_name(role, id);
    service_head(out, &name, role);
    environment(
        out,
        &[
            ("PAIRING_SCENARIO", plan.scenario_in_image()),
            ("PAIRING_NODE_ID", id.to_string()),
            (
                "PAIRING_CENTRAL",
                format!("https://{CENTRAL_ID}:{NODE_PORT}"),
            ),
            ("PAIRING_LISTEN", format!("0.0.0.0:{NODE_PORT}")),
            ("PAIRING_ADVERTISE", format!("https://{name}:{NODE_PORT}")),
            ("PAIRING_DATA_DIR", DATA_DIR.to_string()),
            // The fault tests' crash point (node_kit::lockstep::dies_at):
            // empty, and so off, unless a test sets it.
            (
                "PAIRING_DIE_AT_STEP",
                "${PAIRING_DIE_AT_STEP:-}".to_string(),
            ),
            ("OTEL_SERVICE_NAME", name.clone()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_ENDPOINT.to_string()),
            ("PAIRING_TLS_DIR", CERTS_IN_CONTAINER.to_string()),
        ],
    );
    certificates(out, &name);
    node_tail(out, id, Some(CENTRAL_ID));
}

fn service_head(out: &mut String, name: &str, role: NodeRole) {
    let _ = writeln!(
        out,
        "  {name}:\n    image: \"{NODE_IMAGE}\"\n    command: [\"{}\"]",
        binary(role)
    );
}

fn environment(out: &mut String, vars: &[(&str, String)]) {
    out.push_str("    environment:\n");
    for (key, value) in vars {
        debug_assert!(
            !value.contains('"') && !value.contains('\\'),
            "{key}: {value}"
        );
        let _ = writeln!(out, "      {key}: \"{value}\"");
    }
}

/// The node's read-only mount of its own certificate volume.
fn certificates(out: &mut String, service: &str) {
    let _ = writeln!(
        out,
        "    volumes:\n      - \"{}:{CERTS_IN_CONTAINER}:ro\"",
        certs_volume(service)
    );
}

/// The one-shot service that makes the CA and every node's certificate
/// into the volumes, the first time: run again (every `up`), it keeps
/// them. Root, to give each node's files to [`NODE_USER`]; no network, as
/// it needs none and holds the CA's key.
fn certs_service(out: &mut String, plan: &ComposePlan) {
    let _ = writeln!(
        out,
        "  {CERTS_SERVICE}:\n    \
         image: \"{NODE_IMAGE}\"\n    \
         command: [\"/pairctl\", \"certs\", \"--scenario\", \"{}\", \"--out\", \"{CA_IN_CERTS}\", \"--node-dirs\", \"{NODES_IN_CERTS}\", \"--owner\", \"{NODE_USER}\"]\n    \
         user: \"0:0\"\n    \
         network_mode: \"none\"\n    \
         volumes:\n      \
         - \"{CA_VOLUME}:{CA_IN_CERTS}\"",
        plan.scenario_in_image()
    );
    for service in certificate_homes(plan) {
        let _ = writeln!(
            out,
            "      - \"{}:{NODES_IN_CERTS}/{service}\"",
            certs_volume(&service)
        );
    }
}

/// The named volumes: the CA's and one per node.
fn volumes(out: &mut String, plan: &ComposePlan) {
    let _ = writeln!(out, "volumes:\n  {CA_VOLUME}:");
    for service in certificate_homes(plan) {
        let _ = writeln!(out, "  {}:", certs_volume(&service));
    }
}

/// Health check (the image has no shell: `pairctl probe` asks the node's
/// gRPC health service, over TLS with the node's own certificate), restart
/// policy, and the waits: for the certificates, and for central.
fn node_tail(out: &mut String, id: &str, after: Option<&str>) {
    let _ = writeln!(
        out,
        "    healthcheck:\n      \
         test: [\"CMD\", \"/pairctl\", \"probe\", \"--addr\", \"127.0.0.1:{NODE_PORT}\", \"--timeout-ms\", \"1500\", \"--tls-dir\", \"{CERTS_IN_CONTAINER}\", \"--tls-id\", \"{id}\"]\n      \
         interval: {HEALTH_INTERVAL_S}s\n      \
         timeout: 3s\n      \
         retries: 5\n      \
         start_period: 10s\n    \
         restart: \"{RESTART_POLICY}\""
    );
    let _ = writeln!(
        out,
        "    depends_on:\n      {CERTS_SERVICE}:\n        condition: service_completed_successfully"
    );
    if let Some(service) = after {
        let _ = writeln!(out, "      {service}:\n        condition: service_healthy");
    }
}

/// The live dashboard (`pairctl dashboard`), fed by central as the
/// operator, with an operator's certificate of its own in its own volume;
/// like central's, its port is published on loopback only.
fn dashboard_service(out: &mut String) {
    let central = service_name(NodeRole::Central, CENTRAL_ID);
    let volume = certs_volume(DASHBOARD_HOME);
    let _ = writeln!(
        out,
        "  dashboard:\n    \
         image: \"{NODE_IMAGE}\"\n    \
         command: [\"/pairctl\", \"dashboard\", \"--central\", \"https://{central}:{NODE_PORT}\", \"--listen\", \"0.0.0.0:{DASHBOARD_PORT}\", \"--tls-dir\", \"{CERTS_IN_CONTAINER}\", \"--tls-id\", \"{OPERATOR}\", \"--jaeger-url\", \"{DASHBOARD_JAEGER_URL}\"]\n    \
         volumes:\n      \
         - \"{}:{CERTS_IN_CONTAINER}:ro\"\n    \
         ports:\n      \
         - \"127.0.0.1:{DASHBOARD_PORT}:{DASHBOARD_PORT}\"\n    \
         restart: \"{RESTART_POLICY}\"\n    \
         depends_on:\n      \
         {CERTS_SERVICE}:\n        \
         condition: service_completed_successfully\n      \
         {central}:\n        \
         condition: service_healthy",
        volume,
        OPERATOR = node_kit::tls::OPERATOR_ID,
    );
}

fn jaeger_service(out: &mut String) {
    let _ = writeln!(
        out,
        "  jaeger:\n    \
         image: \"{JAEGER_IMAGE}\"\n    \
         profiles: [\"{JAEGER_PROFILE}\"]\n    \
         environment:\n      \
         JAEGER_LISTEN_HOST: \"0.0.0.0\"\n    \
         ports:\n      \
         - \"127.0.0.1:16686:16686\"\n      \
         - \"127.0.0.1:4317:4317\"\n    \
         restart: \"{RESTART_POLICY}\""
    );
}

/// The project's own receiver: spans kept in memory, written to
/// [`SPANS_FILE`] on SIGTERM (`docker compose stop otlp-sink`).
fn otlp_sink_service(out: &mut String) {
    let _ = writeln!(
        out,
        "  otlp-sink:\n    \
         image: \"{NODE_IMAGE}\"\n    \
         profiles: [\"{SINK_PROFILE}\"]\n    \
         command: [\"/pairctl\", \"otlp-sink\", \"--listen\", \"0.0.0.0:4317\", \"--out\", \"{SPANS_FILE}\"]\n    \
         restart: \"{RESTART_POLICY}\""
    );
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;
