//! The nodes' workloads: per node a headless Service and a StatefulSet of
//! one replica with its own volume claim; central's PodDisruptionBudget.
//!
//! Resources are sized from BENCHMARKS.md, table 4 (one process per node):
//! a province or city peaked at 10.5-15.7 MiB RSS (median, 85 to 335
//! nodes; it grows with the scenario, as every process loads all of it),
//! central at 18.3-45.8 MiB. Requests are the measured peaks rounded up,
//! so the scheduler packs nodes by what they use; limits are four times
//! that, for TLS, the SQLite journal's page cache (charged to the pod) and
//! larger scenarios, so a leak is stopped before it starves the machine.

use std::fmt::Write as _;

use crate::cli::NodeRole;
use crate::compose::{binary, service_name, CERTS_IN_CONTAINER, DATA_DIR, NODE_PORT};
use crate::plan::CENTRAL_ID;

use super::{
    header, metadata, telemetry, K8sPlan, COMPONENT, NODE_ID_LABEL, NODE_IMAGE, PART_OF,
    SCENARIO_CONFIGMAP, SCENARIO_MOUNT, SERVICE_LABEL,
};

/// The nodes' user (deploy/Dockerfile's `USER`); also the pods' fsGroup,
/// which makes the data volume writable and the Secret's files readable
/// by it.
pub const NODE_UID: u32 = 65534;
/// The Secret files' mode, 0440 (written in decimal: YAML parsers differ on
/// octal): the key is readable by the node's group (fsGroup) alone.
pub const SECRET_MODE: u32 = 0o440;
/// The node binary stops within 4 s of SIGTERM (node_kit's STOP_TIMEOUT).
pub const TERMINATION_GRACE_S: u32 = 10;

/// What a node may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub cpu_request: &'static str,
    pub cpu_limit: &'static str,
    pub memory_request: &'static str,
    pub memory_limit: &'static str,
    /// The volume claim for PAIRING_DATA_DIR. Not measured: the journal of
    /// a hubei-2020 run is far smaller; a claim is cheap to grow, a full
    /// disk stops the node.
    pub storage: &'static str,
}

/// A province or a city: 15.7 MiB measured, at 335 nodes.
pub const NODE_SIZING: Sizing = Sizing {
    cpu_request: "10m",
    cpu_limit: "500m",
    memory_request: "16Mi",
    memory_limit: "64Mi",
    storage: "256Mi",
};
/// Central: 45.8 MiB measured, at 335 nodes.
pub const CENTRAL_SIZING: Sizing = Sizing {
    cpu_request: "50m",
    cpu_limit: "1",
    memory_request: "48Mi",
    memory_limit: "192Mi",
    storage: "1Gi",
};

/// The Secret holding `service`'s certificates (see [`super::secrets`]).
pub fn certs_secret(service: &str) -> String {
    format!("certs-{service}")
}

/// Central: Service, StatefulSet, PodDisruptionBudget.
pub fn central(plan: &K8sPlan) -> String {
    let mut out = header(
        plan,
        "Central: its headless Service, StatefulSet and PodDisruptionBudget.",
    );
    node(&mut out, plan, NodeRole::Central, CENTRAL_ID);
    let name = service_name(NodeRole::Central, CENTRAL_ID);
    // One replica: the budget makes a drain wait rather than evict central
    // mid-run; the operator moves it deliberately (deploy/k8s/README.md).
    out.push_str("---\napiVersion: policy/v1\nkind: PodDisruptionBudget\n");
    metadata(&mut out, &name, &[(COMPONENT, "central")]);
    let _ = writeln!(
        out,
        "spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {SERVICE_LABEL}: {name}"
    );
    out
}

/// Every province, in scenario order.
pub fn provinces(plan: &K8sPlan) -> String {
    nodes_of(
        plan,
        NodeRole::Province,
        &plan.nodes.provinces,
        "provinces",
        "province",
    )
}

/// Every city, in scenario order.
pub fn cities(plan: &K8sPlan) -> String {
    nodes_of(plan, NodeRole::City, &plan.nodes.cities, "cities", "city")
}

/// One manifest for every node of `role`: per node a headless Service and
/// a StatefulSet of one.
fn nodes_of(plan: &K8sPlan, role: NodeRole, ids: &[String], many: &str, one: &str) -> String {
    let mut out = header(
        plan,
        &format!("The {many}: per {one} a headless Service and a StatefulSet of one."),
    );
    for id in ids {
        node(&mut out, plan, role, id);
    }
    out
}

pub fn role_label(role: NodeRole) -> &'static str {
    match role {
        NodeRole::Central => "central",
        NodeRole::Province => "province",
        NodeRole::City => "city",
    }
}

/// A node's headless Service and StatefulSet.
fn node(out: &mut String, plan: &K8sPlan, role: NodeRole, id: &str) {
    let name = service_name(role, id);
    let component = role_label(role);
    let labels = [
        (COMPONENT, component),
        (SERVICE_LABEL, name.as_str()),
        (NODE_ID_LABEL, id),
    ];
    // Headless: the Service's name resolves to the pod itself, the name
    // its certificate carries. Not-ready pods are published too: the
    // protocol retries a peer that is not up yet, a vanished name it
    // cannot.
    out.push_str("---\napiVersion: v1\nkind: Service\n");
    metadata(out, &name, &labels);
    let _ = writeln!(
        out,
        "spec:\n  clusterIP: None\n  publishNotReadyAddresses: true\n  selector:\n    \
         {PART_OF}: counterpart\n    {SERVICE_LABEL}: {name}\n  ports:\n    \
         - name: grpc\n      port: {NODE_PORT}\n      targetPort: grpc"
    );
    out.push_str("---\napiVersion: apps/v1\nkind: StatefulSet\n");
    metadata(out, &name, &labels);
    let _ = writeln!(
        out,
        "spec:\n  serviceName: {name}\n  replicas: 1\n  selector:\n    matchLabels:\n      \
         {PART_OF}: counterpart\n      {SERVICE_LABEL}: {name}\n  template:\n    metadata:\n      \
         labels:\n        {PART_OF}: counterpart"
    );
    for (key, value) in labels {
        let _ = writeln!(out, "        {key}: {value}");
    }
    pod_spec(out, plan, role, id, &name);
    let sizing = if role == NodeRole::Central {
        CENTRAL_SIZING
    } else {
        NODE_SIZING
    };
    let _ = writeln!(
        out,
        "  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        \
         accessModes: [\"ReadWriteOnce\"]\n        resources:\n          requests:\n            \
         storage: {}",
        sizing.storage
    );
}

