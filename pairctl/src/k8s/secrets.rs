//! `pairctl k8s --secrets NODES`: the Secrets the StatefulSets mount, one
//! per node, made from the directories of `pairctl certs --node-dirs
//! NODES` (each holds `ca.pem` and its node's own certificate and key;
//! central's also the operator's). One Secret per node so that a pod
//! mounts its own key only, as a container does in compose.
//!
//! The output holds private keys: it is applied, never committed (the
//! committed base only names the Secrets).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Context};
use node_kit::tls::CA_FILE;

use super::workloads::certs_secret;
use super::{metadata, COMPONENT};
use crate::certs::node_dirs::home;
use crate::certs::Holder;

/// The Secrets of `holders`, read from `nodes_dir/<service>/`, as one YAML
/// stream.
pub fn render(nodes_dir: &Path, holders: &[Holder]) -> anyhow::Result<String> {
    let mut homes: Vec<(String, Vec<&Holder>)> = Vec::new();
    for holder in holders {
        let service = home(&holder.identity);
        match homes.iter_mut().find(|(s, _)| *s == service) {
            Some((_, members)) => members.push(holder),
            None => homes.push((service, vec![holder])),
        }
    }
    let mut out = String::from(
        "# Made by `pairctl k8s --secrets`: the nodes' certificates and PRIVATE KEYS.\n\
         # Apply it (kubectl apply -f), keep it out of version control.\n",
    );
    for (service, members) in homes {
        let dir = nodes_dir.join(&service);
        let mut files = vec![CA_FILE.to_string()];
        for holder in members {
            files.push(format!("{}.pem", holder.identity.id));
            files.push(format!("{}.key", holder.identity.id));
        }
        out.push_str("---\napiVersion: v1\nkind: Secret\n");
        metadata(
            &mut out,
            &certs_secret(&service),
            &[(COMPONENT, "certificates")],
        );
        out.push_str("type: Opaque\nstringData:\n");
        for file in files {
            let path = dir.join(&file);
            let pem = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read {} (made by `pairctl certs --node-dirs`?)",
                    path.display()
                )
            })?;
            if !pem.starts_with("-----BEGIN ")
                || pem
                    .chars()
                    .any(|c| !(c.is_ascii_graphic() || c == ' ' || c == '\n'))
            {
                return Err(anyhow!("{}: not a PEM file", path.display()));
            }
            let _ = writeln!(out, "  {file}: |");
            for line in pem.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::holders;
    use crate::certs::node_dirs::write_node_dirs;

    #[test]
    fn each_node_gets_a_secret_with_its_own_key_only() {
        let root = std::env::temp_dir().join(format!("pairctl-k8s-secrets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let path = crate::cli::scenario_path(Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../deploy/scenarios/small.toml"
            )
            .into(),
        ));
        let all = holders(&counterpart_domain::scenario::load(&path).unwrap());
        write_node_dirs(&root.join("ca"), &root.join("nodes"), &all, None).unwrap();
        let yaml = render(&root.join("nodes"), &all).unwrap();
        // The operator's certificate lives with central's.
        assert_eq!(yaml.matches("kind: Secret").count(), all.len() - 1);
        // By the document separator line: a PEM's own lines end in dashes.
        let docs = crate::k8s::kustomize::documents(&yaml);
        let alpha = docs
            .iter()
            .find(|doc| doc.contains("name: certs-province-alpha\n"))
            .unwrap();
        let keys: Vec<&str> = alpha
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(": |"))
            .collect();
        assert_eq!(keys, ["  ca.pem: |", "  alpha.pem: |", "  alpha.key: |"]);
        let central = docs
            .iter()
            .find(|doc| doc.contains("name: certs-central\n"))
            .unwrap();
        assert!(central.contains("  operator.key: |"));
        assert!(!yaml.contains("ca.key"), "the CA's key stays out");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_directory_is_named() {
        let path = crate::cli::scenario_path(None);
        let all = holders(&counterpart_domain::scenario::load(&path).unwrap());
        let err = render(Path::new("/nonexistent-nodes"), &all).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent-nodes/central/ca.pem"),
            "{err:#}"
        );
    }
}
