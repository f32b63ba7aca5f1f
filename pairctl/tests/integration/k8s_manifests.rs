//! The Kubernetes manifests under deploy/k8s: the committed copy is what
//! `pairctl k8s` makes of hubei-2020, the base and the Jaeger overlay build
//! (with the offline renderer, and with `kubectl kustomize` where kubectl
//! is installed), and every object they build passes
//! `kubernetes-validate --strict` (PyPI; bundled schemas, no cluster). A
//! planted invalid field fails the validation, so a pass means something.
//!
//! After changing the generator or the scenario's nodes, regenerate:
//!
//! ```sh
//! cargo run -p pairctl -- k8s --scenario deploy/scenarios/hubei-2020.toml \
//!     --day-ms 500 --out deploy/k8s
//! ```
//!
//! The validator is `$KUBERNETES_VALIDATE` or `kubernetes-validate` on the
//! PATH. Without it the validation tests fail when CI=true and skip, saying
//! so, elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use pairctl::k8s::kustomize::{build, documents, object_id, to_stream, Object, ObjectId};
use pairctl::k8s::{render, K8sPlan, BASE_DIR, JAEGER_OVERLAY_DIR};

/// The generator's default clock speed, which the committed files use.
const DAY_MS: i64 = 500;
/// The Kubernetes version the objects are validated against: the oldest
/// the README supports.
const KUBERNETES_VERSION: &str = "1.31.0";

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(relative)
}

fn k8s_dir(relative: &str) -> PathBuf {
    repo_file("deploy/k8s").join(relative)
}

