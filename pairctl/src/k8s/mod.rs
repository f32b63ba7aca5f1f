//! The Kubernetes manifests of a scenario: a kustomize base and an overlay
//! that adds Jaeger, rendered by hand like the compose file
//! ([`crate::compose`]), deterministic so that the committed copy under
//! `deploy/k8s` is checked against it.
//!
//! The shape, and why (deploy/k8s/README.md says it at length):
//! - one StatefulSet of one replica per node (central, each province, each
//!   city), each with its own volume claim for `PAIRING_DATA_DIR` and a
//!   headless Service named like the node's compose service, so that the
//!   host names the certificates of `pairctl certs` carry are the names
//!   peers resolve. One StatefulSet per node rather than one per role: a
//!   pod template cannot mount a different Secret per ordinal, and a node
//!   must mount only its own key;
//! - the node id comes from the pod's own metadata (a label, through the
//!   downward API), the label its Service and policies select it by;
//! - health: exec probes running `pairctl probe` over mutual TLS, because
//!   the nodes serve gRPC health on their one TLS port only and the
//!   kubelet's native gRPC probe speaks plaintext;
//! - the certificates as one Secret per node ([`secrets`], made from
//!   `pairctl certs --node-dirs`, never committed); the scenario as a
//!   ConfigMap;
//! - role-based NetworkPolicies ([`policy`]); OTLP to a collector Service
//!   that the Jaeger overlay backs ([`telemetry`]).
//!
//! Every object names its namespace ([`NAMESPACE`]) itself, so the offline
//! renderer ([`kustomize`]) needs no namespace transformer.

use std::fmt::Write as _;
use std::path::Path;

use counterpart_domain::scenario::Scenario;

use crate::compose::ComposePlan;

pub mod kustomize;
pub mod policy;
pub mod secrets;
pub mod telemetry;
pub mod workloads;

/// The namespace every object lives in.
pub const NAMESPACE: &str = "counterpart";
/// The node image, as `deploy/build-images.sh` tags it; a registry's name
/// goes in an overlay's `images:` (deploy/k8s/README.md).
pub const NODE_IMAGE: &str = "counterpart:dev";
/// Where a pod sees the scenario ConfigMap.
pub const SCENARIO_MOUNT: &str = "/scenario";
/// The scenario ConfigMap.
pub const SCENARIO_CONFIGMAP: &str = "scenario";
/// Labels every Counterpart object carries, and the per-pod labels the
/// Services, the PodDisruptionBudget and the NetworkPolicies select on.
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const SERVICE_LABEL: &str = "counterpart/service";
pub const NODE_ID_LABEL: &str = "counterpart/node-id";
/// The base's directory and the Jaeger overlay's, under `--out`.
pub const BASE_DIR: &str = "base";
pub const JAEGER_OVERLAY_DIR: &str = "overlays/jaeger";

/// What the manifests are made from: the compose plan's nodes and clock,
/// and the scenario's text for the ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sPlan {
    pub nodes: ComposePlan,
    pub scenario_toml: String,
}

impl K8sPlan {
    /// The plan for `scenario`, read from `path` whose text is
    /// `scenario_toml`. Refuses what cannot be a DNS name, or a text a
    /// YAML literal block cannot hold verbatim.
    pub fn new(
        scenario: &Scenario,
        path: &Path,
        scenario_toml: String,
        day_ms: i64,
    ) -> Result<Self, String> {
        let nodes = ComposePlan::from_scenario(scenario, path, day_ms)?;
        literal_block_safe(&scenario_toml)
            .map_err(|e| format!("{}: cannot go in a ConfigMap as is: {e}", path.display()))?;
        Ok(K8sPlan {
            nodes,
            scenario_toml,
        })
    }

    /// Where a pod finds the scenario file.
    pub fn scenario_in_pod(&self) -> String {
        format!("{SCENARIO_MOUNT}/{}", self.nodes.scenario_file)
    }

    /// Every node: central, then provinces, then cities.
    pub fn node_count(&self) -> usize {
        1 + self.nodes.provinces.len() + self.nodes.cities.len()
    }
}