fn pod_spec(out: &mut String, plan: &K8sPlan, role: NodeRole, id: &str, name: &str) {
    // No API token (nodes never call the API server), no service links (36
    // Services would put hundreds of variables in every environment).
    let _ = writeln!(
        out,
        "    spec:\n      automountServiceAccountToken: false\n      enableServiceLinks: false\n      \
         terminationGracePeriodSeconds: {TERMINATION_GRACE_S}\n      securityContext:\n        \
         runAsNonRoot: true\n        runAsUser: {NODE_UID}\n        runAsGroup: {NODE_UID}\n        \
         fsGroup: {NODE_UID}\n        seccompProfile:\n          type: RuntimeDefault\n      \
         containers:\n        - name: node\n          image: {NODE_IMAGE}\n          \
         imagePullPolicy: IfNotPresent\n          command: [\"{}\"]\n          env:",
        binary(role)
    );
    let env = |out: &mut String, key: &str, value: &str| {
        let _ = writeln!(
            out,
            "            - name: {key}\n              value: \"{value}\""
        );
    };
    if role != NodeRole::Central {
        // From the pod's own metadata: the label its Service and the
        // NetworkPolicies select it by.
        let _ = writeln!(
            out,
            "            - name: PAIRING_NODE_ID\n              valueFrom:\n                \
             fieldRef:\n                  fieldPath: metadata.labels['{NODE_ID_LABEL}']"
        );
    }
    env(out, "PAIRING_SCENARIO", &plan.scenario_in_pod());
    env(out, "PAIRING_LISTEN", &format!("0.0.0.0:{NODE_PORT}"));
    env(out, "PAIRING_DATA_DIR", DATA_DIR);
    if role == NodeRole::Central {
        env(out, "PAIRING_DAY_MS", &plan.nodes.day_ms.to_string());
    } else {
        env(
            out,
            "PAIRING_CENTRAL",
            &format!("https://{CENTRAL_ID}:{NODE_PORT}"),
        );
        env(
            out,
            "PAIRING_ADVERTISE",
            &format!("https://{name}:{NODE_PORT}"),
        );
    }
    env(out, "PAIRING_TLS_DIR", CERTS_IN_CONTAINER);
    env(out, "OTEL_SERVICE_NAME", name);
    env(
        out,
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &telemetry::collector_endpoint(),
    );
    let _ = writeln!(
        out,
        "          ports:\n            - name: grpc\n              containerPort: {NODE_PORT}"
    );
    probes(out, id);
    let sizing = if role == NodeRole::Central {
        CENTRAL_SIZING
    } else {
        NODE_SIZING
    };
    let _ = writeln!(
        out,
        "          resources:\n            requests:\n              cpu: {}\n              \
         memory: {}\n            limits:\n              cpu: {}\n              memory: {}",
        sizing.cpu_request, sizing.memory_request, sizing.cpu_limit, sizing.memory_limit
    );
    let _ = writeln!(
        out,
        "          securityContext:\n            allowPrivilegeEscalation: false\n            \
         readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          \
         volumeMounts:\n            - name: data\n              mountPath: {DATA_DIR}\n            \
         - name: certs\n              mountPath: {CERTS_IN_CONTAINER}\n              readOnly: true\n            \
         - name: scenario\n              mountPath: {SCENARIO_MOUNT}\n              readOnly: true\n      \
         volumes:\n        - name: certs\n          secret:\n            secretName: {}\n            \
         defaultMode: {SECRET_MODE}\n        - name: scenario\n          configMap:\n            \
         name: {SCENARIO_CONFIGMAP}",
        certs_secret(name)
    );
}

/// Readiness and liveness: `pairctl probe` asks the node's gRPC health
/// service over mutual TLS, presenting the node's own certificate. The
/// kubelet's native gRPC probe cannot: it speaks plaintext, and a node
/// with TLS serves health on its TLS port only. Liveness is patient (a
/// minute of failures) since a restart costs a re-registration.
fn probes(out: &mut String, id: &str) {
    let command = format!(
        "[\"/pairctl\", \"probe\", \"--addr\", \"127.0.0.1:{NODE_PORT}\", \"--timeout-ms\", \
         \"1500\", \"--tls-dir\", \"{CERTS_IN_CONTAINER}\", \"--tls-id\", \"{id}\"]"
    );
    let _ = writeln!(
        out,
        "          readinessProbe:\n            exec:\n              command: {command}\n            \
         periodSeconds: 5\n            timeoutSeconds: 3\n            failureThreshold: 3\n          \
         livenessProbe:\n            exec:\n              command: {command}\n            \
         initialDelaySeconds: 15\n            periodSeconds: 10\n            timeoutSeconds: 3\n            \
         failureThreshold: 6"
    );
}