fn plan() -> K8sPlan {
    let path = repo_file("deploy/scenarios/hubei-2020.toml");
    let scenario = counterpart_domain::scenario::load(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    K8sPlan::new(&scenario, &path, text, DAY_MS).unwrap()
}

#[test]
fn the_committed_manifests_are_the_generators_output() {
    let generated = render(&plan());
    for file in &generated {
        let committed = std::fs::read_to_string(k8s_dir(&file.path)).unwrap_or_else(|e| {
            panic!(
                "deploy/k8s/{}: {e}; regenerate (see this file's doc)",
                file.path
            )
        });
        if committed != file.text {
            let line = committed
                .lines()
                .zip(file.text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| committed.lines().count().min(file.text.lines().count()));
            panic!(
                "deploy/k8s/{} differs from the generator's output from line {}:\n  \
                 committed: {:?}\n  generated: {:?}\nregenerate it (see this file's doc)",
                file.path,
                line + 1,
                committed.lines().nth(line),
                file.text.lines().nth(line),
            );
        }
    }
    // Nor is a file left over from an older generator: only the README is
    // written by hand.
    let mut on_disk = Vec::new();
    let mut dirs = vec![k8s_dir("")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(k8s_dir("")).unwrap();
                on_disk.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    on_disk.retain(|p| p != "README.md");
    on_disk.sort();
    let mut expected: Vec<String> = generated.into_iter().map(|f| f.path).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
}

fn ids_of(objects: &[Object], kind: &str) -> Vec<String> {
    objects
        .iter()
        .filter(|o| o.id.kind == kind)
        .map(|o| o.id.name.clone())
        .collect()
}

#[test]
fn every_node_of_hubei_2020_runs_alone_with_its_own_key_volume_and_name() {
    let base = build(&k8s_dir(BASE_DIR)).unwrap();
    let sets = ids_of(&base, "StatefulSet");
    assert_eq!(sets.len(), 1 + 19 + 16);
    assert!(sets.contains(&"province-jiangsu".to_string()));
    assert!(sets.contains(&"city-huangshi".to_string()));
    assert_eq!(
        ids_of(&base, "Service").len(),
        36 + 1,
        "a name per node, and the collector's"
    );
    assert_eq!(ids_of(&base, "PodDisruptionBudget"), ["central"]);
    assert_eq!(ids_of(&base, "ConfigMap"), ["scenario"]);
    for set in base.iter().filter(|o| o.id.kind == "StatefulSet") {
        let name = &set.id.name;
        let text = &set.text;
        // Its own Secret only, its own volume, its headless Service.
        assert_eq!(text.matches("secretName:").count(), 1, "{name}");
        assert!(
            text.contains(&format!("secretName: certs-{name}\n")),
            "{name}"
        );
        assert!(text.contains("volumeClaimTemplates:") && text.contains("mountPath: /data"));
        assert!(text.contains(&format!("serviceName: {name}\n")), "{name}");
        assert!(text.contains("replicas: 1\n"), "{name}");
        assert_eq!(text.matches("/pairctl\", \"probe\"").count(), 2, "{name}");
        if name != "central" {
            // The id the node runs as is the pod's own label, and the
            // probe presents that node's certificate.
            let id = name.split_once('-').unwrap().1;
            assert!(
                text.contains(&format!("        counterpart/node-id: {id}\n")),
                "{name}"
            );
            assert!(text.contains("fieldPath: metadata.labels['counterpart/node-id']"));
            assert!(text.contains(&format!("\"--tls-id\", \"{id}\"]")), "{name}");
            assert!(
                text.contains(&format!("value: \"https://{name}:50051\"")),
                "{name}"
            );
        }
    }
    let scenario = base.iter().find(|o| o.id.kind == "ConfigMap").unwrap();
    let toml = std::fs::read_to_string(repo_file("deploy/scenarios/hubei-2020.toml")).unwrap();
    let body: String = scenario
        .text
        .lines()
        .skip_while(|l| *l != "  hubei-2020.toml: |")
        .skip(1)
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert_eq!(body, toml, "the ConfigMap holds the scenario verbatim");
}

#[test]
fn the_jaeger_overlay_adds_jaeger_to_the_base() {
    let base = build(&k8s_dir(BASE_DIR)).unwrap();
    let overlay = build(&k8s_dir(JAEGER_OVERLAY_DIR)).unwrap();
    // The base's objects, unchanged (seen by another path)...
    let texts =
        |objects: &[Object]| -> Vec<String> { objects.iter().map(|o| o.text.clone()).collect() };
    assert_eq!(texts(&overlay[..base.len()]), texts(&base));
    // ...and Jaeger's.
    let added: Vec<String> = overlay[base.len()..]
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    assert_eq!(
        added,
        [
            "Deployment counterpart/jaeger",
            "Service counterpart/jaeger-ui",
            "NetworkPolicy counterpart/jaeger-ui"
        ]
    );
}

/// Where kustomize itself is installed, it builds the same objects.
#[test]
fn kubectl_kustomize_builds_the_same_objects_where_installed() {
    for dir in [BASE_DIR, JAEGER_OVERLAY_DIR] {
        let output = match Command::new("kubectl")
            .arg("kustomize")
            .arg(k8s_dir(dir))
            .output()
        {
            Ok(output) => output,
            Err(e) => {
                // The offline renderer and the validator are the check;
                // this one only adds where kubectl is.
                say_skipped(&format!("no kubectl to compare with: {e}"));
                return;
            }
        };
        assert!(
            output.status.success(),
            "kubectl kustomize {dir}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stream = String::from_utf8(output.stdout).unwrap();
        let mut theirs: Vec<ObjectId> = documents(&stream)
            .iter()
            .map(|doc| object_id(doc).unwrap())
            .collect();
        let mut ours: Vec<ObjectId> = build(&k8s_dir(dir))
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(theirs, ours, "{dir}");
    }
}

/// Straight to the process's stderr: libtest captures `eprintln!` and
/// shows it only for failing tests, and a skip must be seen.
fn say_skipped(reason: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED ({reason})");
}

/// The validator, or `None` (after saying why) where it may be missing.
fn validator() -> Option<PathBuf> {
    let program = std::env::var_os("KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubernetes-validate"));
    match Command::new(&program).arg("--version").output() {
        Ok(out) if out.status.success() => Some(program),
        found => {
            let why = format!(
                "{} does not run ({:?}): `pip install kubernetes-validate` \
                 (or set KUBERNETES_VALIDATE); .ci/run installs it",
                program.display(),
                found.map(|o| o.status)
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {why}");
            }
            say_skipped(&format!("{why}; with CI=true this is a failure"));
            None
        }
    }
}

/// Runs the validator, strictly, on `objects` written as one stream: its
/// exit status and its report.
fn validate(program: &Path, objects: &[Object], name: &str) -> (bool, String) {
    let file = std::env::temp_dir().join(format!("pairctl-k8s-{name}-{}.yaml", std::process::id()));
    std::fs::write(&file, to_stream(objects)).unwrap();
    let output = Command::new(program)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

#[test]
fn every_object_of_the_base_and_the_overlay_validates_strictly() {
    let Some(program) = validator() else { return };
    // The overlay holds the base, so this validates every object once.
    let objects = build(&k8s_dir(JAEGER_OVERLAY_DIR)).unwrap();
    assert_eq!(objects.len(), 84);
    let (passed, report) = validate(&program, &objects, "all");
    assert!(passed, "{report}");
    // Each object was checked against a schema, none skipped for want of
    // one.
    assert_eq!(
        report.matches(" passed for resource ").count(),
        objects.len(),
        "{report}"
    );
    assert!(!report.contains("Couldn't find schema"), "{report}");
}

#[test]
fn an_invalid_field_fails_the_validation() {
    let Some(program) = validator() else { return };
    let base = build(&k8s_dir(BASE_DIR)).unwrap();
    let plant = |from: &str, to: &str| -> Vec<Object> {
        let mut objects = base.clone();
        let city = objects
            .iter_mut()
            .find(|o| o.id.kind == "StatefulSet" && o.id.name == "city-huangshi")
            .unwrap();
        assert!(city.text.contains(from));
        city.text = city.text.replacen(from, to, 1);
        objects
    };
    // A misspelt field, which a lenient check would ignore...
    let typo = plant(
        "terminationGracePeriodSeconds:",
        "terminationGracePeriodSecond:",
    );
    let (passed, report) = validate(&program, &typo, "typo");
    assert!(!passed, "a misspelt field passed:\n{report}");
    assert!(report.contains("statefulset/city-huangshi"), "{report}");
    assert!(
        report.contains("'terminationGracePeriodSecond' was unexpected"),
        "{report}"
    );
    // ...and a value of the wrong type.
    let wrong_type = plant("replicas: 1\n", "replicas: one\n");
    let (passed, report) = validate(&program, &wrong_type, "type");
    assert!(!passed, "replicas: one passed:\n{report}");
    assert!(
        report.contains("'one' is not of type 'integer'"),
        "{report}"
    );
}

#[test]
fn the_secrets_made_from_pairctl_certs_validate_strictly() {
    let Some(program) = validator() else { return };
    let root = std::env::temp_dir().join(format!("pairctl-k8s-certs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let path = repo_file("deploy/scenarios/small.toml");
    let holders = pairctl::certs::holders(&counterpart_domain::scenario::load(&path).unwrap());
    pairctl::certs::node_dirs::write_node_dirs(
        &root.join("ca"),
        &root.join("nodes"),
        &holders,
        None,
    )
    .unwrap();
    let yaml = pairctl::k8s::secrets::render(&root.join("nodes"), &holders).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    let objects: Vec<Object> = documents(&yaml)
        .into_iter()
        .map(|text| Object {
            id: object_id(&text).unwrap(),
            source: PathBuf::from("secrets"),
            text,
        })
        .collect();
    // One per node: the operator's certificate is central's Secret's.
    assert_eq!(objects.len(), holders.len() - 1);
    let (passed, report) = validate(&program, &objects, "secrets");
    assert!(passed, "{report}");
    assert_eq!(
        report.matches(" passed for resource ").count(),
        objects.len(),
        "{report}"
    );
}
