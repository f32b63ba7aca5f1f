//! Where the nodes send their spans: the Service [`COLLECTOR_SERVICE`] in
//! the base, which selects whatever pods carry the collector label. The
//! base runs none (a cluster may have its own collector: label it, or point
//! the Service elsewhere in an overlay); the Jaeger overlay adds Jaeger's
//! all-in-one with that label. Without a collector the nodes' exports fail
//! and are dropped, as in compose without Jaeger.

use std::fmt::Write as _;

use super::{header, metadata, K8sPlan, COMPONENT, PART_OF};

/// The collector Service: OTLP over gRPC.
pub const COLLECTOR_SERVICE: &str = "otlp-collector";
pub const OTLP_PORT: u16 = 4317;
/// The `app.kubernetes.io/component` of the pods behind it.
pub const COLLECTOR_COMPONENT: &str = "otlp-collector";
/// Jaeger 2.x all-in-one, as in compose: OTLP gRPC on 4317, UI on 16686.
pub const JAEGER_IMAGE: &str = crate::compose::JAEGER_IMAGE;
pub const JAEGER_UI_PORT: u16 = 16686;
/// The Jaeger image's own user.
pub const JAEGER_UID: u32 = 10001;

/// The endpoint every node exports to.
pub fn collector_endpoint() -> String {
    format!("http://{COLLECTOR_SERVICE}:{OTLP_PORT}")
}

/// The collector Service of the base.
pub fn collector(plan: &K8sPlan) -> String {
    let mut out = header(
        plan,
        "Where the nodes send their spans: pods labelled as the collector (the Jaeger overlay's).",
    );
    out.push_str("apiVersion: v1\nkind: Service\n");
    metadata(
        &mut out,
        COLLECTOR_SERVICE,
        &[(COMPONENT, COLLECTOR_COMPONENT)],
    );
    let _ = writeln!(
        out,
        "spec:\n  selector:\n    {PART_OF}: counterpart\n    {COMPONENT}: {COLLECTOR_COMPONENT}\n  \
         ports:\n    - name: otlp-grpc\n      port: {OTLP_PORT}\n      targetPort: otlp-grpc"
    );
    out
}

/// The Jaeger overlay's one file: the Deployment (spans in memory, lost
/// with the pod: for looking at a run, not for keeping it), a Service for
/// its UI, and the NetworkPolicy that lets the UI be reached.
pub fn jaeger(plan: &K8sPlan) -> String {
    let mut out = header(
        plan,
        "Jaeger all-in-one behind the base's collector Service, and its UI.",
    );
    let labels = [(COMPONENT, COLLECTOR_COMPONENT)];
    out.push_str("apiVersion: apps/v1\nkind: Deployment\n");
    metadata(&mut out, "jaeger", &labels);
    let _ = writeln!(
        out,
        "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      {PART_OF}: counterpart\n      \
         {COMPONENT}: {COLLECTOR_COMPONENT}\n  template:\n    metadata:\n      labels:\n        \
         {PART_OF}: counterpart\n        {COMPONENT}: {COLLECTOR_COMPONENT}\n    spec:\n      \
         automountServiceAccountToken: false\n      enableServiceLinks: false\n      \
         securityContext:\n        runAsNonRoot: true\n        runAsUser: {JAEGER_UID}\n        \
         seccompProfile:\n          type: RuntimeDefault\n      containers:\n        \
         - name: jaeger\n          image: {JAEGER_IMAGE}\n          env:\n            \
         - name: JAEGER_LISTEN_HOST\n              value: \"0.0.0.0\"\n          ports:\n            \
         - name: otlp-grpc\n              containerPort: {OTLP_PORT}\n            \
         - name: ui\n              containerPort: {JAEGER_UI_PORT}\n          \
         readinessProbe:\n            httpGet:\n              path: /\n              port: ui\n            \
         periodSeconds: 5\n          resources:\n            requests:\n              cpu: 50m\n              \
         memory: 128Mi\n            limits:\n              memory: 512Mi\n          \
         securityContext:\n            allowPrivilegeEscalation: false\n            \
         capabilities:\n              drop: [\"ALL\"]"
    );
    out.push_str("---\napiVersion: v1\nkind: Service\n");
    metadata(&mut out, "jaeger-ui", &labels);
    let _ = writeln!(
        out,
        "spec:\n  selector:\n    {PART_OF}: counterpart\n    {COMPONENT}: {COLLECTOR_COMPONENT}\n  \
         ports:\n    - name: ui\n      port: {JAEGER_UI_PORT}\n      targetPort: ui"
    );
    // The base denies all ingress but the nodes' spans; the UI is for
    // people, from wherever the cluster lets them in (or port-forward).
    out.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
    metadata(&mut out, "jaeger-ui", &labels);
    let _ = writeln!(
        out,
        "spec:\n  podSelector:\n    matchLabels:\n      {PART_OF}: counterpart\n      \
         {COMPONENT}: {COLLECTOR_COMPONENT}\n  policyTypes: [\"Ingress\"]\n  ingress:\n    \
         - ports:\n        - port: ui\n          protocol: TCP"
    );
    out
}
