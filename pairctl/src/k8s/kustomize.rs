//! An offline renderer for the subset of kustomize the generated
//! kustomizations use, so the test command can build and validate them on
//! a machine without kubectl: a kustomization's `resources`, each a YAML
//! file (documents in order) or a directory holding a kustomization
//! (built recursively). Anything else a kustomization may say (patches,
//! images, a namespace, generators...) is refused by name rather than
//! ignored, so the renderer never builds something other than what
//! `kubectl kustomize` would; as kustomize does, it refuses two objects of
//! one kind, namespace and name.
//!
//! The generated objects keep to a fixed layout ([`super`]): a document's
//! top-level `kind:` and its `metadata:` block's two-space `name:` and
//! `namespace:` lines are read by line, without a YAML library.

use std::path::{Path, PathBuf};

/// The file kustomize looks for in a directory.
pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";
/// How deep directories may nest, against a cycle of `../` resources.
const MAX_DEPTH: usize = 8;

/// One object of a build: who it is, where it came from, its YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub id: ObjectId,
    pub source: PathBuf,
    pub text: String,
}

/// Kind, namespace (empty for cluster-wide objects) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Builds the kustomization in `dir`: its objects in resource order.
pub fn build(dir: &Path) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    build_into(dir, 0, &mut objects)?;
    let mut seen: Vec<&ObjectId> = Vec::new();
    for object in &objects {
        if seen.contains(&&object.id) {
            return Err(format!(
                "{}: {} is defined twice",
                object.source.display(),
                object.id
            ));
        }
        seen.push(&object.id);
    }
    Ok(objects)
}

/// The objects as one YAML stream, each document after a `---` line.
pub fn to_stream(objects: &[Object]) -> String {
    objects.iter().map(|o| format!("---\n{}", o.text)).collect()
}

fn build_into(dir: &Path, depth: usize, objects: &mut Vec<Object>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{}: kustomizations nest deeper than {MAX_DEPTH}",
            dir.display()
        ));
    }
    let file = dir.join(KUSTOMIZATION_FILE);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    for resource in resources(&text).map_err(|e| format!("{}: {e}", file.display()))? {
        let path = dir.join(&resource);
        if path.is_dir() {
            build_into(&path, depth + 1, objects)?;
        } else {
            let yaml = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: resource {resource}: {e}", file.display()))?;
            for doc in documents(&yaml) {
                let id = object_id(&doc).map_err(|e| format!("{}: {e}", path.display()))?;
                objects.push(Object {
                    id,
                    source: path.clone(),
                    text: doc,
                });
            }
        }
    }
    Ok(())
}

/// The `resources` of a kustomization, refusing every field this renderer
/// does not do.
fn resources(kustomization: &str) -> Result<Vec<String>, String> {
    let mut resources = Vec::new();
    let mut in_resources = false;
    for line in kustomization.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.strip_prefix("  - ").filter(|_| in_resources) {
            resources.push(item.trim().to_string());
            continue;
        }
        if line.starts_with(' ') {
            return Err(format!("cannot read the line {line:?}"));
        }
        let (key, value) = line
            .split_once(':')
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| format!("cannot read the line {line:?}"))?;
        in_resources = false;
        match (key, value) {
            ("apiVersion", "kustomize.config.k8s.io/v1beta1") | ("kind", "Kustomization") => {}
            ("resources", "") => in_resources = true,
            _ => {
                return Err(format!(
                    "`{line}`: the offline renderer does only `resources` (use kubectl kustomize)"
                ))
            }
        }
    }
    Ok(resources)
}

/// The documents of a YAML stream, without those that hold only comments.
pub fn documents(yaml: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in yaml.lines() {
        if line == "---" {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("never empty");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.retain(|doc| {
        doc.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    });
    docs
}

/// The kind, namespace and name of one document.
pub fn object_id(doc: &str) -> Result<ObjectId, String> {
    let mut kind = None;
    let (mut namespace, mut name) = (String::new(), None);
    let mut in_metadata = false;
    for line in doc.lines() {
        if !line.starts_with(' ') {
            in_metadata = line == "metadata:";
            if let Some(k) = line.strip_prefix("kind: ") {
                kind = Some(k.trim().to_string());
            }
        } else if in_metadata {
            if let Some(n) = line.strip_prefix("  name: ") {
                name = Some(n.trim().to_string());
            } else if let Some(n) = line.strip_prefix("  namespace: ") {
                namespace = n.trim().to_string();
            }
        }
    }
    let first = doc.lines().find(|l| !l.starts_with('#')).unwrap_or("");
    Ok(ObjectId {
        kind: kind.ok_or_else(|| format!("a document without a kind, from {first:?}"))?,
        namespace,
        name: name.ok_or_else(|| format!("a document without metadata.name, from {first:?}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pairctl-kustomize-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const MAP: &str = "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  \
                       namespace: n\ndata:\n  name: not-the-name\n";

    #[test]
    fn an_overlay_adds_its_files_to_the_base_in_order() {
        let root = temp_dir("overlay");
        std::fs::create_dir_all(root.join("base")).unwrap();
        std::fs::create_dir_all(root.join("overlay")).unwrap();
        std::fs::write(
            root.join("base/kustomization.yaml"),
            "# generated\nkind: Kustomization\nresources:\n  - map.yaml\n",
        )
        .unwrap();
        std::fs::write(
            root.join("base/map.yaml"),
            format!(
                "# header only\n---\n{MAP}---\n{}",
                MAP.replace("name: a", "name: b")
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("overlay/kustomization.yaml"),
            "resources:\n  - ../base\n  - ns.yaml\n",
        )
        .unwrap();
        std::fs::write(
            root.join("overlay/ns.yaml"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n",
        )
        .unwrap();
        let objects = build(&root.join("overlay")).unwrap();
        let ids: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(ids, ["ConfigMap n/a", "ConfigMap n/b", "Namespace /n"]);
        assert_eq!(documents(&to_stream(&objects)).len(), 3);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn what_the_renderer_does_not_do_is_refused_not_ignored() {
        for field in [
            "namespace: elsewhere",
            "patches:",
            "images:",
            "configMapGenerator:",
        ] {
            let err = resources(&format!("resources:\n  - a.yaml\n{field}\n")).unwrap_err();
            assert!(err.contains("does only `resources`"), "{field}: {err}");
        }
        assert!(resources("resources:\n    - a.yaml\n").is_err());
    }

    #[test]
    fn two_objects_of_one_name_are_refused() {
        let root = temp_dir("twice");
        std::fs::write(
            root.join("kustomization.yaml"),
            "resources:\n  - a.yaml\n  - b.yaml\n",
        )
        .unwrap();
        std::fs::write(root.join("a.yaml"), MAP).unwrap();
        std::fs::write(root.join("b.yaml"), MAP).unwrap();
        let err = build(&root).unwrap_err();
        assert!(err.contains("ConfigMap n/a is defined twice"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_document_without_a_name_is_refused() {
        let err = object_id("apiVersion: v1\nkind: ConfigMap\ndata:\n  name: x\n").unwrap_err();
        assert!(err.contains("without metadata.name"), "{err}");
    }
}
