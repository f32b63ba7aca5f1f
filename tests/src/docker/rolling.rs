//! A rolling upgrade of a compose project, done the way deploy/README.md
//! ("Upgrade a running cluster") tells an operator to: change one service's
//! image in the configuration, `up -d --no-deps SERVICE`, and go on to the
//! next only once its new container is healthy. Also the previous release's
//! node image, built once by `compat/build-previous.sh --image`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::compose::ComposeProject;
use super::docker;
use crate::repo_root;

/// The tag of the previous release's node image (compat/PREVIOUS), built
/// once by compat/build-previous.sh and kept on the engine, or why not.
pub fn previous_image() -> Result<String, String> {
    let started = Instant::now();
    let output = Command::new(repo_root().join("compat/build-previous.sh"))
        .arg("--image")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run compat/build-previous.sh: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "compat/build-previous.sh --image failed ({}):\n{stderr}",
            output.status
        ));
    }
    let tag = String::from_utf8_lossy(&output.stdout).trim().to_string();
    // Cold, this is the previous release's whole static build: say so.
    println!(
        "previous image {tag}: ready after {:.1} s{}",
        started.elapsed().as_secs_f64(),
        if stderr.contains("built in") {
            " (built now)"
        } else {
            " (cached)"
        }
    );
    Ok(tag)
}

/// [`previous_image`] for a test that needs it
/// ([`crate::needed_or_skip`]).
pub fn previous_image_or_skip() -> Option<String> {
    crate::needed_or_skip("the previous release's image", previous_image())
}

/// The id of the image `reference` names (`sha256:...`).
pub fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .unwrap_or_else(|e| panic!("docker image inspect {reference}: {e}"))
        .trim()
        .to_string()
}

/// The image id container `id` was created from, and its health status
/// (`starting`, `healthy`, `unhealthy`; empty without a health check).
pub fn container_image_and_health(id: &str) -> Result<(String, String), String> {
    let out = docker(&[
        "inspect",
        "--format",
        "{{.Image}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
        id,
    ])?;
    let mut words = out.split_whitespace();
    let image = words.next().unwrap_or_default().to_string();
    Ok((image, words.next().unwrap_or_default().to_string()))
}

/// A compose override file naming the image of some services, the others
/// keeping the compose file's `${COUNTERPART_IMAGE}`: how a test starts a
/// cluster with its provinces on another release (the previous release's
/// own compose file has another layout: no `certs` service, certificates
/// bind-mounted from the host) and then gives them a new image one by one.
/// Every service stays listed: an override with no service at all is read
/// by compose v1 as a file of its old format, and refused.
pub struct ServiceImages {
    path: PathBuf,
    images: BTreeMap<String, String>,
}

impl ServiceImages {
    /// Writes the file at `path`, naming `image` for every one of `services`.
    pub fn write(path: &Path, image: &str, services: &[String]) -> ServiceImages {
        let file = ServiceImages {
            path: path.to_path_buf(),
            images: services
                .iter()
                .map(|s| (s.clone(), image.to_string()))
                .collect(),
        };
        file.save();
        file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Names `image` for `service`: the next `up` of that service makes it
    /// a new container, as `COUNTERPART_IMAGE=IMAGE docker compose up -d
    /// --no-deps SERVICE` does in the README's procedure.
    pub fn set(&mut self, service: &str, image: &str) {
        let entry = self
            .images
            .get_mut(service)
            .unwrap_or_else(|| panic!("{service} is not in {}", self.path.display()));
        *entry = image.to_string();
        self.save();
    }

    fn save(&self) {
        let mut text = "# Written by the compose upgrade test.\nservices:\n".to_string();
        for (service, image) in &self.images {
            text.push_str(&format!("  {service}:\n    image: \"{image}\"\n"));
        }
        std::fs::write(&self.path, text).unwrap_or_else(|e| panic!("{}: {e}", self.path.display()));
    }
}

/// Removes whatever still carries compose project `project`'s label
/// (containers, networks, volumes) when dropped: `down -v` can fail (a
/// compose file it cannot read) and must not leave 36 containers behind.
/// Only that project's own: every filter is on its label.
pub struct ProjectSweep {
    pub project: String,
}

impl Drop for ProjectSweep {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let mut left = Vec::new();
        for (kind, list, remove) in [
            ("containers", vec!["ps", "-aq"], vec!["rm", "-f", "-v"]),
            (
                "networks",
                vec!["network", "ls", "-q"],
                vec!["network", "rm"],
            ),
            (
                "volumes",
                vec!["volume", "ls", "-q"],
                vec!["volume", "rm", "-f"],
            ),
        ] {
            let mut args = list.clone();
            args.extend(["--filter", label.as_str()]);
            let ids: Vec<String> = docker(&args)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let mut args = remove.clone();
            args.extend(ids.iter().map(String::as_str));
            match docker(&args) {
                Ok(_) => left.push(format!("{} {kind}", ids.len())),
                Err(e) => eprintln!("cleanup: {} {kind} of {}: {e}", ids.len(), self.project),
            }
        }
        if !left.is_empty() {
            // Seen even when the test passes: `down -v` left these.
            eprintln!(
                "cleanup: {} left {}; removed",
                self.project,
                left.join(", ")
            );
        }
    }
}

/// What one step of a rolling upgrade did.
pub struct Replaced {
    pub old_container: String,
    pub new_container: String,
    /// From `up` to the new container healthy.
    pub took: Duration,
}

/// One step: `up -d --no-deps SERVICE` (its configuration already names
/// the new image), then waits, at most `limit`, until the service has a
/// new container that Docker reports healthy. `--no-deps` keeps compose
/// from touching the `certs` service and central, which every node
/// depends on.
pub fn replace_service(project: &ComposeProject, service: &str, limit: Duration) -> Replaced {
    let started = Instant::now();
    let old_container = project
        .containers()
        .remove(service)
        .unwrap_or_else(|| panic!("{service} has no container"));
    project
        .run(&["up", "-d", "--no-deps", service])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut last = String::new();
    loop {
        if let Some(new) = project.containers().remove(service) {
            if new != old_container {
                match container_image_and_health(&new) {
                    Ok((_, health)) if health == "healthy" => {
                        return Replaced {
                            old_container,
                            new_container: new,
                            took: started.elapsed(),
                        }
                    }
                    Ok((_, health)) => last = format!("new container {new}: {health}"),
                    Err(e) => last = e,
                }
            } else {
                last = format!("still the old container {old_container}");
            }
        }
        assert!(
            started.elapsed() < limit,
            "{service} was not replaced by a healthy container within {limit:?}: {last}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Central's run report, asked inside central's container as the operator
/// (plain `docker exec`, which is quicker than compose v1's `exec`).
pub fn central_report(central_container: &str) -> Result<Value, String> {
    let json = docker(&[
        "exec",
        central_container,
        "/pairctl",
        "report",
        "--out",
        "-",
    ])?;
    serde_json::from_str(&json).map_err(|e| format!("the report is no JSON ({e})"))
}

/// Whether central's status says the run is finished.
pub fn finished(central_container: &str) -> Result<bool, String> {
    let status = docker(&["exec", central_container, "/pairctl", "status"])?;
    Ok(status
        .lines()
        .next()
        .is_some_and(|l| l.ends_with("; finished")))
}