/// Whether `text` reads back unchanged from a `|` literal block: no
/// carriage returns or other control characters but tab-free newlines, and
/// a first line that does not start with a space (it would set the block's
/// indentation).
fn literal_block_safe(text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
        return Err(format!("it holds the control character {c:?}"));
    }
    if text.starts_with(' ') {
        return Err("its first line starts with a space".to_string());
    }
    if !text.ends_with('\n') || text.ends_with("\n\n") {
        return Err("it must end with exactly one newline".to_string());
    }
    Ok(())
}

/// One generated file: its path under `--out`, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: String,
    pub text: String,
}

/// Every file of the base and the Jaeger overlay.
pub fn render(plan: &K8sPlan) -> Vec<ManifestFile> {
    let base = [
        ("namespace.yaml", namespace(plan)),
        ("scenario.yaml", scenario_configmap(plan)),
        ("central.yaml", workloads::central(plan)),
        ("provinces.yaml", workloads::provinces(plan)),
        ("cities.yaml", workloads::cities(plan)),
        ("otlp-collector.yaml", telemetry::collector(plan)),
        ("network-policies.yaml", policy::render(plan)),
    ];
    let mut files: Vec<ManifestFile> = Vec::new();
    let names: Vec<&str> = base.iter().map(|(name, _)| *name).collect();
    files.push(ManifestFile {
        path: format!("{BASE_DIR}/kustomization.yaml"),
        text: kustomization(plan, "the base", &names),
    });
    files.extend(base.into_iter().map(|(name, text)| ManifestFile {
        path: format!("{BASE_DIR}/{name}"),
        text,
    }));
    files.push(ManifestFile {
        path: format!("{JAEGER_OVERLAY_DIR}/kustomization.yaml"),
        text: kustomization(plan, "the Jaeger overlay", &["../../base", "jaeger.yaml"]),
    });
    files.push(ManifestFile {
        path: format!("{JAEGER_OVERLAY_DIR}/jaeger.yaml"),
        text: telemetry::jaeger(plan),
    });
    files
}

/// The comment every generated file starts with.
pub fn header(plan: &K8sPlan, what: &str) -> String {
    format!(
        "# Generated by `pairctl k8s` (pairctl/src/k8s/) for scenario {}: do not edit.\n\
         # {what}\n\
         # Regenerate: cargo run -p pairctl -- k8s --scenario deploy/scenarios/{} \\\n\
         #     --day-ms {} --out deploy/k8s\n",
        plan.nodes.scenario_name, plan.nodes.scenario_file, plan.nodes.day_ms
    )
}

fn kustomization(plan: &K8sPlan, what: &str, resources: &[&str]) -> String {
    let mut out = header(plan, &format!("The kustomization of {what}."));
    out.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    for resource in resources {
        let _ = writeln!(out, "  - {resource}");
    }
    out
}

/// The metadata block of a namespaced object: name, namespace, labels.
pub fn metadata(out: &mut String, name: &str, labels: &[(&str, &str)]) {
    let _ = writeln!(
        out,
        "metadata:\n  name: {name}\n  namespace: {NAMESPACE}\n  labels:\n    {PART_OF}: counterpart"
    );
    for (key, value) in labels {
        let _ = writeln!(out, "    {key}: {value}");
    }
}

fn namespace(plan: &K8sPlan) -> String {
    let mut out = header(plan, "The namespace of every object.");
    let _ = writeln!(
        out,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n  labels:\n    {PART_OF}: counterpart"
    );
    out
}

/// The scenario every node reads, verbatim, as `<file name>` in the map.
fn scenario_configmap(plan: &K8sPlan) -> String {
    let mut out = header(
        plan,
        "The scenario every node reads, verbatim (the same file as in the image's /scenarios).",
    );
    out.push_str("apiVersion: v1\nkind: ConfigMap\n");
    metadata(&mut out, SCENARIO_CONFIGMAP, &[]);
    let _ = writeln!(out, "data:\n  {}: |", plan.nodes.scenario_file);
    for line in plan.scenario_toml.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_a_literal_block_would_change_is_refused() {
        assert!(literal_block_safe("a = 1\n\nb = 2\n").is_ok());
        assert!(literal_block_safe("a = 1\r\n").is_err());
        assert!(literal_block_safe("\ta = 1\n").is_err());
        assert!(literal_block_safe("  a = 1\n").is_err());
        assert!(literal_block_safe("a = 1").is_err());
        assert!(literal_block_safe("a = 1\n\n").is_err());
    }
}
